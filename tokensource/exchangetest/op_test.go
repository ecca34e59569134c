package exchangetest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The clients of the provider: the user's web application, and three
// services, each with its own secret. delegations says which audiences a
// client may exchange a token for.
var (
	secrets = map[string]string{
		"web":       "web-secret",
		"orders":    "orders-secret",
		"inventory": "inventory-secret",
		"billing":   "billing-secret",
	}
	delegations = map[string][]string{
		"orders":    {"inventory"},
		"inventory": {"billing"},
	}
)

// provider is a real OpenID Provider on loopback: zitadel's op with the
// in-memory storage of its example server, extended (opStorage) with a
// delegation policy for token exchange.
type provider struct {
	issuer    string
	op        *op.Provider
	storage   *opStorage
	exchanges atomic.Int32 // token exchanges that reached the storage
	life      atomic.Int64 // when set, the life of exchanged tokens
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{}
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.issuer = srv.URL

	clients := map[string]*storage.Client{}
	for id, secret := range secrets {
		clients[id] = storage.WebClient(id, secret)
	}
	p.storage = &opStorage{Storage: storage.NewStorageWithClients(storage.NewUserStore(p.issuer), clients), p: p}
	var key [32]byte
	copy(key[:], "exchangetest-crypto-key-32-bytes")
	o, err := op.NewProvider(&op.Config{CryptoKey: key}, p.storage, op.StaticIssuer(p.issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	p.op = o
	var h http.Handler = o
	handler.Store(&h)
	return p
}

// userToken is the access token the provider issues to user sub after she
// signs in at the web application, for the audience aud with scopes: the
// provider's own CreateAccessToken, as its authorization code flow calls
// it once the login is done.
func (p *provider) userToken(t *testing.T, sub string, aud []string, scopes ...string) string {
	t.Helper()
	client, err := p.storage.GetClientByClientID(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	ctx := op.ContextWithIssuer(context.Background(), p.issuer)
	tok, _, _, err := op.CreateAccessToken(ctx, userRequest{sub: sub, aud: aud, scopes: scopes}, op.AccessTokenTypeJWT, p.op, client, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type userRequest struct {
	sub    string
	aud    []string
	scopes []string
}

func (r userRequest) GetSubject() string    { return r.sub }
func (r userRequest) GetAudience() []string { return r.aud }
func (r userRequest) GetScopes() []string   { return r.scopes }

// opStorage is the example storage with JWT access tokens and a delegation
// policy: a client may exchange a token that was issued to it (its aud
// names the client) for the audiences delegations lists, for scopes the
// token holds; the issued token's act names the client (or its actor
// token's subject, which must be the client), with the subject token's
// own act nested inside (RFC 8693, section 4.1).
type opStorage struct {
	*storage.Storage
	p *provider
}

// jwtClient is a client whose access tokens are JWTs.
type jwtClient struct{ op.Client }

func (jwtClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return jwtClient{c}, nil
}

func (s *opStorage) ValidateTokenExchangeRequest(ctx context.Context, req op.TokenExchangeRequest) error {
	s.p.exchanges.Add(1)
	if req.GetRequestedTokenType() == "" {
		req.SetRequestedTokenType(oidc.AccessTokenType)
	}
	if req.GetRequestedTokenType() != oidc.AccessTokenType {
		return oidc.ErrInvalidRequest().WithDescription("only access tokens are issued")
	}
	client := req.GetClientID()
	claims := req.GetExchangeSubjectTokenClaims()
	if !slices.Contains(audienceOf(claims["aud"]), client) {
		return oidc.ErrInvalidGrant().WithDescription("the subject token was not issued to this client")
	}
	if actor := req.GetExchangeActor(); actor != "" && actor != client {
		return oidc.ErrInvalidGrant().WithDescription("the actor token is not the client's")
	}
	aud := req.GetAudience()
	if len(aud) == 0 {
		return oidc.ErrInvalidRequest().WithDescription("audience is required")
	}
	for _, a := range aud {
		if !slices.Contains(delegations[client], a) {
			return oidc.ErrAccessDenied().WithDescription("this client may not act for others at %s", a)
		}
	}
	held := strings.Fields(fmt.Sprint(claims["scope"]))
	for _, scope := range req.GetScopes() {
		if !slices.Contains(held, scope) {
			return oidc.ErrInvalidScope().WithDescription("the subject token does not hold scope %s", scope)
		}
	}
	return nil
}

func (s *opStorage) GetPrivateClaimsFromTokenExchangeRequest(ctx context.Context, req op.TokenExchangeRequest) (map[string]any, error) {
	act := map[string]any{"sub": req.GetClientID()}
	if actor := req.GetExchangeActor(); actor != "" {
		act["sub"] = actor
	}
	if prior, ok := req.GetExchangeSubjectTokenClaims()["act"].(map[string]any); ok {
		act["act"] = prior
	}
	return map[string]any{"act": act, "scope": strings.Join(req.GetScopes(), " ")}, nil
}

// GetPrivateClaimsFromScopes writes the scopes granted into the access
// tokens, where the services' rules read them; zitadel's JWT access tokens
// carry none by default.
func (s *opStorage) GetPrivateClaimsFromScopes(ctx context.Context, sub, client string, scopes []string) (map[string]any, error) {
	if len(scopes) == 0 {
		return nil, nil
	}
	return map[string]any{"scope": strings.Join(scopes, " ")}, nil
}

// CreateAccessToken gives tokens the life p.life when it is set, so that
// tests see them expire.
func (s *opStorage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, exp, err := s.Storage.CreateAccessToken(ctx, req)
	if life := time.Duration(s.p.life.Load()); err == nil && life > 0 {
		exp = time.Now().Add(life)
	}
	return id, exp, err
}

func audienceOf(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, s := range a {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
