package httpauth_test

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// nestedAnyOf returns depth AnyOf requirements, each the only alternative of
// the one around it.
func nestedAnyOf(depth int) httpauth.Requirement {
	r := httpauth.Scopes("read")
	for range depth {
		r = httpauth.AnyOf([]httpauth.Requirement{r})
	}
	return r
}

func TestInvalidRequirements(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m)
	admin := map[string]any{"admin": true}
	claimField := func(field string) *annotations.Match {
		return &annotations.Match{Kind: &annotations.Match_Field{Field: field}}
	}
	tests := []struct {
		name string
		reqs []httpauth.Requirement
		want string // in the error's message
	}{
		{"public and claim", []httpauth.Requirement{httpauth.Public(), httpauth.Claim("sub", "alice")}, "public"},
		{"public and token type", []httpauth.Requirement{httpauth.TokenType(manager.Auth), httpauth.Public()}, "public"},
		{"public and scopes", []httpauth.Requirement{httpauth.Public(), httpauth.Scopes("read")}, "public"},
		{"two token types", []httpauth.Requirement{httpauth.TokenType(manager.Auth), httpauth.TokenType(manager.Refresh)}, "token types"},
		{"unknown token type", []httpauth.Requirement{httpauth.TokenType("admin")}, "token type"},
		{"empty token type", []httpauth.Requirement{httpauth.TokenType("")}, "empty type"},
		{"claim of nil", []httpauth.Requirement{httpauth.Claim("sub", nil)}, "no value"},
		{"claim without name", []httpauth.Requirement{httpauth.Claim("", "alice")}, "empty claim name"},
		{"claim of NaN", []httpauth.Requirement{httpauth.Claim("n", math.NaN())}, "finite"},
		{"claim not JSON", []httpauth.Requirement{httpauth.Claim("c", make(chan int))}, "JSON"},
		{"claim twice", []httpauth.Requirement{httpauth.Claim("sub", "alice"), httpauth.Claim("sub", "alice")}, "twice"},
		{"claim literal and path", []httpauth.Requirement{httpauth.Claim("sub", "alice"), httpauth.ClaimFromPath("sub", "user")}, "twice"},
		{"claim from empty wildcard", []httpauth.Requirement{httpauth.ClaimFromPath("sub", "")}, "no wildcard"},
		{"claim from path without name", []httpauth.Requirement{httpauth.ClaimFromPath("", "user")}, "empty claim name"},
		{"scope nil", []httpauth.Requirement{httpauth.Scope(nil)}, "empty map"},
		{"scope empty", []httpauth.Requirement{httpauth.Scope(map[string]any{})}, "empty map"},
		{"scope twice", []httpauth.Requirement{httpauth.Scope(admin), httpauth.Scope(map[string]any{"team": "ops"})}, "twice"},
		{"scope not JSON", []httpauth.Requirement{httpauth.Scope(map[string]any{"f": func() {}})}, "JSON"},
		{"scopes of nothing", []httpauth.Requirement{httpauth.Scopes()}, "no names"},
		{"scopes with empty name", []httpauth.Requirement{httpauth.Scopes("read", "")}, "scope name"},
		{"scopes with space", []httpauth.Requirement{httpauth.Scopes("read write")}, "scope name"},
		{"any of nothing", []httpauth.Requirement{httpauth.AnyOf()}, "no alternatives"},
		{"any of an empty alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.Scopes("a")}, nil)}, "alternative 1 is empty"},
		{"any of twice", []httpauth.Requirement{
			httpauth.AnyOf([]httpauth.Requirement{httpauth.Scopes("a")}),
			httpauth.AnyOf([]httpauth.Requirement{httpauth.Scopes("b")}),
		}, "twice"},
		{"public alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.Public()})}, "public"},
		{"token type alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.TokenType(manager.Refresh)})}, "token type"},
		{"proto rule alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.FromRule(&annotations.Rule{})})}, "only requirement"},
		{"invalid alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.Scopes("a")}, []httpauth.Requirement{httpauth.Claim("x", nil)})}, `claim "x" has no value`},
		{"alternatives too deep", []httpauth.Requirement{nestedAnyOf(9)}, "deeper"},
		{"proto rule nil", []httpauth.Requirement{httpauth.FromRule(nil)}, "nil rule"},
		{"proto rule and claim", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{}), httpauth.Claim("sub", "alice")}, "only requirement"},
		{"claim and proto rule", []httpauth.Requirement{httpauth.Claim("sub", "alice"), httpauth.FromRule(&annotations.Rule{})}, "only requirement"},
		{"proto rule public and scopes", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Public: true, Scopes: []string{"x"}})}, "public"},
		{"proto rule empty field", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Claims: map[string]*annotations.Match{"sub": claimField("")}})}, "empty field"},
		{"proto rule match without kind", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Claims: map[string]*annotations.Match{"sub": {}}})}, "no value"},
		{"proto rule unknown token type", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{TokenType: 7})}, "token_type"},
		{"zero requirement", []httpauth.Requirement{httpauth.Scopes("a"), {}}, "zero Requirement"},
	}
	valid := bearer(authToken(t, m, "alice", "read a b", map[string]any{"x": 1}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := g.Compile(tc.reqs...)
			if !errors.Is(err, protojwt.ErrInvalidRule) {
				t.Fatalf("Compile error = %v, want one wrapping ErrInvalidRule", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %q, want it to say %q", err, tc.want)
			}
			if mw != nil {
				t.Error("Compile returned middleware with an error")
			}
			// Require and Handle refuse them when the route is registered.
			checkPanics(t, "httpauth: Require: "+err.Error(), func() { g.Require(tc.reqs...) })
			mux := http.NewServeMux()
			checkPanics(t, "httpauth: Handle GET /x/{user}: "+err.Error(), func() { g.Handle(mux, "GET /x/{user}", echo, tc.reqs...) })
			if w := (request{target: "/x/alice", auth: valid}).serve(mux); w.Code != http.StatusNotFound {
				t.Errorf("after the panic the route answers %d, want 404: registered though invalid", w.Code)
			}
		})
	}
}

func TestValidCombinations(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m)
	tests := []struct {
		name string
		reqs []httpauth.Requirement
	}{
		{"none", nil},
		{"public twice", []httpauth.Requirement{httpauth.Public(), httpauth.Public()}},
		{"same token type twice", []httpauth.Requirement{httpauth.TokenType(manager.Refresh), httpauth.TokenType(manager.Refresh)}},
		{"scopes twice", []httpauth.Requirement{httpauth.Scopes("a"), httpauth.Scopes("b")}},
		{"everything", []httpauth.Requirement{
			httpauth.TokenType(manager.Auth),
			httpauth.Claim("tenant", "acme"),
			httpauth.ClaimFromPath("sub", "user"),
			httpauth.Scope(map[string]any{"admin": true}),
			httpauth.Scopes("read"),
			httpauth.AnyOf([]httpauth.Requirement{httpauth.Claim("tier", "gold")}, []httpauth.Requirement{nestedAnyOf(6)}),
		}},
		{"proto rule", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Public: true})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := g.Compile(tc.reqs...)
			if err != nil || mw == nil {
				t.Fatalf("Compile = %v, %v", mw != nil, err)
			}
		})
	}
}

// A Guard without a verifier, or a nil Guard, can serve public routes only.
func TestWithoutManager(t *testing.T) {
	for name, g := range map[string]*httpauth.Guard{"nil verifier": httpauth.New(nil), "nil guard": nil} {
		t.Run(name, func(t *testing.T) {
			if _, err := g.Compile(); !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), "no verifier") {
				t.Errorf("Compile() error = %v, want ErrInvalidRule naming the verifier", err)
			}
			checkPanics(t, "no verifier", func() { g.Require() })
			checkPanics(t, "no verifier", func() { g.Require(httpauth.Scopes("a")) })
			checkPanics(t, "public", func() { g.Require(httpauth.Public(), httpauth.Scopes("a")) })
			if _, err := g.Compile(httpauth.Public()); err != nil {
				t.Errorf("Compile(Public()) = %v", err)
			}
			checkAllowed(t, request{target: "/"}.serve(g.Require(httpauth.Public())(echo)), "anonymous")
		})
	}
}

func TestNilHandler(t *testing.T) {
	m := newManager(t)
	g := httpauth.New(m)
	for name, reqs := range map[string][]httpauth.Requirement{"token": nil, "public": {httpauth.Public()}} {
		t.Run(name, func(t *testing.T) {
			mw, err := g.Compile(reqs...)
			if err != nil {
				t.Fatal(err)
			}
			checkPanics(t, "httpauth: nil handler", func() { mw(nil) })
			checkPanics(t, "httpauth: nil handler", func() { g.Require(reqs...)(nil) })
		})
	}
}
