package tokensource

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/protojwt/protojwt/internal/metadata"
)

// Token types of RFC 8693, section 3, for [ExchangeConfig].SubjectTokenType
// and ActorTokenType.
const (
	// TokenTypeAccessToken is an OAuth 2.0 access token, of any format.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypeJWT is a JWT, whatever it is used for.
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
)

// grantTokenExchange is the grant_type of RFC 8693.
const grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// ErrExchangeRefused means the token endpoint refused the exchange (an
// HTTP 400, 401 or 403 answer: invalid_grant, invalid_client,
// invalid_target, unauthorized_client...): the caller's token, this
// service's credentials or what it asked for are not good for the
// downstream service, and asking again will not change it. The error also
// wraps the answer as a [*ResponseError]. Calls fail with PermissionDenied.
var ErrExchangeRefused = errors.New("tokensource: the token exchange was refused")

// ErrExchangeConfig means an [ExchangeConfig] that can't work: every call of
// its [Source] fails with an error wrapping it.
var ErrExchangeConfig = errors.New("tokensource: invalid ExchangeConfig")

// ExchangeConfig configures [Exchange]. Issuer or TokenURL, ClientID and
// Audience are required.
type ExchangeConfig struct {
	// Issuer is the identity provider's issuer URL. The token endpoint is
	// read, on the first call, from the token_endpoint of its OpenID
	// Connect discovery document ({Issuer}/.well-known/openid-configuration),
	// or else of its RFC 8414 metadata
	// (/.well-known/oauth-authorization-server{path}), whose issuer must
	// equal Issuer. Not read when TokenURL is set.
	Issuer string
	// TokenURL is the token endpoint, when it is known.
	TokenURL string
	// ClientID and ClientSecret are this service's own client credentials
	// at the identity provider, sent with HTTP Basic authentication
	// (client_secret_basic). They never appear in an error.
	ClientID, ClientSecret string
	// Audience is the downstream service the token is for (the audience
	// parameter, its aud).
	Audience string
	// Scope is what the downstream call needs (the scope parameter). By
	// default, none is asked for and the identity provider decides.
	Scope []string
	// SubjectTokenType is the type of the token exchanged: [TokenTypeJWT] or
	// [TokenTypeAccessToken]. By default, [TokenTypeAccessToken].
	SubjectTokenType string
	// Subject gives the token exchanged. By default, [Forward](): the
	// verified auth token of the incoming call.
	Subject Source
	// Actor, when set, gives this service's own token, sent as the
	// actor_token (of type ActorTokenType, by default [TokenTypeAccessToken])
	// so that the identity provider names this service in the act claim
	// on its word, not only on its client credentials. By default, none.
	Actor Source
	// ActorTokenType is the type of Actor's tokens. By default,
	// [TokenTypeAccessToken].
	ActorTokenType string
	// HTTPClient sends the exchanges and the discovery request. The token
	// endpoint must be https, or plain http to a loopback host. By
	// default, [http.DefaultClient].
	HTTPClient *http.Client
	// Timeout bounds each exchange: it does not end with the call that
	// started it, whose result other calls may be waiting for. By default,
	// 30 seconds.
	Timeout time.Duration
	// Margin is how long before it expires an exchanged token stops being
	// handed out, so that no call leaves with a token about to expire; at
	// most half the token's life. By default, one minute.
	Margin time.Duration
	// CacheBytes bounds the memory of the exchanged tokens kept, counted as
	// the length of each token plus a fixed cost per entry; the least
	// recently used go first. A negative value keeps none: every call
	// exchanges. By default, 4 MiB.
	CacheBytes int
	// Clock gives the time, for tests. By default, [time.Now].
	Clock func() time.Time
}

// Exchange returns a [Source] that exchanges the token of each call for one
// of the downstream Audience, by OAuth 2.0 Token Exchange (RFC 8693) at
// the identity provider's token endpoint: the caller's token (Subject, by
// default the incoming call's, as Forward gives it) is the subject_token,
// this service authenticates as the client, and asks for Audience and
// Scope. The token it gets says for whom the call is (sub, the caller's)
// and, where the identity provider supports delegation, who acts for them
// (act, naming this service, with the act of the caller's token nested
// inside for a chain of services). The downstream service reads these
// with the ordinary claim checks:
//
//	check: { claim: ["act", "sub"] equals: { string_value: "orders" } }
//
//	inventory := tokensource.Exchange(tokensource.ExchangeConfig{
//		Issuer: "https://idp.example.com", ClientID: "orders", ClientSecret: secret,
//		Audience: "inventory", Scope: []string{"inventory:reserve"},
//	})
//	resp, err := client.Reserve(ctx, req, // ctx: the handler's
//		grpc.PerRPCCredentials(tokensource.PerRPCCredentials(inventory)))
//
// Exchanged tokens are kept per (subject token, audience, scope) until
// Margin before they expire (the answer's expires_in, counted from when
// the exchange was asked for, whatever the local clock says), within
// CacheBytes; one exchange at a time per key, which every call for that
// key waits for, each until its own context ends. An exchange that fails
// is an error: the caller's token is never sent on in its place. A call
// without a subject token fails with [ErrNoIncomingToken], a refused
// exchange with [ErrExchangeRefused]. An [ExchangeConfig] that can't work
// makes every call fail with [ErrExchangeConfig]. The Source is safe for
// concurrent use.
func Exchange(cfg ExchangeConfig) Source {
	e := &exchanger{flights: map[exchangeKey]*exchangeFlight{}}
	e.cfg, e.err = cfg.normalized()
	if e.err == nil {
		e.cache = newExchangeCache(e.cfg.CacheBytes)
		e.scope = strings.Join(e.cfg.Scope, " ")
		if e.cfg.TokenURL != "" {
			e.endpoint = e.cfg.TokenURL
		}
	}
	return e
}

// normalized returns cfg with its defaults set, or an error wrapping
// [ErrExchangeConfig].
func (cfg ExchangeConfig) normalized() (ExchangeConfig, error) {
	bad := func(why string) (ExchangeConfig, error) {
		return cfg, fmt.Errorf("%w: %s", ErrExchangeConfig, why)
	}
	if cfg.SubjectTokenType == "" {
		cfg.SubjectTokenType = TokenTypeAccessToken
	}
	if cfg.ActorTokenType == "" {
		cfg.ActorTokenType = TokenTypeAccessToken
	}
	if cfg.Subject == nil {
		cfg.Subject = Forward()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Margin == 0 {
		cfg.Margin = time.Minute
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 4 << 20
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	for _, s := range cfg.Scope {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return bad("a scope is empty or holds a space, a quote or a backslash")
		}
	}
	switch {
	case cfg.TokenURL == "" && cfg.Issuer == "":
		return bad("Issuer or TokenURL is required")
	case cfg.TokenURL != "" && metadata.CheckURL("TokenURL", cfg.TokenURL) != nil:
		return bad("TokenURL must be an absolute https URL, or http to a loopback host")
	case cfg.TokenURL == "" && metadata.CheckURL("Issuer", cfg.Issuer) != nil:
		return bad("Issuer must be an absolute https URL, or http to a loopback host")
	case cfg.ClientID == "":
		return bad("ClientID is required")
	case cfg.Audience == "":
		return bad("Audience is required")
	case cfg.SubjectTokenType != TokenTypeAccessToken && cfg.SubjectTokenType != TokenTypeJWT:
		return bad("SubjectTokenType must be TokenTypeAccessToken or TokenTypeJWT")
	case cfg.ActorTokenType != TokenTypeAccessToken && cfg.ActorTokenType != TokenTypeJWT:
		return bad("ActorTokenType must be TokenTypeAccessToken or TokenTypeJWT")
	case cfg.Timeout < 0, cfg.Margin < 0:
		return bad("Timeout and Margin can't be negative")
	}
	return cfg, nil
}

// exchanger is the Source of Exchange.
type exchanger struct {
	cfg   ExchangeConfig
	err   error // the configuration's, for every call
	scope string
	cache *exchangeCache

	mu       sync.Mutex
	endpoint string // the token endpoint, once known
	flights  map[exchangeKey]*exchangeFlight
}

// exchangeKey identifies an exchange: a hash of the subject token, the
// audience and the scope, so that the cache holds no caller's token.
type exchangeKey [sha256.Size]byte

// exchangeFlight is one exchange; done is closed when the other fields are
// set.
type exchangeFlight struct {
	done  chan struct{}
	token string
	until time.Time // its expiry by the local clock; zero: not kept
	err   error
}

// Token returns a token of the downstream audience for the subject token
// of ctx, kept or exchanged.
func (e *exchanger) Token(ctx context.Context) (string, error) {
	if e.err != nil {
		return "", e.err
	}
	subject, err := e.cfg.Subject.Token(ctx)
	if err != nil {
		return "", err
	}
	if subject == "" {
		return "", ErrNoIncomingToken
	}
	h := sha256.New()
	for _, s := range []string{e.cfg.Audience, e.scope, subject} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var key exchangeKey
	h.Sum(key[:0])

	if tok, ok := e.cache.get(key, e.cfg.Clock()); ok {
		return tok, nil
	}
	e.mu.Lock()
	f := e.flights[key]
	if f == nil {
		// A flight may have ended, and kept its token, since the look-up.
		if tok, ok := e.cache.get(key, e.cfg.Clock()); ok {
			e.mu.Unlock()
			return tok, nil
		}
		f = &exchangeFlight{done: make(chan struct{})}
		e.flights[key] = f
		go e.run(context.WithoutCancel(ctx), key, f, subject)
	}
	e.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if f.err != nil {
		return "", f.err
	}
	if !f.until.IsZero() && !e.cfg.Clock().Before(f.until) {
		return "", errExchangedExpired
	}
	return f.token, nil
}

// errExchangedExpired means an exchanged token whose life ended before it
// could be used.
var errExchangedExpired = errors.New("tokensource: the exchanged token expired before it could be used")

// run performs the exchange of f, keeps its token and publishes it.
func (e *exchanger) run(ctx context.Context, key exchangeKey, f *exchangeFlight, subject string) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	asked := e.cfg.Clock()
	tok, life, err := e.exchange(ctx, subject)
	if err == nil {
		f.token = tok
		if life > 0 {
			f.until = asked.Add(life)
			margin := min(e.cfg.Margin, life/2)
			e.cache.put(key, tok, f.until.Add(-margin), e.cfg.Clock())
		}
	}
	f.err = err
	e.mu.Lock()
	delete(e.flights, key)
	e.mu.Unlock()
	close(f.done)
}
