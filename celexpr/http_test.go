package celexpr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/cel-go/ext"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// TestHTTP: expressions over claims and the path wildcards decide HTTP
// requests on a real server; false and errors are 403 with reasons of their
// own.
func TestHTTP(t *testing.T) {
	m := newManager(t)
	guard := httpauth.New(m, httpauth.WithExpressions(celexpr.New()))
	rule := func(expr string) httpauth.Requirement { return httpauth.FromRule(&annotations.Rule{Expr: expr}) }
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context())
		fmt.Fprint(w, tok.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /users/{owner}/docs/{name}", guard.Require(rule("path.owner == claims.sub || 'admin' in claims.roles"))(hello))
	mux.Handle("GET /docs/{name}", guard.Require(rule("path.owner == claims.sub"))(hello))
	mux.Handle("GET /tiers", guard.Require(rule("claims.tier in ['gold', 'platinum']"))(hello))
	mux.Handle("GET /audit", guard.Require(rule("claims.roles.all(a, claims.roles.all(b, a == b || a != b))"))(hello))
	mux.Handle("GET /accounts/{account}", guard.Require(httpauth.FromRule(&annotations.Rule{
		Scopes: []string{"payments"},
		Expr:   "int(path.account) == claims.account",
	}))(hello))
	mux.Handle("GET /ids/{id}", guard.Require(rule("int(path.id) == claims.account"))(hello))
	mux.Handle("GET /uids/{id}", guard.Require(rule("uint(path.id) == claims.account"))(hello))
	mux.Handle("GET /names/{id}", guard.Require(rule("path.id == string(claims.account)"))(hello))
	mux.Handle("GET /search/{text}/{pattern}", guard.Require(rule("path.text.matches(path.pattern)"))(hello))
	mux.Handle("GET /motto/{pattern}", guard.Require(rule("claims.motto.matches(path.pattern)"))(hello))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	manyRoles := make([]string, 200) // 40 000 steps of the nested loop
	for i := range manyRoles {
		manyRoles[i] = fmt.Sprint("role", i)
	}
	alice := token(t, m, "alice", "payments", map[string]any{"roles": []string{"reader"}, "tier": "gold", "account": 1234567890123456789})
	admin := token(t, m, "root", nil, map[string]any{"roles": []string{"admin"}, "tier": "bronze"})
	noClaims := token(t, m, "bob", nil, nil)
	crowded := token(t, m, "carol", nil, map[string]any{"roles": manyRoles})
	const p53 = int64(1) << 53
	edge := token(t, m, "alice", nil, map[string]any{"account": p53, "motto": hostileText(4000)})
	minAccount := token(t, m, "alice", nil, map[string]any{"account": int64(math.MinInt64)})
	maxAccount := token(t, m, "alice", nil, map[string]any{"account": uint64(math.MaxUint64)})
	// A request line and headers fill at most net/http's 1 MiB header
	// limit, the largest path a server reads.
	const pathLimit = 1<<20 - 8<<10

	const denied, errored = protojwt.ReasonExpressionFalse, protojwt.ReasonExpressionError
	tests := []struct {
		name       string
		path       string
		token      string
		wantStatus int
		wantReason string // "" when allowed
	}{
		{"owner", "/users/alice/docs/notes", alice, http.StatusOK, ""},
		{"admin", "/users/alice/docs/notes", admin, http.StatusOK, ""},
		{"another's document", "/users/bob/docs/notes", alice, http.StatusForbidden, denied},
		{"no roles claim, another's document", "/users/alice/docs/notes", noClaims, http.StatusForbidden, errored},
		{"no roles claim, own document", "/users/bob/docs/notes", noClaims, http.StatusOK, ""},
		{"no token", "/users/alice/docs/notes", "", http.StatusUnauthorized, protojwt.ReasonTokenMissing},
		{"a wildcard the pattern lacks", "/docs/notes", alice, http.StatusForbidden, errored},
		{"gold tier", "/tiers", alice, http.StatusOK, ""},
		{"bronze tier", "/tiers", admin, http.StatusForbidden, denied},
		{"no tier claim", "/tiers", noClaims, http.StatusForbidden, errored},
		{"few roles", "/audit", alice, http.StatusOK, ""},
		{"many roles: the cost limit", "/audit", crowded, http.StatusForbidden, errored},
		{"own big account", "/accounts/1234567890123456789", alice, http.StatusOK, ""},
		{"its neighbour", "/accounts/1234567890123456788", alice, http.StatusForbidden, denied},
		{"not a number", "/accounts/12x", alice, http.StatusForbidden, errored},
		{"declarative parts first", "/accounts/1234567890123456789", admin, http.StatusForbidden, protojwt.ReasonScopeMissing},
		{"id 2^53", "/ids/9007199254740992", edge, http.StatusOK, ""},
		{"id 2^53+1 against a claim of 2^53", "/ids/9007199254740993", edge, http.StatusForbidden, denied},
		{"id 2^53-1 against a claim of 2^53", "/ids/9007199254740991", edge, http.StatusForbidden, denied},
		{"unsigned id 2^53+1 against a claim of 2^53", "/uids/9007199254740993", edge, http.StatusForbidden, denied},
		{"the claim 2^53 as a string", "/names/9007199254740992", edge, http.StatusOK, ""},
		{"id int64 min", "/ids/-9223372036854775808", minAccount, http.StatusOK, ""},
		{"id int64 min+1", "/ids/-9223372036854775807", minAccount, http.StatusForbidden, denied},
		{"unsigned id uint64 max", "/uids/18446744073709551615", maxAccount, http.StatusOK, ""},
		{"unsigned id uint64 max-1", "/uids/18446744073709551614", maxAccount, http.StatusForbidden, denied},
		{"the claim uint64 max as a string", "/names/18446744073709551615", maxAccount, http.StatusOK, ""},
		{"search, a short text", "/search/notes/^no", alice, http.StatusOK, ""},
		{"a claim matched against a short pattern", "/motto/" + url.PathEscape("^a?a+$"), edge, http.StatusOK, ""},
		{"search, no match", "/search/notes/^x", alice, http.StatusForbidden, denied},
		{"search, a text at the header limit", "/search/" + hostileText(pathLimit) + "/a", alice, http.StatusForbidden, errored},
		{"search, a text and a pattern at the header limit", "/search/" + hostileText(pathLimit/3) + "/" + url.PathEscape(hostilePattern(pathLimit/3)), alice, http.StatusForbidden, errored},
		{"a claim matched against a pattern at the header limit", "/motto/" + url.PathEscape(hostilePattern(pathLimit/2)), edge, http.StatusForbidden, errored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantReason == "" {
				return
			}
			var body struct{ Reason string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Reason != tt.wantReason {
				t.Fatalf("reason %q (%v), want %s", body.Reason, err, tt.wantReason)
			}
		})
	}
}

// TestHTTPCompileErrors: a route whose expression can't be used is refused
// when it is registered, with CEL's message; so is one with an expr on a
// guard with no engine.
func TestHTTPCompileErrors(t *testing.T) {
	m := newManager(t)
	guard := httpauth.New(m, httpauth.WithExpressions(celexpr.New()))
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"syntax", "path.owner ==", "Syntax error"},
		{"not bool", "path.owner", "string, not bool"},
		{"dyn, not bool", "claims.admin", "dyn, not bool"},
		{"request in HTTP", "request.owner == claims.sub", "HTTP route has no request message"},
		{"unknown variable", "route.owner == claims.sub", "undeclared reference to 'route'"},
		{"path values are strings", "path.owner == 3", "no matching overload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := guard.Compile(httpauth.FromRule(&annotations.Rule{Expr: tt.expr}))
			if !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile = %v, want an error wrapping ErrInvalidRule saying %q", err, tt.want)
			}
		})
	}
	t.Run("no engine", func(t *testing.T) {
		_, err := httpauth.New(m).Compile(httpauth.FromRule(&annotations.Rule{Expr: "path.owner == claims.sub"}))
		if !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), "WithExpressions(celexpr.New())") {
			t.Fatalf("Compile with no engine = %v, want an error saying to add WithExpressions(celexpr.New())", err)
		}
	})
}

// TestHTTPHandleWildcards: guard.Handle refuses, at registration, a route
// whose expr reads a path wildcard its pattern lacks, as it refuses a
// ClaimFromPath naming one; a wildcard tested with has() or in may be
// absent, and a pattern that has every wildcard read registers.
func TestHTTPHandleWildcards(t *testing.T) {
	guard := httpauth.New(newManager(t), httpauth.WithExpressions(celexpr.New()))
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	tests := []struct {
		pattern string
		expr    string
		panics  string // "" registers
	}{
		{"GET /users/{owner}", "path.owner == claims.sub", ""},
		{"GET /users/{owner}", "path.ownr == claims.sub", "reads path.ownr"},
		{"GET /users/{owner}", `path["ownr"] == claims.sub`, "reads path.ownr"},
		{"GET /users/{owner}", `path.owner == claims.sub && path.org == claims.org`, "reads path.org"},
		{"GET /docs", "path.owner == claims.sub", "reads path.owner, a wildcard the pattern does not have (it has none)"},
		{"GET /docs", "!has(path.org) || path.org == claims.org", ""},
		{"GET /docs", "!('org' in path) || path.org == claims.org", ""},
		{"GET /users/{owner}", "path[claims.key] == claims.sub", ""},             // not known when registered
		{"GET /docs", "claims.paths.exists(path, path.owner == claims.sub)", ""}, // a loop variable named path
		{"GET /users/{owner}/{rest...}", "path.rest.startsWith(path.owner)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.expr, func(t *testing.T) {
			var got string
			func() {
				defer func() {
					if r := recover(); r != nil {
						got = fmt.Sprint(r)
					}
				}()
				guard.Handle(http.NewServeMux(), tt.pattern, ok, httpauth.FromRule(&annotations.Rule{Expr: tt.expr}))
			}()
			switch {
			case tt.panics == "" && got != "":
				t.Fatalf("Handle panicked: %s", got)
			case tt.panics != "" && !strings.Contains(got, tt.panics):
				t.Fatalf("Handle panic %q, want one saying %q", got, tt.panics)
			}
		})
	}
	// Require has no pattern to check against: the read is an evaluation
	// error per request, as TestHTTP's "a wildcard the pattern lacks" shows.
	guard.Require(httpauth.FromRule(&annotations.Rule{Expr: "path.ownr == claims.sub"}))
}

// TestHTTPExprRequirement: httpauth.Expr puts an expression beside other
// requirements and in AnyOf alternatives, decided on a real server, and
// is refused when registered when it can't be used.
func TestHTTPExprRequirement(t *testing.T) {
	m := newManager(t)
	guard := httpauth.New(m, httpauth.WithExpressions(celexpr.New()))
	ran := 0
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran++
		tok, _ := manager.FromContext(r.Context())
		fmt.Fprint(w, tok.Subject)
	})
	mux := http.NewServeMux()
	guard.Handle(mux, "POST /orgs/{org}/invoices", hello,
		httpauth.Scopes("invoices:write"),
		httpauth.Expr("path.org == claims.org || 'billing-admin' in claims.roles"))
	guard.Handle(mux, "GET /orgs/{org}/report", hello,
		httpauth.AnyOf(
			[]httpauth.Requirement{httpauth.Claim("role", "auditor")},
			[]httpauth.Requirement{httpauth.Expr("path.org == claims.org")},
		))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	member := token(t, m, "alice", "invoices:write", map[string]any{"org": "acme", "roles": []string{"clerk"}})
	billing := token(t, m, "root", "invoices:write", map[string]any{"org": "other", "roles": []string{"billing-admin"}})
	readOnly := token(t, m, "bob", "invoices:read", map[string]any{"org": "acme"})
	auditor := token(t, m, "carol", nil, map[string]any{"role": "auditor"})
	noOrg := token(t, m, "dave", "invoices:write", nil)
	tests := []struct {
		name, method, path, token string
		wantStatus                int
		wantReason                string
	}{
		{"member of the org", http.MethodPost, "/orgs/acme/invoices", member, http.StatusOK, ""},
		{"billing admin of another org", http.MethodPost, "/orgs/acme/invoices", billing, http.StatusOK, ""},
		{"member of another org", http.MethodPost, "/orgs/globex/invoices", member, http.StatusForbidden, protojwt.ReasonExpressionFalse},
		{"scope before the expression", http.MethodPost, "/orgs/acme/invoices", readOnly, http.StatusForbidden, protojwt.ReasonScopeMissing},
		{"no org claim", http.MethodPost, "/orgs/acme/invoices", noOrg, http.StatusForbidden, protojwt.ReasonExpressionError},
		{"auditor: the claim alternative", http.MethodGet, "/orgs/globex/report", auditor, http.StatusOK, ""},
		{"member: the expression alternative", http.MethodGet, "/orgs/acme/report", member, http.StatusOK, ""},
		{"neither alternative", http.MethodGet, "/orgs/globex/report", member, http.StatusForbidden, protojwt.ReasonNoAlternative},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ran
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Reason string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.wantStatus || body.Reason != tt.wantReason {
				t.Fatalf("status %d reason %q, want %d %q", resp.StatusCode, body.Reason, tt.wantStatus, tt.wantReason)
			}
			if ranNow := ran - before; (tt.wantReason == "") != (ranNow == 1) {
				t.Fatalf("handler ran %d times", ranNow)
			}
		})
	}

	invalid := []struct {
		name  string
		guard *httpauth.Guard
		reqs  []httpauth.Requirement
		want  string
	}{
		{"empty", guard, []httpauth.Requirement{httpauth.Expr("")}, "empty expression"},
		{"twice", guard, []httpauth.Requirement{httpauth.Expr("true"), httpauth.Expr("false")}, "join the expressions with &&"},
		{"not bool", guard, []httpauth.Requirement{httpauth.Expr("path.org")}, "string, not bool"},
		{"no engine", httpauth.New(m), []httpauth.Requirement{httpauth.Expr("path.org == claims.org")}, "WithExpressions(celexpr.New())"},
		{"with FromRule", guard, []httpauth.Requirement{httpauth.Expr("true"), httpauth.FromRule(&annotations.Rule{})}, "FromRule must be the only requirement"},
	}
	for _, tt := range invalid {
		t.Run("invalid/"+tt.name, func(t *testing.T) {
			_, err := tt.guard.Compile(tt.reqs...)
			if !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile = %v, want an error wrapping ErrInvalidRule saying %q", err, tt.want)
			}
		})
	}
	t.Run("invalid/a wildcard the pattern lacks", func(t *testing.T) {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "reads path.org") {
				t.Fatalf("Handle panic %v, want one saying it reads path.org", r)
			}
		}()
		guard.Handle(http.NewServeMux(), "GET /invoices", hello, httpauth.Expr("path.org == claims.org"))
	})
}

// TestHTTPExtensionsBounded: with cel-go's string extensions, calls on
// path wildcards and claims at net/http's header limit are refused before
// they run, with EXPRESSION_ERROR, and the same calls on short inputs
// decide.
func TestHTTPExtensionsBounded(t *testing.T) {
	m := newManager(t)
	var mu sync.Mutex
	var last protojwt.Decision
	guard := httpauth.New(m, httpauth.WithExpressions(celexpr.New(celexpr.WithEnvOptions(ext.Strings()))),
		httpauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
			mu.Lock()
			last = d
			mu.Unlock()
		}))
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	rule := func(expr string) httpauth.Requirement { return httpauth.FromRule(&annotations.Rule{Expr: expr}) }
	mux := http.NewServeMux()
	mux.Handle("GET /render/{text}", guard.Require(rule("path.text.replace('{t}', claims.tenant).size() < 64"))(ok))
	mux.Handle("GET /split/{text}", guard.Require(rule("path.text.split('').size() < 64"))(ok))
	mux.Handle("GET /lower/{text}", guard.Require(rule("path.text.lowerAscii() == claims.tenant"))(ok))
	mux.Handle("GET /find/{text}/{sub}", guard.Require(rule("path.text.indexOf(path.sub) >= 0"))(ok))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	signed := token(t, m, "alice", nil, map[string]any{"tenant": strings.Repeat("x", 4000)})
	short := token(t, m, "alice", nil, map[string]any{"tenant": "acme"})
	const pathLimit = 1<<20 - 8<<10
	tests := []struct {
		name    string
		path    string
		token   string
		status  int
		refused string // the function Decision.Err names
	}{
		{"replace, short", "/render/" + url.PathEscape("{t}/docs"), short, http.StatusOK, ""},
		{"replace at the header limit", "/render/" + url.PathEscape(strings.Repeat("{t}", pathLimit/9)), signed, http.StatusForbidden, "replace()"},
		{"split, short", "/split/abc", short, http.StatusOK, ""},
		{"split at the header limit", "/split/" + hostileText(pathLimit), short, http.StatusForbidden, "split()"},
		{"lowerAscii, short", "/lower/ACME", short, http.StatusOK, ""},
		{"lowerAscii at the header limit", "/lower/" + hostileText(pathLimit), short, http.StatusForbidden, "lowerAscii()"},
		{"indexOf, short", "/find/abcd/cd", short, http.StatusOK, ""},
		{"indexOf at the header limit", "/find/" + hostileText(pathLimit/2) + "/" + hostileText(pathLimit/4) + "b", short, http.StatusForbidden, "indexOf()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.refused == "" {
				return
			}
			var body struct{ Reason string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Reason != protojwt.ReasonExpressionError {
				t.Fatalf("reason %q (%v), want %s", body.Reason, err, protojwt.ReasonExpressionError)
			}
			mu.Lock()
			d := last
			mu.Unlock()
			if d.Err == nil || !strings.Contains(d.Err.Error(), tt.refused+" would exceed the cost limit") {
				t.Fatalf("Decision.Err %v: want %s refused before it ran", d.Err, tt.refused)
			}
		})
	}
}
