package rules_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// FuzzCheck runs rules of every kind over arbitrary claims (JSON text, its
// "scope" the token's scope) and request variables: Check never panics, and
// answers the same twice.
func FuzzCheck(f *testing.F) {
	seeds := []struct{ claims, v string }{
		{`{"sub":"alice","role":"admin","level":3,"ok":true,"scope":"read write"}`, "alice"},
		{`{"sub":42,"scope":{"admin":true,"projects":["a","b"]}}`, "42"},
		{`{"sub":true,"scope":["read","write"]}`, "true"},
		{`{"sub":1e21,"role":["admin"],"scope":{"read":1,"write":""}}`, "1e+21"},
		{`{"sub":null,"scope":null}`, ""},
		{`{"scope":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`, "x"},
		{`{"scope":{"admin":{"admin":{"admin":{"admin":{}}}}}}`, "admin"},
		{`[]`, "-0"},
		{`{"realm_access":{"roles":["orders-admin"]},"tier":"gold","email":"a@acme.example","tid":"t","perms":{"orders":["read"]}}`, "orders-admin"},
		{`{"id":1234567890123456789,"ids":[1234567890123456788,1234567890123456789],"realm_access":"admin"}`, "1234567890123456789"},
		{`{"https://acme.example/roles":["billing"],"a.b":"x","a":{"b":null},"act":null}`, "billing"},
		{`{"tier":3,"email":["a@acme.example"],"realm_access":{"roles":{"0":"orders-admin"}}}`, "3"},
	}
	for _, s := range seeds {
		f.Add(s.claims, s.v)
	}
	specs := []rules.Spec{
		{},
		{TokenType: manager.Refresh},
		{Claims: map[string]rules.Match{"role": {Value: "admin"}, "level": {Value: 3}, "ok": {Value: true}}},
		{Claims: map[string]rules.Match{"role": {Value: []any{"admin", map[string]any{"x": nil}}}}},
		{Claims: map[string]rules.Match{"sub": {Var: "v"}}},
		{Scope: map[string]any{"admin": true, "projects": []any{"a", map[string]any{"id": 1}}}},
		{Scope: []any{[]any{"x"}}},
		{Scope: "read"},
		{Scopes: []string{"read", "write"}},
		{AnyOf: []rules.Spec{{Claims: map[string]rules.Match{"sub": {Var: "v"}}}, {Scopes: []string{"admin"}}, {AnyOf: []rules.Spec{{Scope: map[string]any{"admin": map[string]any{}}}}}}},
		{Checks: []rules.Check{
			{Path: []string{"realm_access", "roles"}, Op: rules.OpContains, Match: rules.Match{Value: "orders-admin"}},
			{Path: []string{"tier"}, Op: rules.OpIn, Values: []any{"gold", 3}},
			{Path: []string{"email"}, Op: rules.OpSuffix, Text: "@acme.example"},
			{Path: []string{"email"}, Op: rules.OpPrefix, Text: "a"},
			{Path: []string{"perms"}, Op: rules.OpIncludes, Value: map[string]any{"orders": []any{"read"}}},
			{Path: []string{"tid"}, Op: rules.OpPresent, Present: true},
			{Path: []string{"act"}, Op: rules.OpPresent},
		}},
		{Checks: []rules.Check{{Path: []string{"id"}, Op: rules.OpEquals, Match: rules.Match{Var: "v"}}}},
		{Checks: []rules.Check{{Path: []string{"ids"}, Op: rules.OpContains, Match: rules.Match{Var: "v"}}}},
		{Checks: []rules.Check{{Path: []string{"https://acme.example/roles"}, Op: rules.OpContains, Match: rules.Match{Var: "v"}}}},
		{Checks: []rules.Check{{Path: []string{"a", "b"}, Op: rules.OpPresent}}, AllowMissing: true},
		{AnyOf: []rules.Spec{{Checks: []rules.Check{{Path: []string{"id"}, Op: rules.OpEquals, Match: rules.Match{Value: int64(1234567890123456789)}}}}}},
	}
	compiled := make([]*rules.Rule, len(specs))
	for i, s := range specs {
		r, err := rules.Compile(s)
		if err != nil {
			f.Fatalf("Compile spec %d: %v", i, err)
		}
		compiled[i] = r
	}
	f.Fuzz(func(t *testing.T, claimsJSON, v string) {
		var claims map[string]any
		dec := json.NewDecoder(strings.NewReader(claimsJSON))
		dec.UseNumber() // json.Number claims, as the manager keeps big integers
		if dec.Decode(&claims) != nil {
			claims = nil
		}
		tok := &manager.Token{Type: manager.Auth, Claims: claims, Scope: claims["scope"]}
		values := []rules.Value{rules.String(v), rules.Number(float64(len(v))), rules.Bool(len(v)%2 == 0)}
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			values = append(values, rules.Int(i))
		}
		if u, err := strconv.ParseUint(v, 10, 64); err == nil {
			values = append(values, rules.Uint(u))
		}
		for _, value := range values {
			vars := rules.VarFunc(func(int) (rules.Value, bool) { return value, true })
			for _, r := range compiled {
				first := r.Check(tok, vars)
				if again := r.Check(tok, vars); again != first {
					t.Fatalf("Check answered %v, then %v", first, again)
				}
				_ = r.Check(tok, rules.Vars{})
				// Trace's steps reach the verdict Check does.
				checkTraceAgrees(t, r, tok, vars)
				// Explain decides as Check, wrapping its error.
				if explained := r.Explain(tok, vars); (explained == nil) != (first == nil) || explained != nil && !errors.Is(explained, first) {
					t.Fatalf("Check = %v, Explain = %v", first, explained)
				}
				if first != nil {
					if kind, _ := rules.Classify(first); kind != rules.Unauthenticated && kind != rules.PermissionDenied {
						t.Fatalf("Classify(%v) = %v", first, kind)
					}
				}
			}
		}
	})
}
