package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// fakeIdP signs tokens shaped like one identity provider's, with a key
// published in a JWK Set on loopback.
type fakeIdP struct {
	issuer string
	alg    string
	kid    string
	key    *rsa.PrivateKey
	typ    string // the typ header; "" leaves golang-jwt's "JWT"
	jwks   *httptest.Server
}

func newFakeIdP(t *testing.T, issuer, alg, typ string) *fakeIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeIdP{issuer: issuer, alg: alg, kid: "key-1", key: key, typ: typ}
	jwk, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: p.kid, ALG: jwkset.ALG(alg), USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	if err != nil {
		t.Fatal(err)
	}
	p.jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(doc)
	}))
	t.Cleanup(p.jwks.Close)
	return p
}

// sign returns a token of the provider with claims, valid for ten minutes.
func (p *fakeIdP) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	all := jwt.MapClaims{"iss": p.issuer, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": rand.Text()}
	for k, v := range claims {
		all[k] = v
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(p.alg), all)
	tok.Header["kid"] = p.kid
	if p.typ != "" {
		tok.Header["typ"] = p.typ
	}
	signed, err := tok.SignedString(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// manager returns a Manager of the provider's JWK Set, Algorithm left
// empty, as docs/rules.md configures it.
func (p *fakeIdP) manager(t *testing.T, cfg manager.Config, opts ...manager.Option) *manager.Manager {
	t.Helper()
	cfg.Issuer, cfg.JWKSURL = p.issuer, p.jwks.URL
	m, err := manager.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestProviderShapes checks the tokens of each major identity provider,
// shaped as they issue them, verified by a JWK Set Manager configured as
// docs/rules.md says, all five behind one Issuers, against the rules of
// docs/rules.md's table on net/http routes.
func TestProviderShapes(t *testing.T) {
	const entraTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	auth0 := newFakeIdP(t, "https://acme.us.auth0.com/", "RS256", "at+jwt")
	keycloak := newFakeIdP(t, "https://sso.acme.example/realms/acme", "RS256", "")
	okta := newFakeIdP(t, "https://acme.okta.com/oauth2/default", "RS256", "")
	entra := newFakeIdP(t, "https://login.microsoftonline.com/"+entraTenant+"/v2.0", "RS256", "")
	cognito := newFakeIdP(t, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Acme", "PS256", "")

	issuers, err := manager.NewIssuers(
		auth0.manager(t, manager.Config{Audience: []string{"https://orders.example"}, ScopeClaims: []string{"scope", "permissions"}}, manager.WithAccessTokenProfile()),
		keycloak.manager(t, manager.Config{Audience: []string{"orders-api"}}, manager.WithUntypedTokens(manager.Auth)),
		okta.manager(t, manager.Config{Audience: []string{"api://orders"}, ScopeClaims: []string{"scp"}}, manager.WithUntypedTokens(manager.Auth)),
		entra.manager(t, manager.Config{Audience: []string{"api://orders"}, ScopeClaims: []string{"scp"}}, manager.WithUntypedTokens(manager.Auth)),
		cognito.manager(t, manager.Config{}, manager.WithUntypedTokens(manager.Auth)), // access tokens have no aud
	)
	if err != nil {
		t.Fatal(err)
	}
	guard := httpauth.New(issuers)
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context())
		w.Write([]byte(tok.Issuer))
	})
	route := func(pattern string, reqs ...httpauth.Requirement) { guard.Handle(mux, pattern, ok, reqs...) }
	route("GET /auth0/orgs/{org}/orders",
		httpauth.Scopes("read:orders"),
		httpauth.Check("https://acme.example/roles").Contains("admin"),
		httpauth.Check("org_id").EqualsPath("org"))
	route("DELETE /auth0/orders", httpauth.Check("permissions").Contains("delete:orders"))
	route("GET /keycloak/orders",
		httpauth.Check("realm_access", "roles").Contains("admin"),
		httpauth.Check("resource_access", "orders-api", "roles").Contains("orders-admin"))
	route("GET /okta/orders", httpauth.Scopes("orders.read"), httpauth.Check("groups").Contains("ops"))
	route("GET /entra/orders",
		httpauth.Check("tid").Equals(entraTenant),
		httpauth.Scopes("Orders.Read"),
		httpauth.Check("roles").Contains("Orders.Admin"))
	route("GET /cognito/orders",
		httpauth.Check("token_use").Equals("access"),
		httpauth.Check("cognito:groups").Contains("admins"),
		httpauth.Check("client_id").Equals("7abc1example"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	auth0Tok := func(org string, permissions ...any) string {
		return auth0.sign(t, jwt.MapClaims{
			"sub": "auth0|alice", "aud": []any{"https://orders.example", "https://acme.us.auth0.com/userinfo"},
			"scope": "openid profile", "permissions": permissions, "azp": "spa-client",
			"https://acme.example/roles": []any{"admin"}, "org_id": org,
		})
	}
	keycloakTok := func(realmRoles ...any) string {
		return keycloak.sign(t, jwt.MapClaims{
			"sub": "f:alice", "aud": "orders-api", "typ": "Bearer", "azp": "orders-web", "scope": "profile email",
			"realm_access":    map[string]any{"roles": realmRoles},
			"resource_access": map[string]any{"orders-api": map[string]any{"roles": []any{"orders-admin"}}},
		})
	}
	oktaTok := func(scp ...any) string {
		return okta.sign(t, jwt.MapClaims{
			"sub": "alice@acme.example", "aud": "api://orders", "cid": "0oa1", "uid": "00u1", "ver": 1,
			"scp": scp, "groups": []any{"Everyone", "ops"},
		})
	}
	entraTok := func(tid, scp string) string {
		return entra.sign(t, jwt.MapClaims{
			"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "aud": "api://orders", "ver": "2.0",
			"tid": tid, "oid": "00000000-0000-0000-66f3-3332eca7ea81", "azp": "6e74172b",
			"scp": scp, "roles": []any{"Orders.Admin"},
		})
	}
	cognitoTok := func(tokenUse string) string {
		return cognito.sign(t, jwt.MapClaims{
			"sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "token_use": tokenUse, "scope": "orders/read",
			"client_id": "7abc1example", "username": "alice", "cognito:groups": []any{"admins"},
		})
	}
	untypedAuth0 := func() string {
		p := *auth0
		p.typ = "JWT" // an Auth0 ID token, or an access token without the RFC 9068 profile
		return p.sign(t, jwt.MapClaims{"sub": "auth0|alice", "aud": "https://orders.example", "permissions": []any{"delete:orders"}})
	}

	tests := []struct {
		name, method, path, token string
		status                    int
		reason                    string
	}{
		{"Auth0: scope via permissions, namespaced role, org", "GET", "/auth0/orgs/org_1/orders", auth0Tok("org_1", "read:orders"), 200, ""},
		{"Auth0: another org", "GET", "/auth0/orgs/org_2/orders", auth0Tok("org_1", "read:orders"), 403, protojwt.ReasonClaimMismatch},
		{"Auth0: permission missing", "GET", "/auth0/orgs/org_1/orders", auth0Tok("org_1", "write:orders"), 403, protojwt.ReasonScopeMissing},
		{"Auth0: permissions contains", "DELETE", "/auth0/orders", auth0Tok("org_1", "delete:orders"), 200, ""},
		{"Auth0: typ JWT refused by the access token profile", "DELETE", "/auth0/orders", untypedAuth0(), 401, protojwt.ReasonTokenType},
		{"Keycloak: realm and client roles", "GET", "/keycloak/orders", keycloakTok("user", "admin"), 200, ""},
		{"Keycloak: realm role missing", "GET", "/keycloak/orders", keycloakTok("user"), 403, protojwt.ReasonClaimMismatch},
		{"Okta: scp list and groups", "GET", "/okta/orders", oktaTok("orders.read", "openid"), 200, ""},
		{"Okta: scope missing", "GET", "/okta/orders", oktaTok("orders.write"), 403, protojwt.ReasonScopeMissing},
		{"Entra ID: tenant, scp string, app role", "GET", "/entra/orders", entraTok(entraTenant, "Orders.Read Orders.Write"), 200, ""},
		{"Entra ID: another tenant", "GET", "/entra/orders", entraTok("72f988bf-86f1-41af-91ab-2d7cd011db47", "Orders.Read"), 403, protojwt.ReasonClaimMismatch},
		{"Entra ID: scp without the scope", "GET", "/entra/orders", entraTok(entraTenant, "Orders.Write"), 403, protojwt.ReasonScopeMissing},
		{"Cognito: access token in the group", "GET", "/cognito/orders", cognitoTok("access"), 200, ""},
		{"Cognito: an ID token of the pool", "GET", "/cognito/orders", cognitoTok("id"), 403, protojwt.ReasonClaimMismatch},
		{"Okta's token on Keycloak's route", "GET", "/keycloak/orders", oktaTok("orders.read"), 403, protojwt.ReasonClaimMismatch},
		{"an issuer not trusted", "GET", "/okta/orders", (&fakeIdP{issuer: "https://evil.example", alg: "RS256", kid: okta.kid, key: okta.key}).sign(t, jwt.MapClaims{"sub": "x", "aud": "api://orders", "scp": []any{"orders.read"}, "groups": []any{"ops"}}), 401, protojwt.ReasonTokenInvalid},
		{"Okta's iss, Entra's key", "GET", "/okta/orders", (&fakeIdP{issuer: okta.issuer, alg: "RS256", kid: okta.kid, key: entra.key}).sign(t, jwt.MapClaims{"sub": "x", "aud": "api://orders", "scp": []any{"orders.read"}, "groups": []any{"ops"}}), 401, protojwt.ReasonTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Reason string }
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || body.Reason != tt.reason {
				t.Fatalf("%s %s: %d %q; want %d %q", tt.method, tt.path, resp.StatusCode, body.Reason, tt.status, tt.reason)
			}
		})
	}
}
