package rules_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// issued returns a token as a Manager builds it: read through the
// Manager's private view.
func issued(t *testing.T, issuer, audience string) *manager.Token {
	t.Helper()
	cfg := manager.Config{Issuer: issuer, Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef")}
	if audience != "" {
		cfg.Audience = []string{audience}
	}
	m, err := manager.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Verify(context.Background(), signed.Signed)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestIssuersAudiences checks Rule.issuers and Rule.audiences on tokens a
// Manager verified and on Token literals: the iss one of the issuers, the
// aud (a string or a list) naming one of the audiences; every other case
// denied with CLAIM_MISMATCH.
func TestIssuersAudiences(t *testing.T) {
	const workforce, partner = "https://workforce.example", "https://partner.example"
	iss := rules.Spec{Issuers: []string{workforce, "https://other.example"}}
	aud := rules.Spec{Audiences: []string{"orders", "billing"}}
	lit := func(issuer string, aud any) *manager.Token {
		tok := token(manager.Auth, nil, map[string]any{"iss": issuer, "aud": aud})
		tok.Issuer = issuer
		return tok
	}
	tests := []struct {
		name  string
		spec  rules.Spec
		tok   *manager.Token
		allow bool
	}{
		{"issuer/listed", iss, issued(t, workforce, ""), true},
		{"issuer/second listed", iss, issued(t, "https://other.example", ""), true},
		{"issuer/not listed", iss, issued(t, partner, ""), false},
		{"issuer/prefix of a listed one", iss, issued(t, "https://workforce.exampl", ""), false},
		{"issuer/listed one with a suffix", iss, issued(t, workforce+"/", ""), false},
		{"issuer/none", iss, lit("", nil), false},
		{"issuer/literal listed", iss, lit(workforce, nil), true},
		{"issuer/literal not listed", iss, lit(partner, nil), false},
		{"audience/string", aud, issued(t, workforce, "orders"), true},
		{"audience/other string", aud, issued(t, workforce, "inventory"), false},
		{"audience/none", aud, issued(t, workforce, ""), false},
		{"audience/list naming one", aud, lit(workforce, []any{"inventory", "billing"}), true},
		{"audience/list naming none", aud, lit(workforce, []any{"inventory", "shipping"}), false},
		{"audience/empty list", aud, lit(workforce, []any{}), false},
		{"audience/list of non-strings", aud, lit(workforce, []any{1.0, true, map[string]any{"orders": true}}), false},
		{"audience/[]string of a literal", aud, lit(workforce, []string{"x", "orders"}), true},
		{"audience/number", aud, lit(workforce, 1.0), false},
		{"audience/object", aud, lit(workforce, map[string]any{"orders": true}), false},
		{"audience/case differs", aud, issued(t, workforce, "Orders"), false},
		{"both/hold", rules.Spec{Issuers: []string{workforce}, Audiences: []string{"orders"}}, issued(t, workforce, "orders"), true},
		{"both/issuer fails", rules.Spec{Issuers: []string{workforce}, Audiences: []string{"orders"}}, issued(t, partner, "orders"), false},
		{"both/audience fails", rules.Spec{Issuers: []string{workforce}, Audiences: []string{"orders"}}, issued(t, workforce, "billing"), false},
		{"any_of/second issuer alternative", rules.Spec{AnyOf: []rules.Spec{
			{Issuers: []string{workforce}},
			{Issuers: []string{partner}, Audiences: []string{"orders"}},
		}}, issued(t, partner, "orders"), true},
		{"any_of/no issuer alternative", rules.Spec{AnyOf: []rules.Spec{
			{Issuers: []string{workforce}},
			{Issuers: []string{partner}, Audiences: []string{"orders"}},
		}}, issued(t, partner, "billing"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, tt.spec)
			err := r.Check(tt.tok, rules.Deferred)
			if tt.allow {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, manager.ErrClaim) {
				t.Fatalf("Check = %v, want ErrClaim", err)
			}
			want := protojwt.ReasonClaimMismatch
			if len(tt.spec.AnyOf) > 0 {
				want = protojwt.ReasonNoAlternative
			}
			if _, reason := rules.Classify(err); reason != want {
				t.Errorf("reason = %s, want %s", reason, want)
			}
		})
	}
}

// TestIssuersOrder checks where issuers and audiences are checked: after
// the token type, before claims, checks, scope, scopes and alternatives.
func TestIssuersOrder(t *testing.T) {
	spec := rules.Spec{
		TokenType: manager.Refresh,
		Issuers:   []string{"https://a.example"},
		Audiences: []string{"orders"},
		Claims:    map[string]rules.Match{"role": {Value: "admin"}},
		Scopes:    []string{"read"},
	}
	r := mustCompile(t, spec)
	tests := []struct {
		name string
		tok  *manager.Token
		want string
	}{
		{"type before issuer", token(manager.Auth, nil, map[string]any{"iss": "https://b.example"}), "wrong token type"},
		{"issuer before audience", token(manager.Refresh, nil, map[string]any{"aud": "x"}), "issuer: not one of"},
		{"audience before claims", withIssuer(token(manager.Refresh, nil, map[string]any{"aud": "x"}), "https://a.example"), "audience: names none of"},
		{"claims after audience", withIssuer(token(manager.Refresh, nil, map[string]any{"aud": "orders"}), "https://a.example"), "claim role"},
		{"scopes last", withIssuer(token(manager.Refresh, nil, map[string]any{"aud": "orders", "role": "admin"}), "https://a.example"), "scope read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Explain(tt.tok, rules.Deferred)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Explain = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func withIssuer(tok *manager.Token, iss string) *manager.Token {
	tok.Issuer = iss
	tok.Claims["iss"] = iss
	return tok
}

// TestExplainIssuersAudiences checks the wording of a denial: the rule's
// literals, never the token's iss or aud, and the alternative it was in.
func TestExplainIssuersAudiences(t *testing.T) {
	tok := withIssuer(token(manager.Auth, nil, map[string]any{"aud": []any{secretValue}}), secretValue)
	tests := []struct {
		name string
		spec rules.Spec
		want string
	}{
		{"issuer", rules.Spec{Issuers: []string{"https://a.example", "https://b.example"}},
			`claim mismatch: issuer: not one of ["https://a.example","https://b.example"]`},
		{"audience", rules.Spec{Audiences: []string{"orders"}},
			`claim mismatch: audience: names none of ["orders"]`},
		{"in any_of", rules.Spec{AnyOf: []rules.Spec{{Issuers: []string{"https://a.example"}}, {Audiences: []string{"orders"}}}},
			`protojwt: no alternative rule holds: any_of[0]: claim mismatch: issuer: not one of ["https://a.example"]; any_of[1]: claim mismatch: audience: names none of ["orders"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, tt.spec)
			checked, explained := r.Check(tok, rules.Deferred), r.Explain(tok, rules.Deferred)
			if checked == nil || explained == nil {
				t.Fatalf("Check = %v, Explain = %v; want both to deny", checked, explained)
			}
			if !errors.Is(explained, checked) {
				t.Errorf("Explain = %v does not wrap Check's %v", explained, checked)
			}
			if got := explained.Error(); got != tt.want && !strings.HasSuffix(got, tt.want) {
				t.Errorf("Explain = %s\nwant %s", got, tt.want)
			}
			if strings.Contains(explained.Error(), secretValue) {
				t.Errorf("Explain holds the token's iss or aud: %v", explained)
			}
		})
	}
}

// TestIssuersAllocs pins an allowed check of issuers and audiences at no
// allocation.
func TestIssuersAllocs(t *testing.T) {
	r := mustCompile(t, rules.Spec{Issuers: []string{"https://x.example", "https://a.example"}, Audiences: []string{"b", "orders"}})
	tok := withIssuer(token(manager.Auth, nil, map[string]any{"aud": []any{"x", "orders"}}), "https://a.example")
	if err := r.Check(tok, rules.Deferred); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.Explain(tok, rules.Deferred) }); n != 0 {
		t.Errorf("an allowed check allocates %.0f times, want 0", n)
	}
}

// TestIssuersCompileErrors refuses an empty issuer or audience, which no
// token names, anywhere in a rule, and issuers on a public rule.
func TestIssuersCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		spec rules.Spec
		want string
	}{
		{"empty issuer", rules.Spec{Issuers: []string{"https://a.example", ""}}, "issuers[1] is empty"},
		{"empty audience", rules.Spec{Audiences: []string{""}}, "audiences[0] is empty"},
		{"empty issuer in an alternative", rules.Spec{AnyOf: []rules.Spec{{Issuers: []string{""}}}}, "any_of[0]: issuers[0] is empty"},
		{"public with issuers", rules.Spec{Public: true, Issuers: []string{"https://a.example"}}, "public"},
		{"public with audiences", rules.Spec{Public: true, Audiences: []string{"orders"}}, "public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.Compile(tt.spec)
			if !errors.Is(err, rules.ErrInvalidRule) || r != nil {
				t.Fatalf("Compile = %v, %v; want ErrInvalidRule", r, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
	// An alternative of issuers alone is not empty.
	if _, err := rules.Compile(rules.Spec{AnyOf: []rules.Spec{{Audiences: []string{"orders"}}}}); err != nil {
		t.Errorf("an alternative of audiences alone: %v", err)
	}
}

// TestIssuersFromProto reads fields 11 and 12 of a rule option, in an
// alternative too, and writes them as `protojwt rules` shows them.
func TestIssuersFromProto(t *testing.T) {
	p := &annotations.Rule{
		Issuers:   []string{"https://workforce.example"},
		Audiences: []string{"orders", "a b"},
		Scopes:    []string{"read"},
		AnyOf:     []*annotations.Rule{{Issuers: []string{"https://partner.example"}}, {Scopes: []string{"x"}}},
	}
	r, err := rules.FromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	tok := withIssuer(token(manager.Auth, "read", map[string]any{"aud": "a b"}), "https://workforce.example")
	if err := r.Check(tok, rules.Deferred); !errors.Is(err, manager.ErrClaim) {
		t.Errorf("no alternative holds: Check = %v, want ErrClaim", err)
	}
	tok = withIssuer(token(manager.Auth, "read x", map[string]any{"aud": "a b"}), "https://workforce.example")
	if err := r.Check(tok, rules.Deferred); err != nil {
		t.Errorf("Check = %v, want nil", err)
	}
	tok = withIssuer(token(manager.Auth, "read x", map[string]any{"aud": "a b"}), "https://partner.example")
	if err := r.Check(tok, rules.Deferred); !errors.Is(err, manager.ErrClaim) {
		t.Errorf("another issuer: Check = %v, want ErrClaim", err)
	}
	want := `auth issuers=https://workforce.example audiences=orders,"a b" scopes=read any_of(issuers=https://partner.example | scopes=x)`
	if got := rules.Format(p); got != want {
		t.Errorf("Format\n got %s\nwant %s", got, want)
	}
	if _, err := rules.FromProto(&annotations.Rule{Audiences: []string{""}}); !errors.Is(err, rules.ErrInvalidRule) {
		t.Errorf("an empty audience: FromProto = %v, want ErrInvalidRule", err)
	}
}
