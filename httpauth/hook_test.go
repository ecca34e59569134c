package httpauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
)

// TestDecisionHook checks that the guard tells its hook every decision
// once, named by the route's pattern, over a real server: allowed, denied,
// public.
func TestDecisionHook(t *testing.T) {
	m := newManager(t)
	var (
		mu  sync.Mutex
		got []protojwt.Decision
	)
	guard := httpauth.New(m, httpauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
	}))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("GET /users/{username}", guard.Require(httpauth.ClaimFromPath("sub", "username"))(ok))
	mux.Handle("GET /health", guard.Require(httpauth.Public())(ok))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	alice := authToken(t, m, "alice", nil, nil)
	tests := []struct {
		path, token     string
		wantStatus      int
		procedure       string
		allowed         bool
		reason, subject string
	}{
		{"/users/alice", alice, http.StatusNoContent, "GET /users/{username}", true, "", "alice"},
		{"/users/bob", alice, http.StatusForbidden, "GET /users/{username}", false, protojwt.ReasonClaimMismatch, "alice"},
		{"/users/alice", "", http.StatusUnauthorized, "GET /users/{username}", false, protojwt.ReasonTokenMissing, ""},
		{"/health", "", http.StatusNoContent, "GET /health", true, "", ""},
	}
	for _, tt := range tests {
		mu.Lock()
		got = nil
		mu.Unlock()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.wantStatus)
		}
		mu.Lock()
		if len(got) != 1 {
			t.Errorf("%s: hook told %d decisions, want 1", tt.path, len(got))
			mu.Unlock()
			continue
		}
		d := got[0]
		mu.Unlock()
		subject := ""
		if d.Token != nil {
			subject = d.Token.Subject
		}
		if d.Procedure != tt.procedure || d.Allowed != tt.allowed || d.Reason != tt.reason || subject != tt.subject {
			t.Errorf("%s: decision {%s %v %q %q}, want {%s %v %q %q}", tt.path, d.Procedure, d.Allowed, d.Reason, subject,
				tt.procedure, tt.allowed, tt.reason, tt.subject)
		}
	}
}
