package interceptor

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt/internal/rules"
)

// errorDomain is the domain of the google.rpc.ErrorInfo of every denial.
const errorDomain = "protojwt"

// denials are the status errors of every denial reason, built once so that
// refusing a call allocates nothing. A status error is immutable.
var denials = func() map[string]error {
	m := make(map[string]error)
	for reason, kind := range rules.Reasons() {
		m[reason] = newDenial(kind, reason, rules.Describe(reason))
	}
	return m
}()

// denialError returns the status error that refuses a call for err, an
// error of the rule engine or the manager: codes.Unauthenticated,
// codes.PermissionDenied or codes.Unavailable as rules.Classify decides,
// with a google.rpc.ErrorInfo detail that carries the stable reason. It is
// the one place where the interceptors turn errors into statuses.
func denialError(err error) error {
	kind, reason := rules.Classify(err)
	if e, ok := denials[reason]; ok {
		return e
	}
	return newDenial(kind, reason, "request refused") // Classify returns only known reasons
}

// newDenial builds the status error of one denial.
func newDenial(kind rules.Denial, reason, msg string) error {
	code := codes.Unauthenticated
	switch kind {
	case rules.PermissionDenied:
		code = codes.PermissionDenied
	case rules.Unavailable:
		code = codes.Unavailable
	}
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{
		Reason: reason,
		Domain: errorDomain,
	})
	if err != nil {
		// ErrorInfo always marshals; keep the code if it ever does not.
		return status.Error(code, msg)
	}
	return st.Err()
}
