package rules_test

import (
	"context"
	"errors"
	"testing"

	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// TestScopeClaims checks that scope names are granted by the claims a
// Manager's Config.ScopeClaims names (Okta and Entra "scp", Auth0
// "permissions"), and by "scope" alone by default.
func TestScopeClaims(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	issue := func(t *testing.T, scopeClaims []string) (*manager.Manager, *manager.Token) {
		m, err := manager.New(manager.Config{Issuer: "https://idp.test", Algorithm: "HS256", Secret: secret, ScopeClaims: scopeClaims})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := m.AuthToken("alice", "profile", map[string]any{
			"scp":         "orders:read orders:write",
			"permissions": []any{"orders:admin"},
			"roles":       map[string]any{"ops": true},
		})
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.Verify(context.Background(), tok.Signed)
		if err != nil {
			t.Fatal(err)
		}
		return m, v
	}
	tests := []struct {
		name        string
		scopeClaims []string
		scopes      []string
		wantErr     error
	}{
		{"default reads scope", nil, []string{"profile"}, nil},
		{"default ignores scp", nil, []string{"orders:read"}, manager.ErrScope},
		{"default ignores permissions", nil, []string{"orders:admin"}, manager.ErrScope},
		{"scp as a string", []string{"scp"}, []string{"orders:read", "orders:write"}, nil},
		{"scp only: scope no more", []string{"scp"}, []string{"profile"}, manager.ErrScope},
		{"several claims", []string{"scope", "scp", "permissions"}, []string{"profile", "orders:write", "orders:admin"}, nil},
		{"an object's truthy keys", []string{"roles"}, []string{"ops"}, nil},
		{"a name no claim grants", []string{"scope", "scp", "permissions"}, []string{"orders:delete"}, manager.ErrScope},
		{"absent claim", []string{"groups"}, []string{"ops"}, manager.ErrScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, tok := issue(t, tt.scopeClaims)
			r := mustCompile(t, rules.Spec{Scopes: tt.scopes})
			err := r.Check(tok, rules.Vars{})
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
			// The scope rule (JSON containment) reads "scope" whatever
			// ScopeClaims says.
			if err := mustCompile(t, rules.Spec{Scope: "profile"}).Check(tok, rules.Vars{}); err != nil {
				t.Errorf("scope rule: %v", err)
			}
		})
	}
	// Checking a Manager's token, read through its private view, allocates
	// nothing either.
	_, tok := issue(t, []string{"scope", "scp", "permissions"})
	r := mustCompile(t, rules.Spec{Scopes: []string{"orders:write", "orders:admin"}, Claims: map[string]rules.Match{"sub": {Value: "alice"}}})
	if n := testing.AllocsPerRun(100, func() { _ = r.Check(tok, rules.Vars{}) }); n != 0 {
		t.Errorf("Check of a Manager's token allocates %.0f times, want 0", n)
	}
	if _, err := manager.New(manager.Config{Issuer: "x", Algorithm: "HS256", Secret: secret, ScopeClaims: []string{"scp", ""}}); !errors.Is(err, manager.ErrConfig) {
		t.Errorf("an empty scope claim name: %v, want ErrConfig", err)
	}
	cfg, err := manager.ConfigFromLookup(func(k string) string {
		if k == "JWT_SCOPE_CLAIMS" {
			return " scp, permissions ,,"
		}
		return ""
	})
	if err != nil || len(cfg.ScopeClaims) != 2 || cfg.ScopeClaims[0] != "scp" || cfg.ScopeClaims[1] != "permissions" {
		t.Errorf("JWT_SCOPE_CLAIMS read as %q, %v", cfg.ScopeClaims, err)
	}
}
