package interceptor

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rules"
)

// denials are the status errors of every denial reason, built once so that
// refusing a call allocates nothing. A status error is immutable.
var denials = func() map[string]error {
	m := make(map[string]error)
	for reason, kind := range rules.Reasons() {
		m[reason] = newDenial(kind, reason, rules.Describe(reason))
	}
	return m
}()

// malformed are the status errors of the requests whose credential is
// malformed as a request, saying what was wrong, built once.
var malformed = func() map[*bearer.RequestError]error {
	m := make(map[*bearer.RequestError]error)
	for _, e := range bearer.RequestErrors() {
		m[e] = newDenial(rules.Malformed, protojwt.ReasonRequestMalformed, e.Message)
	}
	return m
}()

// denialError returns the status error that refuses a call of method for
// err, an error of the rule engine or the verifier: codes.Unauthenticated,
// codes.PermissionDenied or codes.Unavailable as rules.Classify decides,
// with a google.rpc.ErrorInfo detail that carries the stable reason. It is
// the one place where the interceptors turn errors into statuses. The
// denial of a method of the resolver that declares no rule names it, so
// that a client sees which one to declare or open.
func (i *Interceptor) denialError(method string, err error) error {
	if e, ok := i.notDeclared[method]; ok && errors.Is(err, rules.ErrNotDeclared) {
		return e
	}
	return Deny(err)
}

// Deny returns the status error the interceptors refuse a call with for
// err, an error wrapping one of manager's sentinels, as Verify,
// RotateRefreshToken and the rule engine return them: for a handler that
// checks a token itself, such as a refresh method, so that its clients read
// the same codes and reasons (protojwt.ReasonOf) as the interceptors'. A
// reused refresh token (manager.ErrRefreshReuse) is TOKEN_REVOKED. Any
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
	if re, ok := errors.AsType[*bearer.RequestError](err); ok && malformed[re] != nil {
		return malformed[re]
	}
	kind, reason := rules.Classify(err)
	if e, ok := denials[reason]; ok {
		return e
	}
	return newDenial(kind, reason, "request refused")
}

// notDeclaredDenials builds the denial of each method of table that
// declares no rule, naming it. Methods outside the resolver get the
// generic denial, built once: a caller can't make a denial allocate.
func notDeclaredDenials(table *methodrules.Table) map[string]error {
	m := make(map[string]error)
	for _, name := range table.Undeclared() {
		m[name] = newDenial(rules.PermissionDenied, protojwt.ReasonMethodNotDeclared,
			"method "+name+" not declared: it has no protojwt rule and no option opens it")
	}
	return m
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
		Domain: protojwt.Domain,
	})
	if err != nil {
		// ErrorInfo always marshals; keep the code if it ever does not.
		return status.Error(code, msg)
	}
	return st.Err()
}
