package rules_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// secretValue is a claim value that no denial's text may hold.
const secretValue = "s3cr3t-claim-value"

// TestExplain denies with every operator and every part of a rule: the
// error Explain returns wraps the sentinel Check returns (the same
// reason), says which part failed in the wording below, and never holds a
// claim value of the token.
func TestExplain(t *testing.T) {
	claims := map[string]any{
		"tier":                        secretValue,
		"email":                       secretValue,
		"tenant":                      secretValue,
		"role":                        secretValue,
		"realm_access":                map[string]any{"roles": []any{secretValue}},
		"perms":                       map[string]any{"orders": []any{secretValue}},
		"act":                         secretValue,
		"https://acme.example/tenant": secretValue,
	}
	vars := map[string]rules.Value{"tenant_id": rules.String("acme")}
	tests := []struct {
		name     string
		spec     rules.Spec
		typ      manager.TokenType
		sentinel error
		want     string
	}{
		{"equals literal", rules.Spec{Checks: []rules.Check{equals("gold", "tier")}}, manager.Auth, manager.ErrClaim,
			`claim mismatch: claim tier: equals "gold": not equal`},
		{"equals number", rules.Spec{Checks: []rules.Check{equals(3.0, "tier")}}, manager.Auth, manager.ErrClaim,
			`claim tier: equals 3: not equal`},
		{"equals request field", rules.Spec{Checks: []rules.Check{equalsVar("tenant_id", "https://acme.example/tenant")}}, manager.Auth, manager.ErrClaim,
			`claim "https://acme.example/tenant": equals field:tenant_id: not equal`},
		{"equals unset request field", rules.Spec{Checks: []rules.Check{equalsVar("account", "tenant")}}, manager.Auth, manager.ErrClaim,
			`claim tenant: equals field:account: the request field is unset`},
		{"equals absent", rules.Spec{Checks: []rules.Check{equals("x", "org", "id")}}, manager.Auth, manager.ErrClaim,
			`claim org.id: equals "x": absent or null`},
		{"contains", rules.Spec{Checks: []rules.Check{containsValue("orders-admin", "realm_access", "roles")}}, manager.Auth, manager.ErrClaim,
			`claim realm_access.roles: contains "orders-admin": no element equal`},
		{"contains not a list", rules.Spec{Checks: []rules.Check{containsValue("admin", "role")}}, manager.Auth, manager.ErrClaim,
			`claim role: contains "admin": not a list`},
		{"contains request field", rules.Spec{Checks: []rules.Check{containsVar("tenant_id", "realm_access", "roles")}}, manager.Auth, manager.ErrClaim,
			`claim realm_access.roles: contains field:tenant_id: no element equal`},
		{"in", rules.Spec{Checks: []rules.Check{in([]any{"gold", "platinum", 3.0}, "tier")}}, manager.Auth, manager.ErrClaim,
			`claim tier: in ["gold","platinum",3]: equal to none of them`},
		{"prefix", rules.Spec{Checks: []rules.Check{prefix("acme-", "tenant")}}, manager.Auth, manager.ErrClaim,
			`claim tenant: prefix "acme-": does not start with it`},
		{"prefix not a string", rules.Spec{Checks: []rules.Check{prefix("acme-", "perms")}}, manager.Auth, manager.ErrClaim,
			`claim perms: prefix "acme-": not a string`},
		{"suffix", rules.Spec{Checks: []rules.Check{suffix("@acme.example", "email")}}, manager.Auth, manager.ErrClaim,
			`claim email: suffix "@acme.example": does not end with it`},
		{"suffix not a string", rules.Spec{Checks: []rules.Check{suffix("@acme.example", "realm_access")}}, manager.Auth, manager.ErrClaim,
			`claim realm_access: suffix "@acme.example": not a string`},
		{"includes", rules.Spec{Checks: []rules.Check{includes(map[string]any{"orders": []any{"write"}}, "perms")}}, manager.Auth, manager.ErrClaim,
			`claim perms: includes {"orders":["write"]}: does not include it`},
		{"present", rules.Spec{Checks: []rules.Check{present(true, "tid")}}, manager.Auth, manager.ErrClaim,
			`claim tid: present: absent or null`},
		{"absent", rules.Spec{Checks: []rules.Check{present(false, "act")}}, manager.Auth, manager.ErrClaim,
			`claim act: absent: present and not null`},
		{"claims equality", rules.Spec{Claims: map[string]rules.Match{"role": {Value: "admin"}}}, manager.Auth, manager.ErrClaim,
			`claim role: equals "admin": not equal`},
		{"claims bound to a request field", rules.Spec{Claims: map[string]rules.Match{"tenant": {Var: "tenant_id"}}}, manager.Auth, manager.ErrClaim,
			`claim tenant: equals field:tenant_id: not equal`},
		{"the first failing check", rules.Spec{Checks: []rules.Check{present(true, "tier"), prefix("x", "email"), suffix("y", "email")}}, manager.Auth, manager.ErrClaim,
			`claim email: prefix "x": does not start with it`},
		{"scope", rules.Spec{Scope: map[string]any{"admin": true}}, manager.Auth, manager.ErrScope,
			`insufficient scope: scope {"admin":true}: not contained in the scope claim`},
		{"scopes", rules.Spec{Scopes: []string{"orders:read", "orders:write"}}, manager.Auth, manager.ErrScope,
			`insufficient scope: scope orders:write: not granted`},
		{"token type", rules.Spec{TokenType: manager.Refresh}, manager.Auth, manager.ErrTokenType,
			`wrong token type: want refresh, got auth`},
		{"token type of another kind", rules.Spec{}, manager.TokenType(secretValue), manager.ErrTokenType,
			`wrong token type: want auth, got another type`},
		{"token type none", rules.Spec{}, "", manager.ErrTokenType,
			`wrong token type: want auth, got none`},
		{"any_of", rules.Spec{AnyOf: []rules.Spec{
			{Claims: map[string]rules.Match{"role": {Value: "admin"}}},
			{Scopes: []string{"orders:admin"}},
			{Checks: []rules.Check{suffix("@acme.example", "email")}, AnyOf: []rules.Spec{{Checks: []rules.Check{present(true, "tid")}}}},
		}}, manager.Auth, manager.ErrClaim,
			`protojwt: no alternative rule holds: any_of[0]: claim mismatch: claim role: equals "admin": not equal; ` +
				`any_of[1]: insufficient scope: scope orders:admin: not granted; ` +
				`any_of[2]: claim mismatch: claim email: suffix "@acme.example": does not end with it`},
		{"nested any_of", rules.Spec{AnyOf: []rules.Spec{
			{AnyOf: []rules.Spec{{Checks: []rules.Check{present(true, "tid")}}, {Scopes: []string{"x"}}}},
		}}, manager.Auth, manager.ErrClaim,
			`protojwt: no alternative rule holds: any_of[0]: no alternative rule holds: any_of[0]: claim mismatch: claim tid: present: absent or null; any_of[1]: insufficient scope: scope x: not granted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, tt.spec)
			tok := token(tt.typ, "orders:read", claims)
			v := varsOf(r, vars)
			checked, explained := r.Check(tok, v), r.Explain(tok, v)
			if explained == nil || checked == nil {
				t.Fatalf("Check = %v, Explain = %v; want both to deny", checked, explained)
			}
			if !errors.Is(explained, tt.sentinel) {
				t.Errorf("Explain = %v, want it to wrap %v", explained, tt.sentinel)
			}
			if _, want := rules.Classify(checked); func() string { _, got := rules.Classify(explained); return got }() != want {
				t.Errorf("Explain's reason differs from Check's %s: %v", want, explained)
			}
			if !errors.Is(explained, checked) {
				t.Errorf("Explain = %v does not wrap Check's %v", explained, checked)
			}
			if msg := explained.Error(); !strings.Contains(msg, tt.want) {
				t.Errorf("Explain = %s\nwant it to hold %s", msg, tt.want)
			}
			if strings.Contains(explained.Error(), secretValue) {
				t.Errorf("Explain holds a claim value: %v", explained)
			}
		})
	}
}

// TestExplainAllowsAsCheck checks that Explain allows what Check allows,
// allocating nothing then, an any_of whose first alternatives fail
// included.
func TestExplainAllowsAsCheck(t *testing.T) {
	r := mustCompile(t, rules.Spec{
		Checks: []rules.Check{equals("gold", "tier"), in([]any{"a", "b"}, "org", "unit")},
		Scopes: []string{"read"},
		AnyOf: []rules.Spec{
			{Claims: map[string]rules.Match{"role": {Value: "admin"}}},
			{Checks: []rules.Check{suffix("@acme.example", "email")}},
			{Claims: map[string]rules.Match{"sub": {Var: "username"}}},
		},
	})
	tok := token(manager.Auth, "read", map[string]any{"tier": "gold", "org": map[string]any{"unit": "b"}, "email": "a@b.example"})
	vars := varsOf(r, map[string]rules.Value{"username": rules.String("alice")})
	if err := r.Explain(tok, vars); err != nil {
		t.Fatalf("Explain = %v, want nil", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.Explain(tok, vars) }); n != 0 {
		t.Errorf("an allowing Explain allocates %.0f times, want 0", n)
	}
	for _, public := range []*rules.Rule{mustCompile(t, rules.Spec{Public: true}), mustCompile(t, rules.Spec{AllowMissing: true})} {
		if err := public.Explain(nil, rules.Vars{}); err != nil {
			t.Errorf("Explain without a token = %v", err)
		}
	}
	if err := r.Explain(nil, vars); err != manager.ErrNoToken {
		t.Errorf("Explain without a token = %v, want ErrNoToken", err)
	}
}
