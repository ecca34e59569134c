package connectauth

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/rpcadapter"
)

// answer is what refusing a call for one reason needs, built once: the
// code, the message and the google.rpc.ErrorInfo detail, marshaled.
type answer struct {
	code   connect.Code
	msg    error
	detail *connect.ErrorDetail
}

// denials are the denials of every reason, by reason.
var denials = rpcadapter.Prebuild(newDenial, func(d *answer) error { return d.err() })

// err returns the *[connect.Error] of d, new for each call: a connect error
// is mutable (Meta, AddDetail) and an interceptor outside this one may add
// to it, so a shared one would carry one call's additions into another's.
func (d *answer) err() *connect.Error {
	e := connect.NewError(d.code, d.msg)
	if d.detail != nil {
		e.AddDetail(d.detail)
	}
	return e
}

// denialError returns the *[connect.Error] that refuses a call of procedure
// for err, an error of the rule engine or the verifier, as the denial
// table answers its reason, with a google.rpc.ErrorInfo detail (domain
// [protojwt.Domain]) that carries the stable reason. The denial of a
// procedure of the resolver that declares no rule names it, so that a
// client sees which one to declare or open.
func (i *Interceptor) denialError(procedure string, err error) *connect.Error {
	return i.core.Denials.Deny(procedure, err).err()
}

// Deny returns the *[connect.Error] the interceptor refuses a call with for
// err, an error wrapping one of manager's sentinels, as Verify,
// RotateRefreshToken and the rule engine return them: for a handler that
// checks a token itself, such as a refresh procedure, so that its clients
// read the same codes and reasons ([protojwt.ReasonOf]) as the
// interceptor's. A reused refresh token ([manager.ErrRefreshReuse]) is
// TOKEN_REVOKED. Any other error is TOKEN_INVALID; a nil err is nil. The
// error never quotes err.
//
//	auth, refresh, err := m.RotateRefreshToken(ctx, tok.Signed, grant)
//	if err != nil {
//		return nil, connectauth.Deny(err)
//	}
func Deny(err error) error {
	if err == nil {
		return nil
	}
	return denials.Deny("", err).err()
}

// newDenial builds the denial of one reason, with the code of the denial
// table: the one place where the interceptor makes a connect code.
func newDenial(code denial.Code, reason, msg string) *answer {
	// ErrorInfo always marshals; if it ever did not, the code would stay.
	detail, _ := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: reason, Domain: protojwt.Domain})
	return &answer{code: connect.Code(code), msg: errors.New(msg), detail: detail}
}
