package httpauth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/manager"
)

// TestDecisionErrNamesTheCheck denies HTTP requests by one claim check
// each, over a real server: the decision hook's Decision.Err names the
// claim path, the operator and the rule's literal, and holds no claim
// value; the response holds none of it.
func TestDecisionErrNamesTheCheck(t *testing.T) {
	const secret = "s3cr3t-claim-value"
	m := newManager(t)
	var rec rpctest.Decisions
	g := httpauth.New(m, httpauth.WithDecisionHook(rec.Hook))
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Handle("GET /tier", g.Require(httpauth.Check("tier").In("gold", "platinum"))(ok))
	mux.Handle("GET /roles", g.Require(httpauth.Check("realm_access", "roles").Contains("orders-admin"))(ok))
	mux.Handle("GET /accounts/{user}", g.Require(httpauth.ClaimFromPath("sub", "user"))(ok))
	mux.Handle("GET /scopes", g.Require(httpauth.Scopes("orders:write"))(ok))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tok := authToken(t, m, "alice", "orders:read", map[string]any{
		"tier":         secret,
		"realm_access": map[string]any{"roles": []any{secret}},
	})
	tests := []struct {
		path     string
		sentinel error
		want     string
	}{
		{"/tier", manager.ErrClaim, `protojwt: claim mismatch: claim tier: in ["gold","platinum"]: equal to none of them`},
		{"/roles", manager.ErrClaim, `protojwt: claim mismatch: claim realm_access.roles: contains "orders-admin": no element equal`},
		{"/accounts/bob", manager.ErrClaim, `protojwt: claim mismatch: claim sub: equals field:user: not equal`},
		{"/scopes", manager.ErrScope, `protojwt: insufficient scope: scope orders:write: not granted`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec.Take()
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
			answer := string(body) + resp.Header.Get("WWW-Authenticate")
			detail := strings.TrimPrefix(tt.want, tt.sentinel.Error()+": ")
			if strings.Contains(answer, detail) || strings.Contains(answer, secret) || !strings.Contains(answer, `"reason":"`) {
				t.Errorf("the client is told %q", answer)
			}
			decisions := rec.Take()
			if len(decisions) != 1 {
				t.Fatalf("%d decisions, want 1", len(decisions))
			}
			d := decisions[0]
			if d.Allowed || !errors.Is(d.Err, tt.sentinel) || d.Reason == "" {
				t.Errorf("Decision = %+v, want a denial wrapping %v", d, tt.sentinel)
			}
			if d.Err == nil || d.Err.Error() != tt.want {
				t.Errorf("Decision.Err = %v\nwant %s", d.Err, tt.want)
			}
			if d.Err != nil && strings.Contains(d.Err.Error(), secret) {
				t.Errorf("Decision.Err holds a claim value: %v", d.Err)
			}
		})
	}
}
