package httpauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/httpauth"
)

// checkPanics fails t unless f panics with a message that holds want.
func checkPanics(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one saying %q", want)
			return
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Errorf("panic %q, want it to say %q", msg, want)
		}
	}()
	f()
}

func TestHandleChecksWildcardsAgainstThePattern(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m)
	field := func(path string) *annotations.Match {
		return &annotations.Match{Kind: &annotations.Match_Field{Field: path}}
	}
	tests := []struct {
		name    string
		pattern string
		reqs    []httpauth.Requirement
		want    string
	}{
		{"misspelled wildcard", "GET /users/{username}", []httpauth.Requirement{httpauth.ClaimFromPath("sub", "usename")},
			"path wildcard {usename}, which the pattern does not have (it has {username})"},
		{"pattern without wildcards", "GET /me", []httpauth.Requirement{httpauth.ClaimFromPath("sub", "username")},
			"{username}, which the pattern does not have (it has none)"},
		{"wildcard in an alternative", "GET /teams/{team}", []httpauth.Requirement{httpauth.AnyOf(
			[]httpauth.Requirement{httpauth.Scopes("admin")},
			[]httpauth.Requirement{httpauth.ClaimFromPath("team", "teamid")},
		)}, "{teamid}"},
		{"FromRule field not in the pattern", "GET /orders/{id}", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{
			Claims: map[string]*annotations.Match{"sub": field("owner")},
		})}, "{owner}"},
		{"FromRule check field not in the pattern", "GET /orders/{id}", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{
			Check: []*annotations.ClaimCheck{{Claim: []string{"tenant"}, Test: &annotations.ClaimCheck_Equals{Equals: field("tenant_id")}}},
		})}, "{tenant_id}"},
		{"FromRule nested field path", "GET /orders/{owner}", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{
			Claims: map[string]*annotations.Match{"sub": field("owner.id")},
		})}, `"owner.id" can't be a ServeMux path wildcard`},
		{"ClaimFromPath of a name no wildcard can have", "GET /x/{a}", []httpauth.Requirement{httpauth.ClaimFromPath("sub", "a-b")},
			`"a-b" can't be a ServeMux path wildcard`},
		{"wildcard of the host", "GET example.com/{sub}", []httpauth.Requirement{httpauth.ClaimFromPath("sub", "user")}, "{user}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			checkPanics(t, "httpauth: Handle "+tc.pattern+": ", func() { g.Handle(mux, tc.pattern, echo, tc.reqs...) })
			checkPanics(t, tc.want, func() { g.Handle(mux, tc.pattern, echo, tc.reqs...) })
			checkPanics(t, tc.want, func() { g.HandleFunc(mux, tc.pattern, echo.ServeHTTP, tc.reqs...) })
			if w := (request{target: "/users/alice"}).serve(mux); w.Code != http.StatusNotFound {
				t.Errorf("the refused route answers %d, want 404", w.Code)
			}
		})
	}
}

func TestHandleRegistersCheckedRoutes(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m)
	mux := http.NewServeMux()
	g.Handle(mux, "GET /users/{username}", echo, httpauth.ClaimFromPath("sub", "username"))
	g.HandleFunc(mux, "GET /files/{owner}/{path...}", echo.ServeHTTP, httpauth.FromRule(&annotations.Rule{
		Claims: map[string]*annotations.Match{"sub": {Kind: &annotations.Match_Field{Field: "owner"}}},
	}))
	g.Handle(mux, "GET /health", echo, httpauth.Public())
	g.Handle(mux, "GET /me", echo)

	alice := bearer(authToken(t, m, "alice", nil, nil))
	checkAllowed(t, request{target: "/users/alice", auth: alice}.serve(mux), "alice auth")
	checkRefused(t, request{target: "/users/bob", auth: alice}.serve(mux), "CLAIM_MISMATCH")
	checkRefused(t, request{target: "/users/alice"}.serve(mux), "TOKEN_MISSING")
	checkAllowed(t, request{target: "/files/alice/a/b.txt", auth: alice}.serve(mux), "alice auth")
	checkRefused(t, request{target: "/files/bob/a/b.txt", auth: alice}.serve(mux), "CLAIM_MISMATCH")
	checkAllowed(t, request{target: "/health"}.serve(mux), "anonymous")
	checkAllowed(t, request{target: "/me", auth: alice}.serve(mux), "alice auth")
	checkRefused(t, request{target: "/me"}.serve(mux), "TOKEN_MISSING")
}

func TestHandleRefusesNils(t *testing.T) {
	g := httpauth.New(newManager(t))
	mux := http.NewServeMux()
	checkPanics(t, "httpauth: Handle GET /a: nil ServeMux", func() { g.Handle(nil, "GET /a", echo) })
	checkPanics(t, "httpauth: Handle GET /a: nil handler", func() { g.Handle(mux, "GET /a", nil) })
	checkPanics(t, "httpauth: HandleFunc GET /a: nil handler", func() { g.HandleFunc(mux, "GET /a", nil) })
	// A bad pattern panics as ServeMux.Handle does.
	checkPanics(t, "GET /{", func() { g.Handle(mux, "GET /{", echo) })
	// A nil Guard has no verifier: public routes only.
	var none *httpauth.Guard
	checkPanics(t, "no verifier", func() { none.Handle(mux, "GET /b", echo) })
	none.Handle(mux, "GET /c", echo, httpauth.Public())
	checkAllowed(t, request{target: "/c"}.serve(mux), "anonymous")
}

// With WithPathValue, the router's wildcards may be named as it likes;
// Compile accepts them. Handle, for ServeMux, still needs the pattern to
// have them.
func TestCustomPathValueNames(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m, httpauth.WithPathValue(func(r *http.Request, name string) string {
		return r.Header.Get("X-Route-" + name)
	}))
	mw, err := g.Compile(httpauth.ClaimFromPath("sub", "owner.id"))
	if err != nil {
		t.Fatalf("Compile with a custom path value: %v", err)
	}
	h := mw(echo)
	r := request{target: "/", auth: bearer(authToken(t, m, "alice", nil, nil))}
	checkRefused(t, r.serve(h), "CLAIM_MISMATCH")
	w := serveWithHeader(h, r, "X-Route-owner.id", "alice")
	checkAllowed(t, w, "alice auth")
	checkPanics(t, "{owner.id}", func() {
		g.Handle(http.NewServeMux(), "GET /x/{owner}", echo, httpauth.ClaimFromPath("sub", "owner.id"))
	})
}

// serveWithHeader serves q to h with the header name set to value.
func serveWithHeader(h http.Handler, q request, name, value string) *httptest.ResponseRecorder {
	method := q.method
	if method == "" {
		method = http.MethodGet
	}
	r := httptest.NewRequest(method, q.target, nil)
	for _, v := range q.auth {
		r.Header.Add("Authorization", v)
	}
	for _, c := range q.cookies {
		r.AddCookie(c)
	}
	r.Header.Set(name, value)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
