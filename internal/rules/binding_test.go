package rules_test

import (
	"errors"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// TestRequireBinding: a rule with require_binding lets only tokens bound by
// cnf through, refusing others with PROOF_MISSING.
func TestRequireBinding(t *testing.T) {
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	rule, err := rules.FromProto(&annotations.Rule{RequireBinding: true, Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		claims  map[string]any
		wantErr error
	}{
		{"DPoP-bound", map[string]any{"cnf": map[string]any{"jkt": jkt}, "scope": "read"}, nil},
		{"certificate-bound", map[string]any{"cnf": map[string]any{"x5t#S256": jkt}, "scope": "read"}, nil},
		{"bearer", map[string]any{"scope": "read"}, dpop.ErrProofMissing},
		{"cnf of another method", map[string]any{"cnf": map[string]any{"kid": "k1"}, "scope": "read"}, dpop.ErrProofMissing},
		{"cnf not an object", map[string]any{"cnf": "x", "scope": "read"}, dpop.ErrProofMissing},
		{"bound without the scope", map[string]any{"cnf": map[string]any{"jkt": jkt}}, manager.ErrScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := &manager.Token{Type: manager.Auth, Claims: tt.claims, Scope: tt.claims["scope"]}
			for _, check := range []func(*manager.Token, rules.Vars) error{rule.Check, rule.Explain} {
				err := check(tok, rules.Vars{})
				if tt.wantErr == nil {
					if err != nil {
						t.Fatalf("denied: %v", err)
					}
					continue
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			}
		})
	}
	if _, reason := rules.Classify(rule.Check(&manager.Token{Type: manager.Auth, Claims: map[string]any{}}, rules.Vars{})); reason != protojwt.ReasonProofMissing {
		t.Errorf("reason of an unbound token = %s, want %s", reason, protojwt.ReasonProofMissing)
	}
}

// TestRequireBindingRefused: require_binding can't go with public, nor in
// an alternative; rules.Format shows it.
func TestRequireBindingRefused(t *testing.T) {
	for name, r := range map[string]*annotations.Rule{
		"public":         {Public: true, RequireBinding: true},
		"in alternative": {AnyOf: []*annotations.Rule{{RequireBinding: true, Scopes: []string{"a"}}}},
	} {
		if _, err := rules.FromProto(r); !errors.Is(err, protojwt.ErrInvalidRule) {
			t.Errorf("%s: CompileProto = %v, want ErrInvalidRule", name, err)
		}
	}
	if got, want := rules.Format(&annotations.Rule{AllowMissing: true, RequireBinding: true, Scopes: []string{"read"}}), "auth allow_missing require_binding scopes=read"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
}
