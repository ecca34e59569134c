package rules_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// token returns a verified token of type typ with the claims and scope.
func token(typ manager.TokenType, scope any, claims map[string]any) *manager.Token {
	c := map[string]any{"sub": "alice", "type": string(typ)}
	for k, v := range claims {
		c[k] = v
	}
	if scope != nil {
		c["scope"] = scope
	}
	return &manager.Token{Type: typ, Subject: "alice", Scope: scope, Claims: c}
}

// varsOf returns the request variables of r by name; a name missing from
// values is absent.
func varsOf(r *rules.Rule, values map[string]rules.Value) rules.Vars {
	return rules.VarFunc(func(i int) (rules.Value, bool) {
		v, ok := values[r.Vars()[i]]
		return v, ok
	})
}

func mustCompile(t testing.TB, s rules.Spec) *rules.Rule {
	t.Helper()
	r, err := rules.Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r
}

// TestCheck runs every step of a rule, each alone and in the order that
// decides when several fail: token type, claims, scope, scopes, any_of.
func TestCheck(t *testing.T) {
	auth := manager.Auth
	literal := func(name string, v any) rules.Spec {
		return rules.Spec{Claims: map[string]rules.Match{name: {Value: v}}}
	}
	bound := func(name, v string) rules.Spec {
		return rules.Spec{Claims: map[string]rules.Match{name: {Var: v}}}
	}
	everything := rules.Spec{
		TokenType: manager.Refresh,
		Claims:    map[string]rules.Match{"role": {Value: "admin"}},
		Scope:     map[string]any{"admin": true},
		Scopes:    []string{"read"},
		AnyOf:     []rules.Spec{{Claims: map[string]rules.Match{"team": {Value: "red"}}}},
	}
	allOK := map[string]any{"role": "admin", "team": "red"}
	allScope := map[string]any{"admin": true, "read": true}

	tests := []struct {
		name       string
		spec       rules.Spec
		tok        *manager.Token
		vars       map[string]rules.Value // nil: Check with rules.Deferred
		wantErr    error
		wantReason string
	}{
		{name: "public/no token", spec: rules.Spec{Public: true}},
		{name: "empty rule/auth token", spec: rules.Spec{}, tok: token(auth, nil, nil)},
		{name: "empty rule/no token", spec: rules.Spec{}, wantErr: manager.ErrNoToken, wantReason: protojwt.ReasonTokenMissing},
		{name: "empty rule/refresh token", spec: rules.Spec{}, tok: token(manager.Refresh, nil, nil), wantErr: manager.ErrTokenType, wantReason: protojwt.ReasonTokenType},
		{name: "empty rule/untyped token", spec: rules.Spec{}, tok: token("", nil, nil), wantErr: manager.ErrTokenType, wantReason: protojwt.ReasonTokenType},
		{name: "refresh rule/refresh token", spec: rules.Spec{TokenType: manager.Refresh}, tok: token(manager.Refresh, nil, nil)},
		{name: "refresh rule/auth token", spec: rules.Spec{TokenType: manager.Refresh}, tok: token(auth, nil, nil), wantErr: manager.ErrTokenType, wantReason: protojwt.ReasonTokenType},

		// claims = literals
		{name: "literal/string", spec: literal("role", "admin"), tok: token(auth, nil, map[string]any{"role": "admin"})},
		{name: "literal/string other", spec: literal("role", "admin"), tok: token(auth, nil, map[string]any{"role": "user"}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "literal/missing", spec: literal("role", "admin"), tok: token(auth, nil, nil), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "literal/null claim", spec: literal("role", "admin"), tok: token(auth, nil, map[string]any{"role": nil}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "literal/number", spec: literal("level", 3), tok: token(auth, nil, map[string]any{"level": 3.0})},
		{name: "literal/number as string", spec: literal("level", 3), tok: token(auth, nil, map[string]any{"level": "3"}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "literal/bool", spec: literal("ok", true), tok: token(auth, nil, map[string]any{"ok": true})},
		{name: "literal/bool as number", spec: literal("ok", true), tok: token(auth, nil, map[string]any{"ok": 1.0}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "literal/object", spec: literal("o", map[string]any{"a": []any{1, "x"}}), tok: token(auth, nil, map[string]any{"o": map[string]any{"a": []any{1.0, "x"}}})},
		{name: "literal/object superset", spec: literal("o", map[string]any{"a": 1}), tok: token(auth, nil, map[string]any{"o": map[string]any{"a": 1.0, "b": 2.0}}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "literal/all claims", spec: rules.Spec{Claims: map[string]rules.Match{"a": {Value: 1}, "b": {Value: 2}}}, tok: token(auth, nil, map[string]any{"a": 1.0, "b": 3.0}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},

		// claims = request variables
		{name: "var/string", spec: bound("sub", "username"), tok: token(auth, nil, nil), vars: map[string]rules.Value{"username": rules.String("alice")}},
		{name: "var/other", spec: bound("sub", "username"), tok: token(auth, nil, nil), vars: map[string]rules.Value{"username": rules.String("bob")}, wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "var/absent", spec: bound("sub", "username"), tok: token(auth, nil, nil), vars: map[string]rules.Value{}, wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "var/claim missing", spec: bound("acct", "id"), tok: token(auth, nil, nil), vars: map[string]rules.Value{"id": rules.Number(1)}, wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "var/number", spec: bound("acct", "id"), tok: token(auth, nil, map[string]any{"acct": 42.0}), vars: map[string]rules.Value{"id": rules.Number(42)}},
		{name: "var/string of number", spec: bound("acct", "id"), tok: token(auth, nil, map[string]any{"acct": 42.0}), vars: map[string]rules.Value{"id": rules.String("42")}},
		{name: "var/bool", spec: bound("ok", "flag"), tok: token(auth, nil, map[string]any{"ok": true}), vars: map[string]rules.Value{"flag": rules.Bool(true)}},
		{name: "var/deferred", spec: bound("sub", "username"), tok: token(auth, nil, nil)},
		{name: "var/deferred, literal checked", spec: rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "u"}, "role": {Value: "admin"}}}, tok: token(auth, nil, nil), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "var/deferred, scope checked", spec: rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "u"}}, Scopes: []string{"x"}}, tok: token(auth, nil, nil), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},

		// scope containment
		{name: "scope/contained", spec: rules.Spec{Scope: map[string]any{"a": map[string]any{"b": 1}}}, tok: token(auth, map[string]any{"a": map[string]any{"b": 1.0, "c": 2.0}, "d": 3.0}, nil)},
		{name: "scope/missing key", spec: rules.Spec{Scope: map[string]any{"a": true}}, tok: token(auth, map[string]any{"b": true}, nil), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},
		{name: "scope/none", spec: rules.Spec{Scope: map[string]any{"a": true}}, tok: token(auth, nil, nil), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},
		{name: "scope/array subset", spec: rules.Spec{Scope: []string{"b", "a"}}, tok: token(auth, []any{"a", "b", "c"}, nil)},
		{name: "scope/array not subset", spec: rules.Spec{Scope: []string{"b", "z"}}, tok: token(auth, []any{"a", "b", "c"}, nil), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},
		{name: "scope/scalar", spec: rules.Spec{Scope: "admin"}, tok: token(auth, "admin", nil)},
		{name: "scope/scalar other", spec: rules.Spec{Scope: "admin"}, tok: token(auth, "admin read", nil), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},

		// OAuth scopes
		{name: "scopes/string", spec: rules.Spec{Scopes: []string{"read", "write"}}, tok: token(auth, "write read", nil)},
		{name: "scopes/array", spec: rules.Spec{Scopes: []string{"read", "write"}}, tok: token(auth, []any{"read", "write"}, nil)},
		{name: "scopes/object", spec: rules.Spec{Scopes: []string{"read", "write"}}, tok: token(auth, map[string]any{"read": true, "write": "yes"}, nil)},
		{name: "scopes/one missing", spec: rules.Spec{Scopes: []string{"read", "write"}}, tok: token(auth, "read", nil), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},

		// any_of
		{name: "any_of/first", spec: rules.Spec{AnyOf: []rules.Spec{literal("role", "admin"), bound("sub", "owner")}}, tok: token(auth, nil, map[string]any{"role": "admin"}), vars: map[string]rules.Value{"owner": rules.String("bob")}},
		{name: "any_of/second", spec: rules.Spec{AnyOf: []rules.Spec{literal("role", "admin"), bound("sub", "owner")}}, tok: token(auth, nil, nil), vars: map[string]rules.Value{"owner": rules.String("alice")}},
		{name: "any_of/none", spec: rules.Spec{AnyOf: []rules.Spec{literal("role", "admin"), bound("sub", "owner")}}, tok: token(auth, nil, nil), vars: map[string]rules.Value{"owner": rules.String("bob")}, wantErr: manager.ErrClaim, wantReason: protojwt.ReasonNoAlternative},
		{name: "any_of/deferred holds", spec: rules.Spec{AnyOf: []rules.Spec{literal("role", "admin"), bound("sub", "owner")}}, tok: token(auth, nil, nil)},
		{name: "any_of/nested", spec: rules.Spec{AnyOf: []rules.Spec{{AnyOf: []rules.Spec{literal("a", 1), literal("b", 1)}}}}, tok: token(auth, nil, map[string]any{"b": 1.0})},
		{name: "any_of/nested none", spec: rules.Spec{AnyOf: []rules.Spec{{AnyOf: []rules.Spec{literal("a", 1), literal("b", 1)}}}}, tok: token(auth, nil, nil), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonNoAlternative},
		{name: "any_of/scope in alternative", spec: rules.Spec{AnyOf: []rules.Spec{{Scopes: []string{"x"}}, {Scope: map[string]any{"y": true}}}}, tok: token(auth, map[string]any{"y": true}, nil)},

		// order: the first failing step decides
		{name: "order/all pass", spec: everything, tok: token(manager.Refresh, allScope, allOK)},
		{name: "order/type before claims", spec: everything, tok: token(auth, nil, nil), wantErr: manager.ErrTokenType, wantReason: protojwt.ReasonTokenType},
		{name: "order/claims before scope", spec: everything, tok: token(manager.Refresh, nil, map[string]any{"team": "blue"}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonClaimMismatch},
		{name: "order/scope before any_of", spec: everything, tok: token(manager.Refresh, map[string]any{"read": true}, map[string]any{"role": "admin"}), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},
		{name: "order/scopes before any_of", spec: everything, tok: token(manager.Refresh, map[string]any{"admin": true}, map[string]any{"role": "admin"}), wantErr: manager.ErrScope, wantReason: protojwt.ReasonScopeMissing},
		{name: "order/any_of last", spec: everything, tok: token(manager.Refresh, allScope, map[string]any{"role": "admin"}), wantErr: manager.ErrClaim, wantReason: protojwt.ReasonNoAlternative},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, tt.spec)
			vars := rules.Deferred
			if tt.vars != nil {
				vars = varsOf(r, tt.vars)
			}
			err := r.Check(tt.tok, vars)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
			if _, reason := rules.Classify(err); reason != tt.wantReason {
				t.Errorf("reason = %s, want %s", reason, tt.wantReason)
			}
		})
	}
}

// TestCheckWithoutToken is the one place that decides what a call with no
// token gets: allowed by a public rule or one that allows a missing token,
// refused with ErrNoToken by any other.
func TestCheckWithoutToken(t *testing.T) {
	alice := token(manager.Auth, nil, map[string]any{"role": "admin"})
	optional := mustCompile(t, rules.Spec{AllowMissing: true, Claims: map[string]rules.Match{"role": {Value: "admin"}}})
	tests := []struct {
		name    string
		r       *rules.Rule
		tok     *manager.Token
		wantErr error
	}{
		{name: "public, no token", r: mustCompile(t, rules.Spec{Public: true})},
		{name: "public ignores a token", r: mustCompile(t, rules.Spec{Public: true}), tok: token(manager.Refresh, nil, nil)},
		{name: "required, no token", r: mustCompile(t, rules.Spec{}), wantErr: manager.ErrNoToken},
		{name: "claims, no token", r: mustCompile(t, rules.Spec{Claims: map[string]rules.Match{"role": {Value: "admin"}}}), wantErr: manager.ErrNoToken},
		{name: "allow_missing, no token", r: optional},
		{name: "allow_missing, a token that holds", r: optional, tok: alice},
		{name: "allow_missing, a token that does not hold", r: optional, tok: token(manager.Auth, nil, map[string]any{"role": "user"}), wantErr: manager.ErrClaim},
		{name: "allow_missing, a refresh token", r: optional, tok: token(manager.Refresh, nil, map[string]any{"role": "admin"}), wantErr: manager.ErrTokenType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Check(tt.tok, rules.Vars{})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Check = %v, want nil", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestClassify maps every sentinel, wrapped or not, to its denial.
func TestClassify(t *testing.T) {
	tests := []struct {
		err        error
		wantKind   rules.Denial
		wantReason string
	}{
		{manager.ErrNoToken, rules.Unauthenticated, protojwt.ReasonTokenMissing},
		{manager.ErrMalformed, rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{manager.ErrSignature, rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{manager.ErrAlgorithm, rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{manager.ErrExpired, rules.Unauthenticated, protojwt.ReasonTokenExpired},
		{manager.ErrNotYetValid, rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{manager.ErrIssuer, rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{manager.ErrAudience, rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{manager.ErrRevoked, rules.Unauthenticated, protojwt.ReasonTokenRevoked},
		{manager.ErrTokenType, rules.Unauthenticated, protojwt.ReasonTokenType},
		{manager.ErrClaim, rules.PermissionDenied, protojwt.ReasonClaimMismatch},
		{manager.ErrScope, rules.PermissionDenied, protojwt.ReasonScopeMissing},
		{rules.ErrNotDeclared, rules.PermissionDenied, protojwt.ReasonMethodNotDeclared},
		{manager.ErrRevocationUnavailable, rules.Unavailable, protojwt.ReasonRevocationUnavailable},
		{fmt.Errorf("%w: %w", manager.ErrRevocationUnavailable, errors.New("dial tcp: refused")), rules.Unavailable, protojwt.ReasonRevocationUnavailable},
		{manager.ErrKeysUnavailable, rules.Unavailable, protojwt.ReasonKeysUnavailable},
		{fmt.Errorf("manager: verify: keys of a fetch too old: %w", manager.ErrKeysUnavailable), rules.Unavailable, protojwt.ReasonKeysUnavailable},
		{manager.ErrRefreshReuse, rules.Unauthenticated, protojwt.ReasonTokenRevoked},
		{bearer.ErrRequest, rules.Unauthenticated, protojwt.ReasonRequestMalformed},
		{fmt.Errorf("reading: %w", bearer.RequestErrors()[0]), rules.Unauthenticated, protojwt.ReasonRequestMalformed},
		{dpop.ErrProofMissing, rules.Unauthenticated, protojwt.ReasonProofMissing},
		{fmt.Errorf("%w: no DPoP proof", dpop.ErrProofMissing), rules.Unauthenticated, protojwt.ReasonProofMissing},
		{dpop.ErrProofInvalid, rules.Unauthenticated, protojwt.ReasonProofInvalid},
		{fmt.Errorf("%w: %w: stale", dpop.ErrProofInvalid, dpop.ErrUseNonce), rules.Unauthenticated, protojwt.ReasonProofInvalid},
		{errors.New("something else"), rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{fmt.Errorf("verify: %w", manager.ErrExpired), rules.Unauthenticated, protojwt.ReasonTokenExpired},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", manager.ErrScope)), rules.PermissionDenied, protojwt.ReasonScopeMissing},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			kind, reason := rules.Classify(tt.err)
			if kind != tt.wantKind || reason != tt.wantReason {
				t.Errorf("Classify = %v, %s; want %v, %s", kind, reason, tt.wantKind, tt.wantReason)
			}
			if !denial.Known(reason) {
				t.Errorf("reason %s has no description", reason)
			}
			if code := denial.Of(reason).Code; code != codeOfKind[kind] {
				t.Errorf("denial table code of %s = %d, want %d for %v", reason, code, codeOfKind[kind], kind)
			}
		})
	}
}

// TestCheckAllocs pins the zero-allocation hot path.
func TestCheckAllocs(t *testing.T) {
	r := mustCompile(t, rules.Spec{
		Claims: map[string]rules.Match{"role": {Value: "admin"}, "sub": {Var: "username"}, "acct": {Var: "id"}},
		Scope:  map[string]any{"admin": true, "projects": []any{"a"}},
		Scopes: []string{"read", "write"},
		AnyOf:  []rules.Spec{{Claims: map[string]rules.Match{"x": {Value: 1}}}, {Claims: map[string]rules.Match{"sub": {Var: "username"}}}},
	})
	tok := token(manager.Auth, map[string]any{"admin": true, "projects": []any{"b", "a"}, "read": true, "write": true},
		map[string]any{"role": "admin", "acct": 42.0})
	vars := varsOf(r, map[string]rules.Value{"username": rules.String("alice"), "id": rules.String("42")})
	if err := r.Check(tok, vars); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.Check(tok, vars) }); n != 0 {
		t.Errorf("Check allocates %.0f times, want 0", n)
	}
	denied := token(manager.Auth, "read", nil)
	if n := testing.AllocsPerRun(100, func() { _ = r.Check(denied, vars) }); n != 0 {
		t.Errorf("a denying Check allocates %.0f times, want 0", n)
	}
}

// TestRuleConcurrent checks one compiled rule from many goroutines.
func TestRuleConcurrent(t *testing.T) {
	r := mustCompile(t, rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "u"}}, Scopes: []string{"read"}})
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			user := "alice"
			if g%2 == 1 {
				user = "bob"
			}
			err := r.Check(token(manager.Auth, "read", nil), varsOf(r, map[string]rules.Value{"u": rules.String(user)}))
			if (err == nil) != (user == "alice") {
				t.Errorf("Check for %s = %v", user, err)
			}
		})
	}
	wg.Wait()
}

// codeOfKind is the code of the denial table for each kind of denial.
var codeOfKind = map[rules.Denial]denial.Code{
	rules.Unauthenticated:  denial.Unauthenticated,
	rules.PermissionDenied: denial.PermissionDenied,
	rules.Unavailable:      denial.Unavailable,
}
