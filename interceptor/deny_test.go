package interceptor_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// TestDeny checks that a handler that checks a token itself answers with
// the interceptor's codes and reasons, and never quotes the error.
func TestDeny(t *testing.T) {
	tests := []struct {
		err    error
		code   codes.Code
		reason string
	}{
		{fmt.Errorf("rotating: %w", manager.ErrRefreshReuse), codes.Unauthenticated, protojwt.ReasonTokenRevoked},
		{manager.ErrExpired, codes.Unauthenticated, protojwt.ReasonTokenExpired},
		{fmt.Errorf("%w: store down", manager.ErrRevocationUnavailable), codes.Unavailable, protojwt.ReasonRevocationUnavailable},
		{manager.ErrClaim, codes.PermissionDenied, protojwt.ReasonClaimMismatch},
		{errors.New("secret-token-text"), codes.Unauthenticated, protojwt.ReasonTokenInvalid},
	}
	for _, tt := range tests {
		err := interceptor.Deny(tt.err)
		checkDenial(t, err, tt.code, tt.reason)
		if strings.Contains(status.Convert(err).Message(), "secret") {
			t.Errorf("Deny(%v) quotes the error: %v", tt.err, err)
		}
	}
	if err := interceptor.Deny(nil); err != nil {
		t.Errorf("Deny(nil) = %v", err)
	}
}
