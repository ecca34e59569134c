package interceptor_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestDetailedErrors: over a real server, a denial's message carries
// Decision.Err's text with WithDetailedErrors and only the reason's fixed
// text without it; the code and reason are the same, and the token is
// never in the message.
func TestDetailedErrors(t *testing.T) {
	m := newManager(t)
	other := newManagerWith(t, manager.Config{Issuer: testIssuer, Algorithm: "HS256", Secret: []byte("another-secret-of-32-bytes-or-more!")})
	tests := []struct {
		name   string
		signed string
		code   codes.Code
		reason string
		fixed  string
	}{
		{"claim mismatch", authToken(t, m, "alice", nil, map[string]any{"role": "viewer"}), codes.PermissionDenied, protojwt.ReasonClaimMismatch, "claim mismatch"},
		{"token of another key", authToken(t, other, "alice", nil, map[string]any{"role": "admin"}), codes.Unauthenticated, protojwt.ReasonTokenInvalid, "invalid token"},
		{"refresh token", refreshToken(t, m, "alice", nil), codes.Unauthenticated, protojwt.ReasonTokenType, "wrong token type"},
	}
	for _, detailed := range []bool{false, true} {
		var mu sync.Mutex
		var last protojwt.Decision
		opts := []interceptor.Option{interceptor.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
			mu.Lock()
			last = d
			mu.Unlock()
		})}
		if detailed {
			opts = append(opts, interceptor.WithDetailedErrors())
		}
		ts := startServer(t, m, opts...)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/detailed=%v", tt.name, detailed), func(t *testing.T) {
				ctx := withToken(t, bearer(tt.signed))
				_, err := call(ctx, ts, methodLiteralString, &testpb.LiteralStringRequest{})
				checkDenial(t, err, tt.code, tt.reason)
				msg := status.Convert(err).Message()
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
				if msg != want {
					t.Errorf("detailed %v: message %q, want %q", detailed, msg, want)
				}
				if strings.Contains(msg, tt.signed) || strings.Contains(msg, strings.Split(tt.signed, ".")[2]) {
					t.Errorf("message %q quotes the token", msg)
				}
			})
		}
	}
}

// TestDetailedErrorsWithoutHook: a development server with detailed errors
// and no decision hook still tells its client which part of the rule
// failed, not only the sentinel's text.
func TestDetailedErrorsWithoutHook(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m, interceptor.WithDetailedErrors())
	ctx := withToken(t, bearer(authToken(t, m, "alice", nil, map[string]any{"role": "viewer"})))
	_, err := call(ctx, ts, methodLiteralString, &testpb.LiteralStringRequest{})
	checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
	const want = `claim mismatch: protojwt: claim mismatch: claim role: equals "admin": not equal`
	if msg := status.Convert(err).Message(); msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
}
