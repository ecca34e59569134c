package rpctest

import (
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/testpb"
)

// CheckDenial fails tb unless err is a denial as a client receives it: a
// gRPC status error or a *connect.Error (whose codes are gRPC's) with code
// and one ErrorInfo of domain protojwt with reason, which
// protojwt.ReasonOf reads, and a message that quotes none of secrets.
func CheckDenial(tb testing.TB, err error, code codes.Code, reason string, secrets ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %v %s", code, reason)
	}
	var (
		got     codes.Code
		msg     string
		details []any
	)
	var ce *connect.Error
	if errors.As(err, &ce) {
		got, msg = codes.Code(ce.Code()), ce.Message()
		for _, d := range ce.Details() {
			v, derr := d.Value()
			if derr != nil {
				tb.Fatalf("detail %s: %v", d.Type(), derr)
			}
			details = append(details, v)
		}
	} else if st, ok := status.FromError(err); ok {
		got, msg, details = st.Code(), st.Message(), st.Details()
	} else {
		tb.Fatalf("error %v is neither a status nor a connect error", err)
	}
	if got != code {
		tb.Errorf("code = %v (%q), want %v", got, msg, code)
	}
	var info *errdetails.ErrorInfo
	for _, d := range details {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			if info != nil {
				tb.Errorf("several ErrorInfo details")
			}
			info = ei
		}
	}
	if info == nil {
		tb.Fatalf("%v has no ErrorInfo detail", err)
	}
	if info.GetDomain() != protojwt.Domain || info.GetReason() != reason {
		tb.Errorf("ErrorInfo = {domain %q, reason %q}, want {%s, %s}", info.GetDomain(), info.GetReason(), protojwt.Domain, reason)
	}
	if r, ok := protojwt.ReasonOf(err); !ok || r != reason {
		tb.Errorf("ReasonOf = %q, %v; want %s", r, ok, reason)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			tb.Errorf("message %q quotes the token", msg)
		}
	}
}

// CheckReply fails tb unless err is nil and r says the handler saw
// subject, with a token unless subject is "".
func CheckReply(tb testing.TB, r *testpb.Reply, err error, subject string) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("call failed: %v", err)
	}
	if r.GetSubject() != subject || r.GetHasToken() != (subject != "") {
		tb.Errorf("handler saw {subject %q, token %v}, want {%q, %v}", r.GetSubject(), r.GetHasToken(), subject, subject != "")
	}
}

// CodeOf is the status code of a denial reason, from the denial table.
func CodeOf(tb testing.TB, reason string) codes.Code {
	tb.Helper()
	if !denial.Known(reason) {
		tb.Fatalf("test bug: unknown reason %q", reason)
	}
	return codes.Code(denial.Of(reason).Code)
}

// MessageOf returns the message of a gRPC status error or a
// *connect.Error, "" for another error.
func MessageOf(err error) string {
	if ce, ok := errors.AsType[*connect.Error](err); ok {
		return ce.Message()
	}
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return ""
}
