package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// routes is a ServeMux with a route for every kind of requirement.
func routes(t *testing.T, g *httpauth.Guard) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	handle := func(pattern string, reqs ...httpauth.Requirement) {
		t.Helper()
		mw, err := g.Compile(reqs...)
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		mux.Handle(pattern, mw(echo))
	}
	handle("GET /protected")
	handle("POST /refresh", httpauth.TokenType(manager.Refresh))
	handle("GET /auth-only", httpauth.TokenType(manager.Auth))
	handle("GET /users/{username}", httpauth.ClaimFromPath("sub", "username"))
	handle("GET /accounts/{id}", httpauth.ClaimFromPath("account", "id"))
	handle("GET /beta/{enabled}", httpauth.ClaimFromPath("beta", "enabled"))
	handle("GET /custom", httpauth.Claim("custom_claim", "Arbitrary Required Value"))
	handle("GET /level", httpauth.Claim("level", 3))
	handle("GET /verified", httpauth.Claim("verified", true))
	handle("GET /admin", httpauth.Scope(map[string]any{"admin": true}))
	handle("GET /docs", httpauth.Scopes("read", "write"))
	handle("GET /teams/{team}/report", httpauth.AnyOf(
		[]httpauth.Requirement{httpauth.Scope(map[string]any{"admin": true})},
		[]httpauth.Requirement{httpauth.ClaimFromPath("team", "team"), httpauth.Scopes("report")},
	))
	handle("GET /proto/{username}", httpauth.FromRule(&annotations.Rule{
		Claims: map[string]*annotations.Match{
			"sub":  {Kind: &annotations.Match_Field{Field: "username"}},
			"tier": {Kind: &annotations.Match_StringValue{StringValue: "gold"}},
		},
		Scopes: []string{"read"},
	}))
	handle("POST /proto/refresh", httpauth.FromRule(&annotations.Rule{
		TokenType: annotations.TokenType_TOKEN_TYPE_REFRESH,
	}))
	handle("GET /public", httpauth.Public())
	return mux
}

// tokens are the tokens the tables send.
type tokens struct {
	plain, claims, wrongClaims                 string
	admin, notAdmin, readWrite, readOnly, list string
	teamBlue, teamBlueNoReport                 string
	gold, silver, goldNoRead                   string
	refresh, expired                           string
	otherIssuer, otherSecret, tampered, none   string
}

func newTokens(t *testing.T, m *manager.Manager) tokens {
	plain := authToken(t, m, "alice", nil, nil)
	return tokens{
		plain: plain,
		claims: authToken(t, m, "alice", nil, map[string]any{
			"custom_claim": "Arbitrary Required Value", "level": 3, "verified": true, "account": 42, "beta": true,
		}),
		wrongClaims: authToken(t, m, "alice", nil, map[string]any{
			"custom_claim": "arbitrary required value", "level": "3", "verified": "true", "account": 43, "beta": false,
		}),
		admin:            authToken(t, m, "root", map[string]any{"admin": true, "team": "ops"}, nil),
		notAdmin:         authToken(t, m, "bob", map[string]any{"admin": false}, nil),
		readWrite:        authToken(t, m, "carol", "read write", nil),
		readOnly:         authToken(t, m, "dave", "read", nil),
		list:             authToken(t, m, "erin", []any{"write", "read"}, nil),
		teamBlue:         authToken(t, m, "frank", "report", map[string]any{"team": "blue"}),
		teamBlueNoReport: authToken(t, m, "frank", "read", map[string]any{"team": "blue"}),
		gold:             authToken(t, m, "alice", "read", map[string]any{"tier": "gold"}),
		silver:           authToken(t, m, "alice", "read", map[string]any{"tier": "silver"}),
		goldNoRead:       authToken(t, m, "alice", nil, map[string]any{"tier": "gold"}),
		refresh:          refreshToken(t, m, "alice"),
		expired:          expiredToken(t, "alice"),
		otherIssuer:      authToken(t, newManagerOf(t, "https://other.test", testSecret), "alice", nil, nil),
		otherSecret:      authToken(t, newManagerOf(t, testIssuer, []byte("another-secret-of-at-least-32-bytes")), "alice", nil, nil),
		tampered:         tamperedToken(t, plain, "root"),
		none:             unsignedToken("alice"),
	}
}

func TestRequire(t *testing.T) {
	m := newManager(t)
	mux := routes(t, httpauth.New(m))
	tk := newTokens(t, m)

	allowed := []struct {
		name string
		req  request
		body string
	}{
		{"auth token", request{target: "/protected", auth: bearer(tk.plain)}, "alice auth"},
		{"scheme in lower case", request{target: "/protected", auth: []string{"bearer " + tk.plain}}, "alice auth"},
		{"scheme in upper case", request{target: "/protected", auth: []string{"BEARER " + tk.plain}}, "alice auth"},
		{"refresh token where required", request{method: "POST", target: "/refresh", auth: bearer(tk.refresh)}, "alice refresh"},
		{"auth token where auth required", request{target: "/auth-only", auth: bearer(tk.plain)}, "alice auth"},
		{"claim from path", request{target: "/users/alice", auth: bearer(tk.plain)}, "alice auth"},
		{"claim from escaped path", request{target: "/users/al%69ce", auth: bearer(tk.plain)}, "alice auth"},
		{"numeric claim from path", request{target: "/accounts/42", auth: bearer(tk.claims)}, "alice auth"},
		{"bool claim from path", request{target: "/beta/true", auth: bearer(tk.claims)}, "alice auth"},
		{"string claim", request{target: "/custom", auth: bearer(tk.claims)}, "alice auth"},
		{"number claim", request{target: "/level", auth: bearer(tk.claims)}, "alice auth"},
		{"bool claim", request{target: "/verified", auth: bearer(tk.claims)}, "alice auth"},
		{"scope", request{target: "/admin", auth: bearer(tk.admin)}, "root auth"},
		{"scopes in a string", request{target: "/docs", auth: bearer(tk.readWrite)}, "carol auth"},
		{"scopes in an array", request{target: "/docs", auth: bearer(tk.list)}, "erin auth"},
		{"first alternative", request{target: "/teams/red/report", auth: bearer(tk.admin)}, "root auth"},
		{"second alternative", request{target: "/teams/blue/report", auth: bearer(tk.teamBlue)}, "frank auth"},
		{"proto rule", request{target: "/proto/alice", auth: bearer(tk.gold)}, "alice auth"},
		{"proto rule of refresh tokens", request{method: "POST", target: "/proto/refresh", auth: bearer(tk.refresh)}, "alice refresh"},
		{"public without token", request{target: "/public"}, "anonymous"},
		{"public with garbage", request{target: "/public", auth: []string{"Bearer garbage"}}, "anonymous"},
		{"public with expired token", request{target: "/public", auth: bearer(tk.expired)}, "anonymous"},
		{"public with valid token", request{target: "/public", auth: bearer(tk.plain)}, "anonymous"},
		{"public with two headers", request{target: "/public", auth: []string{"Bearer a", "Bearer b"}}, "anonymous"},
	}
	for _, tc := range allowed {
		t.Run("allowed/"+tc.name, func(t *testing.T) {
			checkAllowed(t, tc.req.serve(mux), tc.body)
		})
	}

	refused := []struct {
		name   string
		req    request
		reason string
	}{
		// The token: missing, malformed, not verified.
		{"no header", request{target: "/protected"}, "TOKEN_MISSING"},
		{"empty header", request{target: "/protected", auth: []string{""}}, "TOKEN_MISSING"},
		{"no token with path claim", request{target: "/users/alice"}, "TOKEN_MISSING"},
		{"no token with alternatives", request{target: "/teams/blue/report"}, "TOKEN_MISSING"},
		{"basic scheme", request{target: "/protected", auth: []string{"Basic YWxpY2U6c2VjcmV0"}}, "REQUEST_MALFORMED"},
		{"other scheme", request{target: "/protected", auth: []string{"Token " + tk.plain}}, "REQUEST_MALFORMED"},
		{"scheme alone", request{target: "/protected", auth: []string{"Bearer"}}, "REQUEST_MALFORMED"},
		{"scheme and space", request{target: "/protected", auth: []string{"Bearer "}}, "REQUEST_MALFORMED"},
		{"two spaces", request{target: "/protected", auth: []string{"Bearer  " + tk.plain}}, "REQUEST_MALFORMED"},
		{"trailing text", request{target: "/protected", auth: []string{"Bearer " + tk.plain + " x"}}, "REQUEST_MALFORMED"},
		{"token without scheme", request{target: "/protected", auth: []string{tk.plain}}, "REQUEST_MALFORMED"},
		{"two headers", request{target: "/protected", auth: []string{"Bearer " + tk.plain, "Bearer " + tk.plain}}, "REQUEST_MALFORMED"},
		{"two headers, one empty", request{target: "/protected", auth: []string{"", "Bearer " + tk.plain}}, "REQUEST_MALFORMED"},
		{"not a JWT", request{target: "/protected", auth: []string{"Bearer not-a-jwt"}}, "TOKEN_INVALID"},
		{"three garbage segments", request{target: "/protected", auth: []string{"Bearer aaa.bbb.ccc"}}, "TOKEN_INVALID"},
		{"tampered payload", request{target: "/protected", auth: bearer(tk.tampered)}, "TOKEN_INVALID"},
		{"other secret", request{target: "/protected", auth: bearer(tk.otherSecret)}, "TOKEN_INVALID"},
		{"other issuer", request{target: "/protected", auth: bearer(tk.otherIssuer)}, "TOKEN_INVALID"},
		{"alg none", request{target: "/protected", auth: bearer(tk.none)}, "TOKEN_INVALID"},
		{"expired", request{target: "/protected", auth: bearer(tk.expired)}, "TOKEN_EXPIRED"},
		{"expired before claims", request{target: "/users/bob", auth: bearer(tk.expired)}, "TOKEN_EXPIRED"},
		// Token type.
		{"refresh token by default", request{target: "/protected", auth: bearer(tk.refresh)}, "TOKEN_TYPE"},
		{"refresh token where auth required", request{target: "/auth-only", auth: bearer(tk.refresh)}, "TOKEN_TYPE"},
		{"auth token where refresh required", request{method: "POST", target: "/refresh", auth: bearer(tk.plain)}, "TOKEN_TYPE"},
		{"refresh token before claims", request{target: "/users/bob", auth: bearer(tk.refresh)}, "TOKEN_TYPE"},
		{"auth token on proto refresh rule", request{method: "POST", target: "/proto/refresh", auth: bearer(tk.plain)}, "TOKEN_TYPE"},
		// Claims from the path.
		{"other user", request{target: "/users/bob", auth: bearer(tk.plain)}, "CLAIM_MISMATCH"},
		{"other subject", request{target: "/users/alice", auth: bearer(tk.notAdmin)}, "CLAIM_MISMATCH"},
		{"user in other case", request{target: "/users/Alice", auth: bearer(tk.plain)}, "CLAIM_MISMATCH"},
		{"other number", request{target: "/accounts/43", auth: bearer(tk.claims)}, "CLAIM_MISMATCH"},
		{"number claim differs", request{target: "/accounts/42", auth: bearer(tk.wrongClaims)}, "CLAIM_MISMATCH"},
		{"number as decimal", request{target: "/accounts/42.0", auth: bearer(tk.claims)}, "CLAIM_MISMATCH"},
		{"number with leading zero", request{target: "/accounts/042", auth: bearer(tk.claims)}, "CLAIM_MISMATCH"},
		{"number claim missing", request{target: "/accounts/42", auth: bearer(tk.plain)}, "CLAIM_MISMATCH"},
		{"bool claim differs", request{target: "/beta/false", auth: bearer(tk.claims)}, "CLAIM_MISMATCH"},
		{"bool in other case", request{target: "/beta/True", auth: bearer(tk.claims)}, "CLAIM_MISMATCH"},
		{"bool claim missing", request{target: "/beta/true", auth: bearer(tk.plain)}, "CLAIM_MISMATCH"},
		// Literal claims.
		{"string claim differs", request{target: "/custom", auth: bearer(tk.wrongClaims)}, "CLAIM_MISMATCH"},
		{"string claim missing", request{target: "/custom", auth: bearer(tk.plain)}, "CLAIM_MISMATCH"},
		{"number claim is a string", request{target: "/level", auth: bearer(tk.wrongClaims)}, "CLAIM_MISMATCH"},
		{"bool claim is a string", request{target: "/verified", auth: bearer(tk.wrongClaims)}, "CLAIM_MISMATCH"},
		{"literal claim missing", request{target: "/verified", auth: bearer(tk.plain)}, "CLAIM_MISMATCH"},
		// Scope and scopes.
		{"scope false", request{target: "/admin", auth: bearer(tk.notAdmin)}, "SCOPE_MISSING"},
		{"no scope", request{target: "/admin", auth: bearer(tk.plain)}, "SCOPE_MISSING"},
		{"scope is a string", request{target: "/admin", auth: bearer(tk.readWrite)}, "SCOPE_MISSING"},
		{"one scope of two", request{target: "/docs", auth: bearer(tk.readOnly)}, "SCOPE_MISSING"},
		{"no scopes", request{target: "/docs", auth: bearer(tk.plain)}, "SCOPE_MISSING"},
		{"scopes of another kind", request{target: "/docs", auth: bearer(tk.admin)}, "SCOPE_MISSING"},
		// Alternatives.
		{"second alternative without scope", request{target: "/teams/blue/report", auth: bearer(tk.teamBlueNoReport)}, "NO_ALTERNATIVE"},
		{"second alternative other team", request{target: "/teams/red/report", auth: bearer(tk.teamBlue)}, "NO_ALTERNATIVE"},
		{"no alternative", request{target: "/teams/blue/report", auth: bearer(tk.notAdmin)}, "NO_ALTERNATIVE"},
		// A proto rule.
		{"proto rule literal differs", request{target: "/proto/alice", auth: bearer(tk.silver)}, "CLAIM_MISMATCH"},
		{"proto rule path differs", request{target: "/proto/bob", auth: bearer(tk.gold)}, "CLAIM_MISMATCH"},
		{"proto rule without scope", request{target: "/proto/alice", auth: bearer(tk.goldNoRead)}, "SCOPE_MISSING"},
		{"proto rule without token", request{target: "/proto/alice"}, "TOKEN_MISSING"},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			checkRefused(t, tc.req.serve(mux), tc.reason)
		})
	}
}

// A refusal's body and headers never carry the token.
func TestRefusalDoesNotEchoToken(t *testing.T) {
	m := newManager(t)
	mux := routes(t, httpauth.New(m))
	tk := newTokens(t, m)
	for _, tok := range []string{tk.expired, tk.refresh, tk.tampered, tk.plain} {
		w := request{target: "/users/nobody", auth: bearer(tok)}.serve(mux)
		if w.Code == http.StatusOK {
			t.Fatalf("allowed: %q", w.Body.String())
		}
		payload := strings.Split(tok, ".")[1]
		for name, values := range w.Header() {
			for _, v := range values {
				if strings.Contains(v, payload) {
					t.Errorf("header %s carries the token: %q", name, v)
				}
			}
		}
		if strings.Contains(w.Body.String(), payload) {
			t.Errorf("body carries the token: %q", w.Body.String())
		}
	}
}

// The handler finds the verified token in its context, the one sent.
func TestHandlerSeesToken(t *testing.T) {
	m := newManager(t)
	signed := authToken(t, m, "alice", map[string]any{"admin": true}, map[string]any{"tenant": "acme"})
	var got *manager.Token
	h := httpauth.New(m).Require(httpauth.Claim("tenant", "acme"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = manager.FromContext(r.Context())
	}))
	w := request{target: "/", auth: bearer(signed)}.serve(h)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, body %q", w.Code, w.Body.String())
	}
	switch {
	case got == nil:
		t.Fatal("no token in the handler's context")
	case got.Subject != "alice", got.Type != manager.Auth, got.Signed != signed, got.Claims["tenant"] != "acme":
		t.Errorf("token = %+v", got)
	}
}

// A public route is the handler itself: no token is read and nothing is
// added to the request.
func TestPublicIsHandlerItself(t *testing.T) {
	g := httpauth.New(newManager(t))
	var seen bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, seen = manager.FromContext(r.Context())
	})
	wrapped := g.Require(httpauth.Public())(h)
	w := request{target: "/", auth: bearer(authToken(t, newManager(t), "alice", nil, nil))}.serve(wrapped)
	if w.Code != http.StatusOK || seen {
		t.Errorf("status = %d, token in context = %v", w.Code, seen)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer garbage")
	dw := newDiscardWriter()
	if allocs := testing.AllocsPerRun(100, func() { wrapped.ServeHTTP(dw, r) }); allocs != 0 {
		t.Errorf("public route: %v allocations per request, want 0", allocs)
	}
}

// Requirements are compiled by Require: changing a map given to Scope
// afterwards changes nothing.
func TestRequireCompilesOnce(t *testing.T) {
	m := newManager(t)
	want := map[string]any{"admin": true}
	h := httpauth.New(m).Require(httpauth.Scope(want))(echo)
	want["admin"] = false
	want["extra"] = "x"
	checkAllowed(t, request{target: "/", auth: bearer(authToken(t, m, "root", map[string]any{"admin": true}, nil))}.serve(h), "root auth")
	checkRefused(t, request{target: "/", auth: bearer(authToken(t, m, "bob", map[string]any{"admin": false, "extra": "x"}, nil))}.serve(h), "SCOPE_MISSING")
}

// One Guard and one route serve many callers at once, each deciding on its
// own token and path.
func TestConcurrentRequests(t *testing.T) {
	m := newManager(t)
	h := routes(t, httpauth.New(m))
	const n = 100
	signed := make([]string, n)
	for i := range signed {
		signed[i] = authToken(t, m, "user"+strconv.Itoa(i), nil, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := range n {
		wg.Go(func() {
			own := request{target: "/users/user" + strconv.Itoa(i), auth: bearer(signed[i])}.serve(h)
			other := request{target: "/users/user" + strconv.Itoa((i+1)%n), auth: bearer(signed[i])}.serve(h)
			if own.Code != http.StatusOK {
				errs <- "own path: " + own.Body.String()
			}
			if other.Code != http.StatusForbidden {
				errs <- "other path: " + other.Body.String()
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// downStore is a revocation store that can't answer.
type downStore struct{ revocation.Store }

var errStoreDown = errors.New("dial tcp 127.0.0.1:6379: connection refused")

func (downStore) Revoked(context.Context, string, []string, time.Time) (bool, error) {
	return false, errStoreDown
}

// TestRevocationUnavailable: a valid token that can't be checked against
// the revocation store is refused 503, not 401, so that clients retry
// rather than log in again; the store's error is not shown.
func TestRevocationUnavailable(t *testing.T) {
	store, err := revocation.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, manager.WithRevocation(downStore{store}))
	h := httpauth.New(m).Require()(echo)
	valid := authToken(t, m, "alice", nil, nil)

	w := request{target: "/", auth: bearer(valid)}.serve(h)
	checkRefused(t, w, "REVOCATION_UNAVAILABLE")
	if strings.Contains(w.Body.String(), "refused") || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("503 answer = %q, %q", w.Body.String(), w.Header())
	}
	checkRefused(t, request{target: "/", auth: bearer(valid + "x")}.serve(h), "TOKEN_INVALID")
}

// TestPathClaimAllocs: a route whose claim is bound to a path wildcard
// allocates per request what a route with a literal claim does: the
// request variables are read where they are.
func TestPathClaimAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := newManager(t)
	g := httpauth.New(m)
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux := http.NewServeMux()
	g.Handle(mux, "GET /literal/{username}", ok, httpauth.Claim("sub", "alice"))
	g.Handle(mux, "GET /path/{username}", ok, httpauth.ClaimFromPath("sub", "username"))
	auth := bearer(authToken(t, m, "alice", nil, nil))[0]
	allocs := func(target string) float64 {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", auth)
		dw := newDiscardWriter()
		return testing.AllocsPerRun(100, func() {
			dw.code = 0
			mux.ServeHTTP(dw, r)
			if dw.code != 0 && dw.code != http.StatusOK {
				t.Fatalf("%s: status %d", target, dw.code)
			}
		})
	}
	if literal, path := allocs("/literal/alice"), allocs("/path/alice"); path != literal {
		t.Errorf("a claim bound to a path wildcard: %.0f allocations per request, one bound to a literal: %.0f; want the same", path, literal)
	}
}
