package rules_test

import (
	"testing"

	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// deepArray returns [[[ ... leaf ... ]]] nested depth deep.
func deepArray(depth int, leaf any) any {
	v := leaf
	for range depth {
		v = []any{v}
	}
	return v
}

// TestCheckDepthBounded evaluates rules at their nesting limits against
// claims far deeper than a token can hold: the recursion follows the rule,
// which compiling bounded, never the claims, so each check returns at
// once, without allocating, and decides as the shallow parts say.
func TestCheckDepthBounded(t *testing.T) {
	const claimDepth = 100_000
	deepScope, deepList := nestedScope(claimDepth), deepArray(claimDepth, "x")
	tests := []struct {
		name   string
		spec   rules.Spec
		claims map[string]any
		holds  bool
	}{
		{"scope at the limit, deeper claim", rules.Spec{Scope: nestedScope(32)}, map[string]any{"scope": deepScope}, false},
		{"scope at the limit, same claim", rules.Spec{Scope: nestedScope(32)}, map[string]any{"scope": nestedScope(32)}, true},
		{"array scope at the limit, deeper claim", rules.Spec{Scope: deepArray(31, "x")}, map[string]any{"scope": deepList}, false},
		{"literal at the limit, deeper claim", rules.Spec{Claims: map[string]rules.Match{"d": {Value: nestedScope(32)}}}, map[string]any{"d": deepScope}, false},
		{"literal at the limit, same claim", rules.Spec{Claims: map[string]rules.Match{"d": {Value: deepArray(32, "x")}}}, map[string]any{"d": deepArray(32, "x")}, true},
		{"scopes of a deep object", rules.Spec{Scopes: []string{"a"}}, map[string]any{"scope": deepScope}, true},
		{"variable of a deep claim", rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "v"}}}, map[string]any{"sub": deepList}, false},
		{"any_of at the limit", nestedAnyOf(8), map[string]any{"scope": []any{"leaf"}}, true},
		{"any_of at the limit, deep scope", nestedAnyOf(8), map[string]any{"scope": deepScope}, false},
	}
	vars := rules.VarFunc(func(int) (rules.Value, bool) { return rules.String("x"), true })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.Compile(tt.spec)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			tok := &manager.Token{Type: manager.Auth, Claims: tt.claims, Scope: tt.claims["scope"]}
			if err := r.Check(tok, vars); (err == nil) != tt.holds {
				t.Fatalf("Check() = %v, want holds = %v", err, tt.holds)
			}
			if allocs := testing.AllocsPerRun(20, func() { _ = r.Check(tok, vars) }); allocs != 0 {
				t.Errorf("Check allocates %v times", allocs)
			}
		})
	}
}

// BenchmarkCheckDeepClaims is the slowest evaluation of a test above: a
// scope required at the nesting limit against a claim nested 100 000 deep.
func BenchmarkCheckDeepClaims(b *testing.B) {
	r, err := rules.Compile(rules.Spec{Scope: nestedScope(32)})
	if err != nil {
		b.Fatal(err)
	}
	deep := nestedScope(100_000)
	tok := &manager.Token{Type: manager.Auth, Claims: map[string]any{"scope": deep}, Scope: deep}
	b.ReportAllocs()
	for b.Loop() {
		if r.Check(tok, rules.Vars{}) == nil {
			b.Fatal("held")
		}
	}
}
