package connectauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
)

// TestDetailedErrors: over a real server and each protocol, a denial's
// message carries Decision.Err's text with WithDetailedErrors and only the
// reason's fixed text without it; the code and reason are the same, and
// the token is never in the message.
func TestDetailedErrors(t *testing.T) {
	m := newManager(t)
	other := rpctest.NewManagerWith(t, manager.Config{Issuer: rpctest.Issuer, Algorithm: "HS256", Secret: []byte("another-secret-of-32-bytes-or-more!")})
	tests := []struct {
		name   string
		signed string
		code   connect.Code
		reason string
		fixed  string
	}{
		{"claim mismatch", authToken(t, m, "alice", nil, map[string]any{"role": "viewer"}), connect.CodePermissionDenied, protojwt.ReasonClaimMismatch, "claim mismatch"},
		{"token of another key", authToken(t, other, "alice", nil, map[string]any{"role": "admin"}), connect.CodeUnauthenticated, protojwt.ReasonTokenInvalid, "invalid token"},
	}
	for _, detailed := range []bool{false, true} {
		var mu sync.Mutex
		var last protojwt.Decision
		opts := []connectauth.Option{connectauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
			mu.Lock()
			last = d
			mu.Unlock()
		})}
		if detailed {
			opts = append(opts, connectauth.WithDetailedErrors())
		}
		ts := startServer(t, m, opts...)
		for _, p := range protocols {
			for _, tt := range tests {
				t.Run(fmt.Sprintf("%s/%s/detailed=%v", p.name, tt.name, detailed), func(t *testing.T) {
					_, err := p.unary(t, ts, methodLiteralString, &testpb.LiteralStringRequest{}, []string{bearer(tt.signed)})
					checkDenial(t, err, tt.code, tt.reason)
					msg := messageOf(err)
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
						t.Errorf("message %q, want %q", msg, want)
					}
					if strings.Contains(msg, strings.Split(tt.signed, ".")[2]) {
						t.Errorf("message %q quotes the token", msg)
					}
				})
			}
		}
	}
}

// messageOf returns the message of a denial a client received.
func messageOf(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return status.Convert(err).Message()
}

// TestDeny checks that a handler that checks a token itself answers with
// the interceptor's codes and reasons, never quoting the error, over a
// real server: the *connect.Error a handler returns is what clients read.
func TestDeny(t *testing.T) {
	tests := []struct {
		err    error
		code   connect.Code
		reason string
	}{
		{fmt.Errorf("rotating: %w", manager.ErrRefreshReuse), connect.CodeUnauthenticated, protojwt.ReasonTokenRevoked},
		{manager.ErrExpired, connect.CodeUnauthenticated, protojwt.ReasonTokenExpired},
		{fmt.Errorf("%w: store down", manager.ErrRevocationUnavailable), connect.CodeUnavailable, protojwt.ReasonRevocationUnavailable},
		{manager.ErrClaim, connect.CodePermissionDenied, protojwt.ReasonClaimMismatch},
		{errors.New("secret-token-text"), connect.CodeUnauthenticated, protojwt.ReasonTokenInvalid},
	}
	for _, tt := range tests {
		err := connectauth.Deny(tt.err)
		var ce *connect.Error
		if !errors.As(err, &ce) {
			t.Fatalf("Deny(%v) = %T, want a *connect.Error", tt.err, err)
		}
		checkDenial(t, err, tt.code, tt.reason, "secret")
		if again := connectauth.Deny(tt.err); again == err {
			t.Errorf("Deny(%v) returned a shared *connect.Error, which callers may modify", tt.err)
		}
	}
	if err := connectauth.Deny(nil); err != nil {
		t.Errorf("Deny(nil) = %v", err)
	}

	// Over the wire: a handler that returns Deny's error.
	ts := serve(t, upload{})
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewOpenServiceHandler(denyingOpen{}))
	ts.srv.Config.Handler = mux
	for _, p := range protocols {
		_, err := p.unary(t, ts, "/protojwt.test.v1.OpenService/Ping", &testpb.PingRequest{}, nil)
		checkDenial(t, err, connect.CodeUnauthenticated, protojwt.ReasonTokenExpired)
		if reason, ok := protojwt.ReasonOf(err); !ok || reason != protojwt.ReasonTokenExpired {
			t.Errorf("%s: ReasonOf = %q, %v", p.name, reason, ok)
		}
	}
}

// denyingOpen answers Ping as a handler that checks a token itself and
// finds it expired.
type denyingOpen struct {
	testpbconnect.UnimplementedOpenServiceHandler
}

func (denyingOpen) Ping(context.Context, *connect.Request[testpb.PingRequest]) (*connect.Response[testpb.PingResponse], error) {
	return nil, connectauth.Deny(fmt.Errorf("checking the token: %w", manager.ErrExpired))
}
