package protojwt_test

import (
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt"
)

// statusErr is a gRPC status error with details.
func statusErr(t *testing.T, details ...proto.Message) error {
	t.Helper()
	st := status.New(codes.Unauthenticated, "token expired")
	for _, d := range details {
		var err error
		if st, err = st.WithDetails(d.(*errdetails.ErrorInfo)); err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

// connectErr is a connect error with details.
func connectErr(t *testing.T, details ...proto.Message) error {
	t.Helper()
	e := connect.NewError(connect.CodeUnauthenticated, errors.New("token expired"))
	for _, d := range details {
		detail, err := connect.NewErrorDetail(d)
		if err != nil {
			t.Fatal(err)
		}
		e.AddDetail(detail)
	}
	return e
}

// nilStatus is an error whose GRPCStatus is nil, as status.FromError
// allows.
type nilStatus struct{}

func (nilStatus) Error() string              { return "nil status" }
func (nilStatus) GRPCStatus() *status.Status { return nil }

// otherDetails has a Details method that is not connect's.
type otherDetails struct{}

func (otherDetails) Error() string     { return "other" }
func (otherDetails) Details() []string { return []string{"TOKEN_EXPIRED"} }

// TestReasonOf reads reasons from gRPC and connect errors, wrapped or not;
// the connectauth tests read them from denials received over the wire.
func TestReasonOf(t *testing.T) {
	info := func(domain, reason string) proto.Message {
		return &errdetails.ErrorInfo{Domain: domain, Reason: reason}
	}
	expired := info(protojwt.Domain, protojwt.ReasonTokenExpired)
	tests := []struct {
		name   string
		err    error
		reason string // "" when ok must be false
	}{
		{name: "nil", err: nil},
		{name: "plain error", err: errors.New("TOKEN_EXPIRED")},
		{name: "grpc", err: statusErr(t, expired), reason: protojwt.ReasonTokenExpired},
		{name: "grpc wrapped", err: fmt.Errorf("call: %w", statusErr(t, expired)), reason: protojwt.ReasonTokenExpired},
		{name: "grpc without details", err: statusErr(t)},
		{name: "grpc other domain", err: statusErr(t, info("example.com", "TOKEN_EXPIRED"))},
		{name: "connect", err: connectErr(t, expired), reason: protojwt.ReasonTokenExpired},
		{name: "connect wrapped", err: fmt.Errorf("call: %w", connectErr(t, expired)), reason: protojwt.ReasonTokenExpired},
		{name: "connect without details", err: connectErr(t)},
		{name: "connect other domain", err: connectErr(t, info("example.com", "TOKEN_EXPIRED"))},
		{name: "connect empty reason", err: connectErr(t, info(protojwt.Domain, ""))},
		{name: "connect other detail type", err: connectErr(t, &errdetails.RetryInfo{})},
		{name: "connect other detail first", err: connectErr(t, &errdetails.RetryInfo{}, info("example.com", "X"), expired), reason: protojwt.ReasonTokenExpired},
		{name: "grpc other detail first", err: statusErr(t, info("example.com", "X"), expired), reason: protojwt.ReasonTokenExpired},
		{name: "grpc joined", err: errors.Join(errors.New("first"), statusErr(t, expired)), reason: protojwt.ReasonTokenExpired},
		{name: "connect joined", err: errors.Join(errors.New("first"), connectErr(t, expired)), reason: protojwt.ReasonTokenExpired},
		{name: "nil *connect.Error", err: (*connect.Error)(nil)},
		{name: "nil GRPCStatus", err: nilStatus{}},
		{name: "Details of another kind", err: otherDetails{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, ok := protojwt.ReasonOf(tt.err)
			if ok != (tt.reason != "") || reason != tt.reason {
				t.Errorf("ReasonOf = %q, %v; want %q, %v", reason, ok, tt.reason, tt.reason != "")
			}
		})
	}
}
