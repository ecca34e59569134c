package httpauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
)

// TestDetailedErrors: over a real server, a refusal's body and challenge
// carry Decision.Err's text with WithDetailedErrors and only the reason's
// fixed text without it; the status and reason are the same, and the
// token is never in the response.
func TestDetailedErrors(t *testing.T) {
	m := newManager(t)
	other := newManagerOf(t, "other-issuer", testSecret)
	tests := []struct {
		name   string
		signed string
		status int
		reason string
		fixed  string
	}{
		{"claim mismatch", authToken(t, m, "alice", nil, map[string]any{"role": "viewer"}), http.StatusForbidden, protojwt.ReasonClaimMismatch, "claim mismatch"},
		{"token of another issuer", authToken(t, other, "alice", nil, map[string]any{"role": "admin"}), http.StatusUnauthorized, protojwt.ReasonTokenInvalid, "invalid token"},
		{"refresh token", refreshToken(t, m, "alice"), http.StatusUnauthorized, protojwt.ReasonTokenType, "wrong token type"},
	}
	for _, detailed := range []bool{false, true} {
		var mu sync.Mutex
		var last protojwt.Decision
		opts := []httpauth.Option{httpauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
			mu.Lock()
			last = d
			mu.Unlock()
		})}
		if detailed {
			opts = append(opts, httpauth.WithDetailedErrors())
		}
		g := httpauth.New(m, opts...)
		mux := http.NewServeMux()
		mux.Handle("GET /admin", g.Require(httpauth.Claim("role", "admin"))(echo))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/detailed=%v", tt.name, detailed), func(t *testing.T) {
				req, err := http.NewRequest(http.MethodGet, srv.URL+"/admin", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tt.signed)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				var body struct{ Error, Reason string }
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatalf("body %q: %v", raw, err)
				}
				if resp.StatusCode != tt.status || body.Reason != tt.reason {
					t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body.Reason, tt.status, tt.reason)
				}
				mu.Lock()
				cause := last.Err
				mu.Unlock()
				if cause == nil {
					t.Fatal("the hook saw no Decision.Err")
				}
				want := tt.fixed
				if detailed {
					want = tt.fixed + ": " + cause.Error()
				}
				if body.Error != want {
					t.Errorf("error %q, want %q", body.Error, want)
				}
				challenge := resp.Header.Get("WWW-Authenticate")
				// The challenge quotes the text as an RFC 9110 quoted-string.
				quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(want)
				if !strings.Contains(challenge, `error_description="`+quoted+`"`) {
					t.Errorf("challenge %q does not describe %q", challenge, want)
				}
				sig := tt.signed[strings.LastIndexByte(tt.signed, '.')+1:]
				if strings.Contains(string(raw)+challenge, sig) {
					t.Errorf("response quotes the token: %s %s", challenge, raw)
				}
			})
		}
	}
}
