package httpauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// outageVerifier stands for a Manager during an outage: every token it
// is given fails with err.
type outageVerifier struct{ err error }

func (v outageVerifier) Verify(context.Context, string) (*manager.Token, error) {
	return nil, v.err
}

// TestUnavailableRetryAfter: a token that can't be checked now is
// answered 503 with a Retry-After over a real HTTP server, with the
// reason of the outage and no challenge, so that a client retries the
// same token rather than log in again; the cause is not shown.
func TestUnavailableRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		reason     string
		retryAfter string
	}{
		{"keys unavailable", fmt.Errorf("manager: verify: secret-cause: %w", manager.ErrKeysUnavailable), http.StatusServiceUnavailable, "KEYS_UNAVAILABLE", "5"},
		{"revocation unavailable", fmt.Errorf("%w: secret-cause", manager.ErrRevocationUnavailable), http.StatusServiceUnavailable, "REVOCATION_UNAVAILABLE", "1"},
		{"invalid token", fmt.Errorf("secret-cause: %w", manager.ErrSignature), http.StatusUnauthorized, "TOKEN_INVALID", ""},
		{"expired token", manager.ErrExpired, http.StatusUnauthorized, "TOKEN_EXPIRED", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(httpauth.New(outageVerifier{tt.err}).Require()(echo))
			defer srv.Close()
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer some.token.value")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error, Reason string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode != tt.status || body.Reason != tt.reason {
				t.Errorf("answer = %d %s, want %d %s", resp.StatusCode, body.Reason, tt.status, tt.reason)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if (tt.status == http.StatusServiceUnavailable) != (challenge == "") {
				t.Errorf("WWW-Authenticate = %q with %d", challenge, resp.StatusCode)
			}
			if strings.Contains(body.Error+challenge, "secret") {
				t.Errorf("answer quotes the cause: %q %q", body.Error, challenge)
			}
		})
	}
}
