package httpauth_test

import (
	"context"
	"io"
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

// TestDryRun checks over a real server that a guard with WithDryRun, or a
// route of a rule with dry_run, lets every request reach its handler,
// which sees a token only when it verified (and a cookie's only with its
// CSRF proof), and tells the hook what enforcing would have done; the
// routes of other rules stay enforced.
func TestDryRun(t *testing.T) {
	m := newManager(t)
	var (
		mu  sync.Mutex
		got []protojwt.Decision
	)
	hook := httpauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
	})
	// The handler answers who it saw: "-" for no token.
	seen := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := manager.FromContext(r.Context()); ok {
			io.WriteString(w, tok.Subject)
			return
		}
		io.WriteString(w, "-")
	})
	dryGuard := httpauth.New(m, hook, httpauth.WithDryRun(), httpauth.WithCookie("token"))
	guard := httpauth.New(m, hook)
	dryRule := &annotations.Rule{Claims: map[string]*annotations.Match{"sub": {Kind: &annotations.Match_Field{Field: "username"}}}, DryRun: true}
	mux := http.NewServeMux()
	mux.Handle("POST /dry/users/{username}", dryGuard.Require(httpauth.ClaimFromPath("sub", "username"))(seen))
	mux.Handle("GET /dry/health", dryGuard.Require(httpauth.Public())(seen))
	mux.Handle("GET /rule/users/{username}", guard.Require(httpauth.FromRule(dryRule))(seen))
	mux.Handle("GET /users/{username}", guard.Require(httpauth.ClaimFromPath("sub", "username"))(seen))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	alice := authToken(t, m, "alice", nil, nil)
	tests := []struct {
		name, method, path, auth, cookie string
		wantStatus                       int
		wantSeen                         string // the body: who the handler saw
		allowed, dry                     bool
		reason, subject                  string
	}{
		{"dry: allowed", "POST", "/dry/users/alice", alice, "", 200, "alice", true, true, "", "alice"},
		{"dry: claim mismatch goes on", "POST", "/dry/users/bob", alice, "", 200, "alice", true, true, protojwt.ReasonClaimMismatch, "alice"},
		{"dry: no token goes on", "POST", "/dry/users/alice", "", "", 200, "-", true, true, protojwt.ReasonTokenMissing, ""},
		{"dry: forged token not seen", "POST", "/dry/users/alice", tamperedToken(t, alice, "root"), "", 200, "-", true, true, protojwt.ReasonTokenInvalid, ""},
		{"dry: expired token not seen", "POST", "/dry/users/alice", expiredToken(t, "alice"), "", 200, "-", true, true, protojwt.ReasonTokenExpired, ""},
		{"dry: cookie without CSRF proof not seen", "POST", "/dry/users/alice", "", alice, 200, "-", true, true, protojwt.ReasonCSRF, ""},
		{"dry: public", "GET", "/dry/health", "", "", 200, "-", true, true, "", ""},
		{"rule dry_run: mismatch goes on", "GET", "/rule/users/bob", alice, "", 200, "alice", true, true, protojwt.ReasonClaimMismatch, "alice"},
		{"rule dry_run: no token goes on", "GET", "/rule/users/bob", "", "", 200, "-", true, true, protojwt.ReasonTokenMissing, ""},
		{"enforced: mismatch refused", "GET", "/users/bob", alice, "", 403, "", false, false, protojwt.ReasonClaimMismatch, "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", "Bearer "+tt.auth)
			}
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "token", Value: tt.cookie})
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantSeen != "" && string(body) != tt.wantSeen {
				t.Errorf("handler saw %q, want %q", body, tt.wantSeen)
			}
			if tt.wantSeen == "" && strings.Contains(string(body), "alice") {
				t.Errorf("refused request reached the handler: %q", body)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("hook told %d decisions, want 1", len(got))
			}
			d := got[0]
			subject := ""
			if d.Token != nil {
				subject = d.Token.Subject
			}
			if d.Allowed != tt.allowed || d.DryRun != tt.dry || d.Reason != tt.reason || subject != tt.subject || (d.Err != nil) != (tt.reason != "") {
				t.Errorf("decision {allowed=%v dry=%v reason=%q subject=%q err=%v}, want {%v %v %q %q}",
					d.Allowed, d.DryRun, d.Reason, subject, d.Err, tt.allowed, tt.dry, tt.reason, tt.subject)
			}
		})
	}
}
