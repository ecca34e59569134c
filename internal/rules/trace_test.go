package rules_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// checkTraceAgrees fails t when the steps of Trace disagree with Check: the
// call is allowed exactly when every step of depth 0 holds, one step
// decides a denial and none an allowed call, and Trace's error is
// Explain's, wrapping Check's.
func checkTraceAgrees(t testing.TB, r *rules.Rule, tok *manager.Token, vars rules.Vars) []rules.Step {
	t.Helper()
	want := r.Check(tok, vars)
	steps, err := r.Trace(tok, vars)
	if (err == nil) != (want == nil) || err != nil && !errors.Is(err, want) {
		t.Fatalf("Check = %v, Trace = %v", want, err)
	}
	failed, decides := 0, 0
	for _, s := range steps {
		if s.Depth == 0 && !s.Held {
			failed++
		}
		if s.Decides {
			decides++
			if s.Held || s.Depth != 0 {
				t.Fatalf("step %+v decides, but holds or is nested", s)
			}
		}
		if s.Held != (s.Why == "") {
			t.Fatalf("step %+v: Held and Why disagree", s)
		}
		if s.Part == "another part of the rule" {
			t.Fatalf("a denial no step of Trace explains: %+v (walk the part in trace.go)", s)
		}
	}
	switch {
	case want == nil && failed > 0:
		t.Fatalf("Check allows, and %d steps fail: %+v", failed, steps)
	case want != nil && (failed == 0 || decides != 1):
		t.Fatalf("Check denies (%v), and %d steps fail, %d decide: %+v", want, failed, decides, steps)
	case want == nil && decides != 0:
		t.Fatalf("Check allows, and a step decides: %+v", steps)
	}
	return steps
}

// TestTrace walks rules of every part: the steps come in Check's order,
// show the values compared, and the first failing one decides.
func TestTrace(t *testing.T) {
	claims := map[string]any{
		"tier":         "silver",
		"tenant":       "acme",
		"realm_access": map[string]any{"roles": []any{"viewer"}},
	}
	tests := []struct {
		name    string
		spec    rules.Spec
		tok     *manager.Token
		vars    map[string]rules.Value
		want    []string // "part | held | values", one per step
		decides string   // the part that decides; "" when allowed
	}{
		{
			name: "public",
			spec: rules.Spec{Public: true},
			want: []string{"public | true | "},
		},
		{
			name:    "no token",
			spec:    rules.Spec{},
			want:    []string{"token | false | "},
			decides: "token",
		},
		{
			name: "no token, allow_missing",
			spec: rules.Spec{AllowMissing: true, Scopes: []string{"read"}},
			want: []string{"token | true | none sent, and the rule has allow_missing"},
		},
		{
			name: "wrong type",
			spec: rules.Spec{TokenType: manager.Refresh},
			tok:  token(manager.Auth, nil, claims),
			want: []string{
				"token | true | sent and verified",
				`token type refresh | false | type "auth"`,
			},
			decides: "token type refresh",
		},
		{
			name: "every part, the first claim decides",
			spec: rules.Spec{
				Claims: map[string]rules.Match{"tenant": {Var: "tenant_id"}},
				Checks: []rules.Check{in([]any{"gold", "platinum"}, "tier"), containsValue("viewer", "realm_access", "roles")},
				Scope:  "read",
				Scopes: []string{"orders:write"},
			},
			tok:  token(manager.Auth, "read orders:read", claims),
			vars: map[string]rules.Value{"tenant_id": rules.String("acme")},
			want: []string{
				"token | true | sent and verified",
				`token type auth | true | type "auth"`,
				`claim tenant: equals field:tenant_id | true | claim "acme", request "acme"`,
				`claim tier: in ["gold","platinum"] | false | claim "silver"`,
				`claim realm_access.roles: contains "viewer" | true | claim ["viewer"]`,
				`scope "read" | false | scope claim "read orders:read"`,
				`scope orders:write | false | granted "read orders:read"`,
			},
			decides: `claim tier: in ["gold","platinum"]`,
		},
		{
			name: "unset request field",
			spec: rules.Spec{Claims: map[string]rules.Match{"tenant": {Var: "tenant_id"}}},
			tok:  token(manager.Auth, nil, claims),
			want: []string{
				"token | true | sent and verified",
				`token type auth | true | type "auth"`,
				`claim tenant: equals field:tenant_id | false | claim "acme", request field unset`,
			},
			decides: "claim tenant: equals field:tenant_id",
		},
		{
			name: "any_of, the second holds",
			spec: rules.Spec{AnyOf: []rules.Spec{
				{Checks: []rules.Check{equals("gold", "tier")}},
				{Checks: []rules.Check{present(true, "tenant")}},
			}},
			tok: token(manager.Auth, nil, claims),
			want: []string{
				"token | true | sent and verified",
				`token type auth | true | type "auth"`,
				"any_of | true | 1 of 2 alternatives hold",
				"any_of[0] | false | ",
				`claim tier: equals "gold" | false | claim "silver"`,
				"any_of[1] | true | ",
				`claim tenant: present | true | claim "acme"`,
			},
		},
		{
			name: "any_of, none holds",
			spec: rules.Spec{AnyOf: []rules.Spec{
				{Checks: []rules.Check{equals("gold", "tier")}},
				{Scopes: []string{"admin"}},
			}},
			tok: token(manager.Auth, nil, claims),
			want: []string{
				"token | true | sent and verified",
				`token type auth | true | type "auth"`,
				"any_of | false | 0 of 2 alternatives hold",
				"any_of[0] | false | ",
				`claim tier: equals "gold" | false | claim "silver"`,
				"any_of[1] | false | ",
				"scope admin | false | granted absent",
			},
			decides: "any_of",
		},
		{
			name: "issuers and audiences hold",
			spec: rules.Spec{Issuers: []string{"https://a.example", "https://b.example"}, Audiences: []string{"orders"}},
			tok:  issuedBy("https://b.example", token(manager.Auth, nil, map[string]any{"aud": []any{"billing", "orders"}})),
			want: []string{
				"token | true | sent and verified",
				`token type auth | true | type "auth"`,
				`issuers ["https://a.example","https://b.example"] | true | iss "https://b.example"`,
				`audiences ["orders"] | true | aud ["billing","orders"]`,
			},
		},
		{
			name: "another issuer decides before the audience",
			spec: rules.Spec{Issuers: []string{"https://a.example"}, Audiences: []string{"orders"}},
			tok:  issuedBy("https://evil.example", token(manager.Auth, nil, nil)),
			want: []string{
				"token | true | sent and verified",
				`token type auth | true | type "auth"`,
				`issuers ["https://a.example"] | false | iss "https://evil.example"`,
				`audiences ["orders"] | false | aud absent`,
			},
			decides: `issuers ["https://a.example"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, tt.spec)
			steps := checkTraceAgrees(t, r, tt.tok, varsOf(r, tt.vars))
			var got []string
			decides := ""
			for _, s := range steps {
				got = append(got, s.Part+" | "+map[bool]string{true: "true", false: "false"}[s.Held]+" | "+s.Values)
				if s.Decides {
					decides = s.Part
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if decides != tt.decides {
				t.Errorf("decided by %q, want %q", decides, tt.decides)
			}
		})
	}
}

// issuedBy returns tok with its issuer set to iss.
func issuedBy(iss string, tok *manager.Token) *manager.Token {
	tok.Issuer = iss
	tok.Claims["iss"] = iss
	return tok
}
