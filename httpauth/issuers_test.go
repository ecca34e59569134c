package httpauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// TestIssuersAudiences serves routes that take tokens of one issuer or for
// one audience, alone, in AnyOf and from a proto rule, behind one Guard
// over two trusted issuers, through a real HTTP client: every other token
// is refused with 403 and CLAIM_MISMATCH (NO_ALTERNATIVE for AnyOf), and
// Decision.Err names the rule's list, never the token's iss or aud.
func TestIssuersAudiences(t *testing.T) {
	const workforce, partner = "https://workforce.test", "https://partner.test"
	minter := func(issuer string, aud ...string) *manager.Manager {
		m, err := manager.New(manager.Config{Issuer: issuer, Algorithm: "HS256", Secret: testSecret, Audience: aud})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	issuers, err := manager.NewIssuers(newManagerOf(t, workforce, testSecret), newManagerOf(t, partner, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last protojwt.Decision
	g := httpauth.New(issuers, httpauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
		mu.Lock()
		last = d
		mu.Unlock()
	}))
	mux := http.NewServeMux()
	g.Handle(mux, "GET /admin", echo, httpauth.Issuers(workforce))
	g.Handle(mux, "GET /internal", echo, httpauth.Audiences("search-internal", "search"))
	g.Handle(mux, "GET /both", echo, httpauth.Issuers(partner), httpauth.Audiences("orders"))
	g.Handle(mux, "GET /either", echo, httpauth.AnyOf(
		[]httpauth.Requirement{httpauth.Issuers(workforce)},
		[]httpauth.Requirement{httpauth.Issuers(partner), httpauth.Scopes("orders:read")},
	))
	g.Handle(mux, "GET /proto", echo, httpauth.FromRule(&annotations.Rule{Issuers: []string{workforce}, Audiences: []string{"orders"}}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tok := func(m *manager.Manager, scope any) string { return authToken(t, m, "alice", scope, nil) }
	wf, pt := minter(workforce), minter(partner)
	wfOrders, ptOrders := minter(workforce, "orders"), minter(partner, "orders")
	search, searchList, other := minter(workforce, "search"), minter(partner, "inventory", "search-internal"), minter(workforce, "inventory", "billing")
	tests := []struct {
		name, path, signed, reason, err string // reason "": allowed
	}{
		{"admin/workforce", "/admin", tok(wf, nil), "", ""},
		{"admin/partner", "/admin", tok(pt, nil), protojwt.ReasonClaimMismatch, `issuer: not one of ["https://workforce.test"]`},
		{"internal/aud string", "/internal", tok(search, nil), "", ""},
		{"internal/aud list", "/internal", tok(searchList, nil), "", ""},
		{"internal/aud list of others", "/internal", tok(other, nil), protojwt.ReasonClaimMismatch, `audience: names none of ["search-internal","search"]`},
		{"internal/no aud", "/internal", tok(wf, nil), protojwt.ReasonClaimMismatch, `audience: names none of`},
		{"both/hold", "/both", tok(ptOrders, nil), "", ""},
		{"both/issuer", "/both", tok(wfOrders, nil), protojwt.ReasonClaimMismatch, `issuer: not one of ["https://partner.test"]`},
		{"both/audience", "/both", tok(pt, nil), protojwt.ReasonClaimMismatch, `audience: names none of ["orders"]`},
		{"either/workforce", "/either", tok(wf, nil), "", ""},
		{"either/partner with scope", "/either", tok(pt, "orders:read"), "", ""},
		{"either/partner without scope", "/either", tok(pt, "orders:write"), protojwt.ReasonNoAlternative,
			`any_of[0]: claim mismatch: issuer: not one of ["https://workforce.test"]; any_of[1]: insufficient scope`},
		{"proto/hold", "/proto", tok(wfOrders, nil), "", ""},
		{"proto/issuer", "/proto", tok(ptOrders, nil), protojwt.ReasonClaimMismatch, `issuer: not one of`},
		{"proto/audience", "/proto", tok(wf, nil), protojwt.ReasonClaimMismatch, `audience: names none of ["orders"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.signed)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Reason string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			mu.Lock()
			d := last
			mu.Unlock()
			if tt.reason == "" {
				if resp.StatusCode != http.StatusOK || !d.Allowed {
					t.Fatalf("status %d, reason %q, Decision.Err %v; want allowed", resp.StatusCode, body.Reason, d.Err)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden || body.Reason != tt.reason {
				t.Fatalf("status %d, reason %q; want 403 %s", resp.StatusCode, body.Reason, tt.reason)
			}
			if d.Allowed || d.Err == nil || !strings.Contains(d.Err.Error(), tt.err) {
				t.Errorf("Decision.Err = %v, want it to say %s", d.Err, tt.err)
			}
		})
	}
}

// TestInvalidIssuersAudiences refuses issuers and audiences that can't
// hold, when the route is built.
func TestInvalidIssuersAudiences(t *testing.T) {
	g := httpauth.New(newManager(t))
	tests := []struct {
		name string
		reqs []httpauth.Requirement
		want string
	}{
		{"no issuers", []httpauth.Requirement{httpauth.Issuers()}, "no issuers"},
		{"empty issuer", []httpauth.Requirement{httpauth.Issuers("https://a.test", "")}, "issuers[1] is empty"},
		{"issuers twice", []httpauth.Requirement{httpauth.Issuers("a"), httpauth.Issuers("b")}, "twice"},
		{"no audiences", []httpauth.Requirement{httpauth.Audiences()}, "no audiences"},
		{"empty audience", []httpauth.Requirement{httpauth.Audiences("")}, "audiences[0] is empty"},
		{"audiences twice", []httpauth.Requirement{httpauth.Audiences("a"), httpauth.Audiences("b")}, "twice"},
		{"public and issuers", []httpauth.Requirement{httpauth.Public(), httpauth.Issuers("a")}, "public"},
		{"empty issuer in an alternative", []httpauth.Requirement{httpauth.AnyOf([]httpauth.Requirement{httpauth.Issuers("")})}, "issuers[0] is empty"},
		{"proto rule empty audience", []httpauth.Requirement{httpauth.FromRule(&annotations.Rule{Audiences: []string{"a", ""}})}, "audiences[1] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Compile(tt.reqs...)
			if !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
