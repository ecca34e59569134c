package interceptor

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/rpcadapter"
)

// denials are the status errors of every denial reason, built once so that
// refusing a call allocates nothing. A status error is immutable.
var denials = rpcadapter.Prebuild(newDenial, func(e error) error { return e })

// Deny returns the status error the interceptors refuse a call with for
// err, an error wrapping one of manager's sentinels, as Verify,
// RotateRefreshToken and the rule engine return them: for a handler that
// checks a token itself, such as a refresh method, so that its clients read
// the same codes and reasons ([protojwt.ReasonOf]) as the interceptors'. A
// reused refresh token ([manager.ErrRefreshReuse]) is TOKEN_REVOKED. Any
// other error is TOKEN_INVALID; a nil err is nil. The error never quotes
// err.
//
//	auth, refresh, err := m.RotateRefreshToken(ctx, tok.Signed, grant)
//	if err != nil {
//		return nil, interceptor.Deny(err)
//	}
func Deny(err error) error {
	if err == nil {
		return nil
	}
	return denials.Deny("", err)
}

// newDenial builds the status error of one denial: the code of the denial
// table, and a google.rpc.ErrorInfo detail that carries the stable reason.
// It is the one place where the interceptors make a status.
func newDenial(code denial.Code, reason, msg string) error {
	st, err := status.New(codes.Code(code), msg).WithDetails(&errdetails.ErrorInfo{
		Reason: reason,
		Domain: protojwt.Domain,
	})
	if err != nil {
		// ErrorInfo always marshals; keep the code if it ever does not.
		return status.Error(codes.Code(code), msg)
	}
	return st.Err()
}
