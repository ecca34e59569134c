package tokensource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/manager"
)

// grpcDenial is a gRPC status error carrying a protojwt ErrorInfo, as the
// interceptor sends.
func grpcDenial(t testing.TB, code codes.Code, reason string) error {
	st, err := status.New(code, "denied").WithDetails(&errdetails.ErrorInfo{Domain: protojwt.Domain, Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// connectDenial is a connect error carrying a protojwt ErrorInfo.
func connectDenial(t testing.TB, code connect.Code, reason string) error {
	ce := connect.NewError(code, errors.New("denied"))
	d, err := connect.NewErrorDetail(&errdetails.ErrorInfo{Domain: protojwt.Domain, Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	ce.AddDetail(d)
	return ce
}

func TestLoginEnded(t *testing.T) {
	tests := []struct {
		name  string
		cause error
	}{
		{"gRPC TOKEN_REVOKED", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonTokenRevoked)},
		{"gRPC TOKEN_EXPIRED", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonTokenExpired)},
		{"gRPC TOKEN_INVALID", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonTokenInvalid)},
		{"gRPC TOKEN_TYPE", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonTokenType)},
		{"gRPC denial wrapped", fmt.Errorf("calling login: %w", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonTokenRevoked))},
		{"connect TOKEN_REVOKED", connectDenial(t, connect.CodeUnauthenticated, protojwt.ReasonTokenRevoked)},
		{"connect TOKEN_EXPIRED", connectDenial(t, connect.CodeUnauthenticated, protojwt.ReasonTokenExpired)},
		{"gRPC REQUEST_MALFORMED", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonRequestMalformed)},
		{"connect REQUEST_MALFORMED", connectDenial(t, connect.CodeUnauthenticated, protojwt.ReasonRequestMalformed)},
		{"HTTP REQUEST_MALFORMED", &ResponseError{StatusCode: 400, Code: "invalid_request", Reason: protojwt.ReasonRequestMalformed}},
		{"HTTP TOKEN_REVOKED", &ResponseError{StatusCode: 401, Code: "invalid_token", Reason: protojwt.ReasonTokenRevoked}},
		{"HTTP TOKEN_TYPE", &ResponseError{StatusCode: 401, Reason: protojwt.ReasonTokenType}},
		{"gRPC PROOF_MISSING", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonProofMissing)},
		{"HTTP PROOF_MISSING", &ResponseError{StatusCode: 401, Code: "invalid_dpop_proof", Reason: protojwt.ReasonProofMissing}},
		{"OAuth invalid_grant", &ResponseError{StatusCode: 400, Code: "invalid_grant"}},
		{"manager ErrRefreshReuse", fmt.Errorf("rotating: %w", manager.ErrRefreshReuse)},
		{"manager ErrRevoked", manager.ErrRevoked},
		{"manager ErrExpired", manager.ErrExpired},
		{"manager ErrTokenType", manager.ErrTokenType},
		{"manager ErrSignature", manager.ErrSignature},
		{"manager ErrMalformed", manager.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			calls := 0
			fn := func(context.Context, string) (string, string, error) {
				calls++
				return "", "", tt.cause
			}
			r, err := New("", "refresh-0", fn, WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				_, err := r.Token(context.Background())
				if !errors.Is(err, ErrLoginEnded) || !errors.Is(err, tt.cause) {
					t.Fatalf("call %d: Token = %v, want ErrLoginEnded wrapping the cause", i, err)
				}
			}
			if calls != 1 {
				t.Fatalf("%d refreshes after the login ended, want 1", calls)
			}
		})
	}
}

// TestLoginEndedWhileTokenValid: a refusal ahead of expiry ends the
// Refresher too; the auth token of a revoked login is refused anyway.
func TestLoginEndedWhileTokenValid(t *testing.T) {
	clock := newFakeClock()
	calls := 0
	fn := func(context.Context, string) (string, string, error) {
		calls++
		return "", "", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonTokenRevoked)
	}
	r, err := New(tokenExpiring(t, clock.Now().Add(time.Minute), 0), "refresh-0", fn,
		WithClock(clock.Now), WithRefreshMargin(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(45 * time.Second)
	if tok, err := r.Token(context.Background()); err != nil || tok == "" {
		t.Fatalf("Token inside the margin = %.20q, %v; want the valid token", tok, err)
	}
	waitIdle(r)
	if _, err := r.Token(context.Background()); !errors.Is(err, ErrLoginEnded) {
		t.Fatalf("Token after the refusal = %v, want ErrLoginEnded", err)
	}
	if calls != 1 {
		t.Fatalf("%d refreshes, want 1", calls)
	}
}

func TestPassingFailures(t *testing.T) {
	tests := []struct {
		name  string
		cause error
	}{
		{"gRPC Unavailable", status.Error(codes.Unavailable, "connection refused")},
		{"gRPC REVOCATION_UNAVAILABLE", grpcDenial(t, codes.Unavailable, protojwt.ReasonRevocationUnavailable)},
		{"gRPC Unauthenticated without a reason", status.Error(codes.Unauthenticated, "refresh refused")},
		{"gRPC TOKEN_MISSING", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonTokenMissing)},
		{"gRPC CLAIM_MISMATCH", grpcDenial(t, codes.PermissionDenied, protojwt.ReasonClaimMismatch)},
		{"gRPC PROOF_INVALID", grpcDenial(t, codes.Unauthenticated, protojwt.ReasonProofInvalid)},
		{"HTTP use_dpop_nonce", &ResponseError{StatusCode: 401, Code: "use_dpop_nonce", Reason: protojwt.ReasonProofInvalid}},
		{"gRPC ErrorInfo of another domain", func() error {
			st, _ := status.New(codes.Unauthenticated, "x").WithDetails(&errdetails.ErrorInfo{Domain: "other", Reason: protojwt.ReasonTokenRevoked})
			return st.Err()
		}()},
		{"connect Unavailable", connect.NewError(connect.CodeUnavailable, errors.New("down"))},
		{"connect REVOCATION_UNAVAILABLE", connectDenial(t, connect.CodeUnavailable, protojwt.ReasonRevocationUnavailable)},
		{"HTTP 503", &ResponseError{StatusCode: 503}},
		{"HTTP 401 without a reason", &ResponseError{StatusCode: 401}},
		{"HTTP REVOCATION_UNAVAILABLE", &ResponseError{StatusCode: 503, Reason: protojwt.ReasonRevocationUnavailable}},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}},
		{"EOF", io.ErrUnexpectedEOF},
		{"manager ErrRevocationUnavailable", fmt.Errorf("%w: redis down", manager.ErrRevocationUnavailable)},
		{"manager ErrConfig", manager.ErrConfig},
		{"timeout", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			calls := 0
			fn := func(context.Context, string) (string, string, error) {
				calls++
				return "", "", tt.cause
			}
			r, err := New("", "refresh-0", fn, WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				_, err := r.Token(context.Background())
				if err == nil || errors.Is(err, ErrLoginEnded) || !errors.Is(err, tt.cause) {
					t.Fatalf("call %d: Token = %v, want the passing failure", i, err)
				}
			}
			if calls != 3 {
				t.Fatalf("%d refreshes for 3 calls without a token, want 3: each call retries", calls)
			}
		})
	}
}

// TestPassingFailureAheadOfExpiry: the valid token is used while refreshes
// fail, retried no sooner than a quarter of the remaining life, and the
// failure is returned once no valid token is left.
func TestPassingFailureAheadOfExpiry(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	down := status.Error(codes.Unavailable, "down")
	login.setErr(down)
	old := tokenExpiring(t, clock.Now().Add(time.Hour), 0)
	r, err := New(old, "refresh-0", login.refresh, WithClock(clock.Now), WithRefreshMargin(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	call := func() (string, error) {
		tok, err := r.Token(context.Background())
		waitIdle(r)
		return tok, err
	}
	clock.Advance(40 * time.Minute) // 20 min left
	for range 5 {
		if tok, err := call(); err != nil || tok != old {
			t.Fatalf("Token while refreshes fail = %.20q, %v; want the valid token", tok, err)
		}
	}
	if n := login.calls.Load(); n != 1 {
		t.Fatalf("%d refreshes right after a failure, want 1", n)
	}
	clock.Advance(5*time.Minute - time.Second) // just before 20 min / 4
	call()
	if n := login.calls.Load(); n != 1 {
		t.Fatalf("retried after %d refreshes before the back-off ended", n)
	}
	clock.Advance(time.Second)
	call()
	if n := login.calls.Load(); n != 2 {
		t.Fatalf("%d refreshes after the back-off, want 2", n)
	}
	clock.Advance(15 * time.Minute) // expired
	if _, err := call(); !errors.Is(err, down) || errors.Is(err, ErrLoginEnded) {
		t.Fatalf("Token once expired = %v, want the failure", err)
	}
	login.setErr(nil)
	if tok, err := call(); err != nil || tok == old || tok == "" {
		t.Fatalf("Token once the service is back = %.20q, %v", tok, err)
	}
}

func TestCheckResponse(t *testing.T) {
	resp := func(code int, body string) *http.Response {
		return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		name string
		resp *http.Response
		want *ResponseError // nil: no error
	}{
		{"200", resp(200, `{"auth_token":"x"}`), nil},
		{"204", resp(204, ``), nil},
		{"protojwt denial", resp(401, `{"error":"invalid_token","reason":"TOKEN_REVOKED"}`), &ResponseError{401, "invalid_token", "TOKEN_REVOKED"}},
		{"OAuth error", resp(400, `{"error":"invalid_grant","error_description":"expired"}`), &ResponseError{400, "invalid_grant", ""}},
		{"not JSON", resp(502, `<html>bad gateway</html>`), &ResponseError{502, "", ""}},
		{"no body", &http.Response{StatusCode: 503}, &ResponseError{503, "", ""}},
		{"reason with spaces", resp(401, `{"reason":"TOKEN REVOKED <script>"}`), &ResponseError{401, "", ""}},
		{"reason too long", resp(401, `{"reason":"`+strings.Repeat("A", 65)+`"}`), &ResponseError{401, "", ""}},
		{"body over the bound", resp(401, `{"reason":"TOKEN_REVOKED","pad":"`+strings.Repeat("x", maxErrorBody)+`"}`), &ResponseError{401, "", ""}},
		{"reason a number", resp(401, `{"reason":5}`), &ResponseError{401, "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResponse(tt.resp)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckResponse = %v, want nil", err)
				}
				return
			}
			var re *ResponseError
			if !errors.As(err, &re) || *re != *tt.want {
				t.Fatalf("CheckResponse = %#v, want %#v", err, tt.want)
			}
		})
	}
	e := &ResponseError{401, "invalid_token", "TOKEN_REVOKED"}
	if got := e.Error(); !strings.Contains(got, "401") || !strings.Contains(got, "TOKEN_REVOKED") {
		t.Fatalf("Error() = %q", got)
	}
}
