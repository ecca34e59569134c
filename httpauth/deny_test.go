package httpauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// TestGuardDeny checks that a handler that checks a token itself refuses
// with the guard's statuses, challenges and reasons.
func TestGuardDeny(t *testing.T) {
	g := httpauth.New(newManager(t))
	tests := []struct {
		err    error
		status int
		reason string
	}{
		{fmt.Errorf("rotating: %w", manager.ErrRefreshReuse), http.StatusUnauthorized, "TOKEN_REVOKED"},
		{manager.ErrScope, http.StatusForbidden, "SCOPE_MISSING"},
		{manager.ErrRevocationUnavailable, http.StatusServiceUnavailable, "REVOCATION_UNAVAILABLE"},
		{errors.New("secret-token-text"), http.StatusUnauthorized, "TOKEN_INVALID"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		g.Deny(w, httptest.NewRequest(http.MethodPost, "/refresh", nil), tt.err)
		if w.Code != tt.status || reasonOf(w.Body.String()) != tt.reason {
			t.Errorf("Deny(%v) = %d %s, want %d %s", tt.err, w.Code, w.Body, tt.status, tt.reason)
		}
		if strings.Contains(w.Body.String()+w.Header().Get("WWW-Authenticate"), "secret") {
			t.Errorf("Deny(%v) quotes the error", tt.err)
		}
	}
	var nilGuard *httpauth.Guard
	w := httptest.NewRecorder()
	nilGuard.Deny(w, httptest.NewRequest(http.MethodGet, "/", nil), manager.ErrExpired)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("nil Guard: %d", w.Code)
	}
}
