package httpauth_test

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/internal/hostiletest"
)

// checkedRoute serves pattern behind reqs, compiled by g.
func checkedRoute(t *testing.T, g *httpauth.Guard, pattern string, reqs ...httpauth.Requirement) http.Handler {
	t.Helper()
	mw, err := g.Compile(reqs...)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(pattern, mw(echo))
	return mux
}

// TestCheckRequirements runs a requirement of each test kind against
// tokens that pass it and tokens that miss it.
func TestCheckRequirements(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m)
	claims := map[string]any{
		"realm_access":               map[string]any{"roles": []any{"reader", "orders-admin"}},
		"https://acme.example/roles": []any{"billing"},
		"org":                        map[string]any{"team": map[string]any{"name": "ops", "ids": []any{7, 1234567890123456789}}},
		"tier":                       "gold",
		"level":                      3,
		"email":                      "alice@acme.example",
		"perms":                      map[string]any{"orders": []any{"read", "write"}},
		"off":                        false,
		"nothing":                    nil,
	}
	alice := bearer(authToken(t, m, "alice", nil, claims))
	bare := bearer(authToken(t, m, "alice", nil, map[string]any{"realm_access": "orders-admin", "tier": []any{"gold"}, "email": 1, "org": "ops"}))
	const (
		ok       = "alice auth"
		mismatch = protojwt.ReasonClaimMismatch
	)
	tests := []struct {
		name    string
		req     httpauth.Requirement
		pattern string // "GET /" when empty
		target  string // "/" when empty
		auth    []string
		want    string // body when allowed, else the reason
	}{
		{"equals", httpauth.Check("tier").Equals("gold"), "", "", alice, ok},
		{"equals other", httpauth.Check("tier").Equals("silver"), "", "", alice, mismatch},
		{"equals number", httpauth.Check("level").Equals(3), "", "", alice, ok},
		{"equals number as text", httpauth.Check("level").Equals("3"), "", "", alice, mismatch},
		{"equals at depth 3", httpauth.Check("org", "team", "name").Equals("ops"), "", "", alice, ok},
		{"equals through a string", httpauth.Check("org", "team", "name").Equals("ops"), "", "", bare, mismatch},
		{"equals null claim", httpauth.Check("nothing").Equals("x"), "", "", alice, mismatch},
		{"equals missing claim", httpauth.Check("nope").Equals("x"), "", "", alice, mismatch},
		{"equals path", httpauth.Check("org", "team", "name").EqualsPath("team"), "GET /teams/{team}", "/teams/ops", alice, ok},
		{"equals path other", httpauth.Check("org", "team", "name").EqualsPath("team"), "GET /teams/{team}", "/teams/dev", alice, mismatch},
		{"equals path number", httpauth.Check("level").EqualsPath("n"), "GET /levels/{n}", "/levels/3", alice, ok},
		{"equals path number as 3.0", httpauth.Check("level").EqualsPath("n"), "GET /levels/{n}", "/levels/3.0", alice, mismatch},
		{"equals path bool", httpauth.Check("off").EqualsPath("b"), "GET /flags/{b}", "/flags/false", alice, ok},
		{"contains", httpauth.Check("realm_access", "roles").Contains("orders-admin"), "", "", alice, ok},
		{"contains other", httpauth.Check("realm_access", "roles").Contains("admin"), "", "", alice, mismatch},
		{"contains of a string claim", httpauth.Check("realm_access", "roles").Contains("orders-admin"), "", "", bare, mismatch},
		{"contains namespaced", httpauth.Check("https://acme.example/roles").Contains("billing"), "", "", alice, ok},
		{"contains namespaced split", httpauth.Check("https://acme.example", "roles").Contains("billing"), "", "", alice, mismatch},
		{"contains dotted", httpauth.Check("realm_access.roles").Contains("orders-admin"), "", "", alice, mismatch},
		{"contains path", httpauth.Check("realm_access", "roles").ContainsPath("role"), "GET /roles/{role}", "/roles/reader", alice, ok},
		{"contains path other", httpauth.Check("realm_access", "roles").ContainsPath("role"), "GET /roles/{role}", "/roles/writer", alice, mismatch},
		{"contains path number", httpauth.Check("org", "team", "ids").ContainsPath("id"), "GET /ids/{id}", "/ids/7", alice, ok},
		{"contains path big number", httpauth.Check("org", "team", "ids").ContainsPath("id"), "GET /ids/{id}", "/ids/1234567890123456789", alice, ok},
		{"contains path big neighbour", httpauth.Check("org", "team", "ids").ContainsPath("id"), "GET /ids/{id}", "/ids/1234567890123456788", alice, mismatch},
		{"contains path wildcard unset", httpauth.Check("realm_access", "roles").ContainsPath("role"), "GET /", "/", alice, mismatch},
		{"in", httpauth.Check("tier").In("gold", "platinum"), "", "", alice, ok},
		{"in other", httpauth.Check("tier").In("silver", "platinum"), "", "", alice, mismatch},
		{"in numbers", httpauth.Check("level").In(1, 2, 3), "", "", alice, ok},
		{"in numbers as text", httpauth.Check("level").In("3"), "", "", alice, mismatch},
		{"in of a list claim", httpauth.Check("tier").In("gold"), "", "", bare, mismatch},
		{"prefix", httpauth.Check("email").Prefix("alice@"), "", "", alice, ok},
		{"prefix other", httpauth.Check("email").Prefix("bob@"), "", "", alice, mismatch},
		{"prefix of a number", httpauth.Check("email").Prefix("1"), "", "", bare, mismatch},
		{"suffix", httpauth.Check("email").Suffix("@acme.example"), "", "", alice, ok},
		{"suffix lookalike", httpauth.Check("email").Suffix("@acme.example.evil"), "", "", alice, mismatch},
		{"includes", httpauth.Check("perms").Includes(map[string]any{"orders": []string{"read"}}), "", "", alice, ok},
		{"includes missing element", httpauth.Check("perms").Includes(map[string]any{"orders": []string{"delete"}}), "", "", alice, mismatch},
		{"includes list", httpauth.Check("realm_access", "roles").Includes([]string{"reader", "orders-admin"}), "", "", alice, ok},
		{"includes list not all", httpauth.Check("realm_access", "roles").Includes([]string{"reader", "admin"}), "", "", alice, mismatch},
		{"present", httpauth.Check("off").Present(), "", "", alice, ok},
		{"present null", httpauth.Check("nothing").Present(), "", "", alice, mismatch},
		{"present missing", httpauth.Check("nope").Present(), "", "", alice, mismatch},
		{"absent", httpauth.Check("act").Absent(), "", "", alice, ok},
		{"absent null", httpauth.Check("nothing").Absent(), "", "", alice, ok},
		{"absent present", httpauth.Check("tier").Absent(), "", "", alice, mismatch},
		{"no token", httpauth.Check("tier").Present(), "", "", nil, protojwt.ReasonTokenMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pattern, target := tc.pattern, tc.target
			if pattern == "" {
				pattern, target = "GET /", "/"
			}
			w := request{target: target, auth: tc.auth}.serve(checkedRoute(t, g, pattern, tc.req))
			if tc.want == ok {
				checkAllowed(t, w, ok)
				return
			}
			checkRefused(t, w, tc.want)
		})
	}
}

// TestChecksAllHold checks that every check of a route must hold, with the
// route's other requirements, in one rule.
func TestChecksAllHold(t *testing.T) {
	m := newManager(t)
	route := checkedRoute(t, httpauth.New(m), "GET /tenants/{tenant}",
		httpauth.Check("realm_access", "roles").Contains("orders-admin"),
		httpauth.Check("https://acme.example/tenant").EqualsPath("tenant"),
		httpauth.Check("tier").In("gold", "platinum"),
		httpauth.Scopes("orders:read"),
	)
	good := map[string]any{"realm_access": map[string]any{"roles": []any{"orders-admin"}}, "https://acme.example/tenant": "t1", "tier": "gold"}
	checkAllowed(t, request{target: "/tenants/t1", auth: bearer(authToken(t, m, "alice", "orders:read", good))}.serve(route), "alice auth")
	checkRefused(t, request{target: "/tenants/t2", auth: bearer(authToken(t, m, "alice", "orders:read", good))}.serve(route), protojwt.ReasonClaimMismatch)
	checkRefused(t, request{target: "/tenants/t1", auth: bearer(authToken(t, m, "alice", "other", good))}.serve(route), protojwt.ReasonScopeMissing)
	silver := map[string]any{"realm_access": good["realm_access"], "https://acme.example/tenant": "t1", "tier": "silver"}
	checkRefused(t, request{target: "/tenants/t1", auth: bearer(authToken(t, m, "alice", "orders:read", silver))}.serve(route), protojwt.ReasonClaimMismatch)
}

// TestClaimFromPathBigInteger is issue 13.1 over HTTP: a path value equals
// an integer claim beyond 2^53 exactly, so the owner reaches the account
// and no neighbour does, whether the rule is ClaimFromPath or a check.
func TestClaimFromPathBigInteger(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m)
	const id = int64(1234567890123456789)
	owner := bearer(authToken(t, m, "alice", nil, map[string]any{"acct": id, "org": map[string]any{"accounts": []any{int64(7), id}}}))
	routes := map[string]http.Handler{
		"ClaimFromPath":      checkedRoute(t, g, "GET /accounts/{id}", httpauth.ClaimFromPath("acct", "id")),
		"Check.EqualsPath":   checkedRoute(t, g, "GET /accounts/{id}", httpauth.Check("acct").EqualsPath("id")),
		"Check.ContainsPath": checkedRoute(t, g, "GET /accounts/{id}", httpauth.Check("org", "accounts").ContainsPath("id")),
	}
	for name, route := range routes {
		t.Run(name, func(t *testing.T) {
			checkAllowed(t, request{target: "/accounts/" + strconv.FormatInt(id, 10), auth: owner}.serve(route), "alice auth")
			for _, d := range []int64{-1000, -100, -21, -1, 1, 11, 100, 1000} {
				target := "/accounts/" + strconv.FormatInt(id+d, 10)
				checkRefused(t, request{target: target, auth: owner}.serve(route), protojwt.ReasonClaimMismatch)
			}
			for _, text := range []string{"1234567890123456789.0", "+1234567890123456789", "01234567890123456789", "1.2345678901234568e18", "1234567890123456800", "-1234567890123456789"} {
				checkRefused(t, request{target: "/accounts/" + text, auth: owner}.serve(route), protojwt.ReasonClaimMismatch)
			}
		})
	}
}

// TestAllowMissingRoute checks AllowMissing: with no token the handler
// runs and finds none; a token sent must verify and satisfy the route.
func TestAllowMissingRoute(t *testing.T) {
	m := newManager(t)
	route := checkedRoute(t, httpauth.New(m), "GET /catalog", httpauth.AllowMissing(), httpauth.Check("tier").In("gold", "platinum"))
	gold := authToken(t, m, "alice", nil, map[string]any{"tier": "gold"})
	silver := authToken(t, m, "alice", nil, map[string]any{"tier": "silver"})
	checkAllowed(t, request{target: "/catalog"}.serve(route), "anonymous")
	checkAllowed(t, request{target: "/catalog", auth: []string{""}}.serve(route), "anonymous")
	checkAllowed(t, request{target: "/catalog", auth: bearer(gold)}.serve(route), "alice auth")
	checkRefused(t, request{target: "/catalog", auth: bearer(silver)}.serve(route), protojwt.ReasonClaimMismatch)
	checkRefused(t, request{target: "/catalog", auth: bearer(tamperedToken(t, gold, "mallory"))}.serve(route), protojwt.ReasonTokenInvalid)
	checkRefused(t, request{target: "/catalog", auth: bearer(expiredToken(t, "alice"))}.serve(route), protojwt.ReasonTokenExpired)
	checkRefused(t, request{target: "/catalog", auth: bearer(unsignedToken("alice"))}.serve(route), protojwt.ReasonTokenInvalid)
	checkRefused(t, request{target: "/catalog", auth: bearer(refreshToken(t, m, "alice"))}.serve(route), protojwt.ReasonTokenType)
	checkRefused(t, request{target: "/catalog", auth: []string{"Basic YWxpY2U6c2VjcmV0"}}.serve(route), protojwt.ReasonRequestMalformed)

	// Without AllowMissing the same route needs a token.
	strict := checkedRoute(t, httpauth.New(m), "GET /catalog", httpauth.Check("tier").In("gold", "platinum"))
	checkRefused(t, request{target: "/catalog"}.serve(strict), protojwt.ReasonTokenMissing)
}

// TestInvalidCheckRequirements checks that every check that can't be
// enforced makes Compile fail, saying why.
func TestInvalidCheckRequirements(t *testing.T) {
	g := httpauth.New(newManager(t))
	long := make([]string, 33)
	for i := range long {
		long[i] = "a"
	}
	tests := []struct {
		name string
		reqs []httpauth.Requirement
		want string
	}{
		{"empty path", []httpauth.Requirement{httpauth.Check().Equals("x")}, "empty path"},
		{"empty name", []httpauth.Requirement{httpauth.Check("realm_access", "").Contains("x")}, "empty name"},
		{"path too long", []httpauth.Requirement{httpauth.Check(long...).Present()}, "longer than 32"},
		{"equals nil", []httpauth.Requirement{httpauth.Check("tier").Equals(nil)}, "no value"},
		{"equals NaN", []httpauth.Requirement{httpauth.Check("n").Equals(math.NaN())}, "finite"},
		{"contains nil", []httpauth.Requirement{httpauth.Check("groups").Contains(nil)}, "no value"},
		{"contains not JSON", []httpauth.Requirement{httpauth.Check("groups").Contains(func() {})}, "JSON"},
		{"equals empty wildcard", []httpauth.Requirement{httpauth.Check("sub").EqualsPath("")}, "EqualsPath names no wildcard"},
		{"contains empty wildcard", []httpauth.Requirement{httpauth.Check("groups").ContainsPath("")}, "ContainsPath names no wildcard"},
		{"in nothing", []httpauth.Requirement{httpauth.Check("tier").In()}, "at least one value"},
		{"in nil", []httpauth.Requirement{httpauth.Check("tier").In("gold", nil)}, "null"},
		{"empty prefix", []httpauth.Requirement{httpauth.Check("email").Prefix("")}, "empty prefix"},
		{"empty suffix", []httpauth.Requirement{httpauth.Check("email").Suffix("")}, "empty suffix"},
		{"includes nil", []httpauth.Requirement{httpauth.Check("perms").Includes(nil)}, "no value"},
		{"includes null", []httpauth.Requirement{httpauth.Check("perms").Includes(map[string]any(nil))}, "null"},
		{"public with a check", []httpauth.Requirement{httpauth.Public(), httpauth.Check("tier").Present()}, "public"},
		{"allow missing and public", []httpauth.Requirement{httpauth.AllowMissing(), httpauth.Public()}, "public"},
		{"allow missing alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.AllowMissing(), httpauth.Scopes("a")})}, "allow_missing"},
		{"bad check alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.Check("tier").In()})}, "at least one value"},
		{"proto check without test", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}}}})}, "no test"},
		{"proto check empty path", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Check: []*annotations.ClaimCheck{{Test: &annotations.ClaimCheck_Present{Present: true}}}})}, "empty path"},
		{"proto allow_missing public", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Public: true, AllowMissing: true})}, "public"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := g.Compile(tc.reqs...)
			if !errors.Is(err, protojwt.ErrInvalidRule) {
				t.Fatalf("Compile error = %v, want one wrapping ErrInvalidRule", err)
			}
			if mw != nil {
				t.Error("Compile returned middleware with an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %q, want it to say %q", err, tc.want)
			}
		})
	}
}

// checkTableRequirements are hostiletest.CheckRule in Go: the table must
// decide alike through them and through FromRule.
func checkTableRequirements() []httpauth.Requirement {
	return []httpauth.Requirement{
		httpauth.AllowMissing(),
		httpauth.Check("sub").EqualsPath(hostiletest.Variable),
		httpauth.Check("realm_access", "roles").Contains("orders-admin"),
		httpauth.Check("https://acme.example/accounts").ContainsPath(hostiletest.AccountVariable),
		httpauth.Check("tier").In("gold", "platinum"),
		httpauth.Check("email").Suffix("@acme.example"),
		httpauth.Check("tenant").Prefix("acme-"),
		httpauth.Check("perms").Includes(map[string]any{"orders": []string{"read"}}),
		httpauth.Check("tid").Present(),
		httpauth.Check("act").Absent(),
	}
}

// TestHostileChecks sends every case of the check table over HTTP to a
// real server, the rule given by FromRule(hostiletest.CheckRule()) and by
// the same requirements in Go: the outcomes of the gRPC interceptor's
// TestHostileChecksUnary.
func TestHostileChecks(t *testing.T) {
	env := hostiletest.New(t)
	g := httpauth.New(env.Manager)
	pattern := "GET /users/{" + hostiletest.Variable + "}/accounts/{" + hostiletest.AccountVariable + "}"
	target := "/users/" + hostiletest.Subject + "/accounts/" + strconv.FormatInt(hostiletest.Account, 10)
	for name, reqs := range map[string][]httpauth.Requirement{
		"FromRule": {httpauth.FromRule(hostiletest.CheckRule())},
		"Check":    checkTableRequirements(),
	} {
		mw, err := g.Compile(reqs...)
		if err != nil {
			t.Fatalf("%s: Compile: %v", name, err)
		}
		mux := http.NewServeMux()
		mux.Handle(pattern, mw(echo))
		srv := newHTTPServer(t, mux)
		for _, c := range hostiletest.CheckCases() {
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				values := c.Authorization(env)
				w := send(t, srv, target, values)
				if c.Reason == "" {
					want := hostiletest.Subject + " auth"
					if len(values) == 0 {
						want = "anonymous"
					}
					checkAllowed(t, w, want)
					return
				}
				checkRefused(t, w, c.Reason)
				for _, v := range values {
					if len(v) >= 16 && strings.Contains(w.Body.String(), v) {
						t.Errorf("the refusal quotes the request")
					}
				}
			})
		}
	}
	if hits := env.TrapHits(); hits != 0 {
		t.Errorf("a URL of a token header was fetched %d times", hits)
	}
}

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
