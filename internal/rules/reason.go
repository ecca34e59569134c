package rules

import (
	"errors"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/manager"
)

// ErrNotDeclared means the called method or route declares no rule and was
// not opened explicitly: protojwt fails closed.
var ErrNotDeclared = errors.New("protojwt: no rule declared for this method")

// ErrCSRF means a request authenticated by a cookie lacks its CSRF proof.
var ErrCSRF = errors.New("protojwt: missing or wrong CSRF token")

// Denial says how an adapter should refuse a call.
type Denial int

const (
	// Unauthenticated: no valid credential (gRPC Unauthenticated, HTTP 401).
	Unauthenticated Denial = iota + 1
	// PermissionDenied: a valid credential without the rights (gRPC
	// [PermissionDenied], HTTP 403).
	PermissionDenied
	// Unavailable: the credential can't be checked now, as when the
	// revocation store does not answer (gRPC Unavailable, HTTP 503). The
	// client may retry.
	Unavailable
)

// Classify returns the kind of denial and the stable reason for an error
// from Authorize, Check or [manager.Manager.Verify]. Every non-nil error is a denial:
// an error protojwt does not know is an invalid token.
func Classify(err error) (Denial, string) {
	reason := reasonOf(err)
	return kindOf(denial.Of(reason).Code), reason
}

// kindOf returns the kind of denial of a code of the denial table.
func kindOf(code denial.Code) Denial {
	switch code {
	case denial.PermissionDenied:
		return PermissionDenied
	case denial.Unavailable:
		return Unavailable
	}
	return Unauthenticated
}

// reasons are the sentinels that tell the reasons apart, in the order
// they are tried: an error is denied for the first whose sentinel its
// chain holds ([errors.Is]), and is an invalid token when it holds none.
// errNoAlternative and the expression's errors wrap manager.ErrClaim, so
// they come before it.
var reasons = [...]struct {
	err    error
	reason string
}{
	{errNoAlternative, protojwt.ReasonNoAlternative},
	{ErrExpressionFalse, protojwt.ReasonExpressionFalse},
	{ErrExpression, protojwt.ReasonExpressionError},
	{ErrCSRF, protojwt.ReasonCSRF},
	{manager.ErrClaim, protojwt.ReasonClaimMismatch},
	{manager.ErrScope, protojwt.ReasonScopeMissing},
	{ErrNotDeclared, protojwt.ReasonMethodNotDeclared},
	{manager.ErrNoToken, protojwt.ReasonTokenMissing},
	{bearer.ErrRequest, protojwt.ReasonRequestMalformed},
	{manager.ErrExpired, protojwt.ReasonTokenExpired},
	{manager.ErrRevocationUnavailable, protojwt.ReasonRevocationUnavailable},
	{manager.ErrKeysUnavailable, protojwt.ReasonKeysUnavailable},
	{manager.ErrRevoked, protojwt.ReasonTokenRevoked},
	{manager.ErrTokenType, protojwt.ReasonTokenType},
	{dpop.ErrProofMissing, protojwt.ReasonProofMissing},
	{dpop.ErrProofInvalid, protojwt.ReasonProofInvalid},
}

// reasonOf returns the reason of err: that of the first of reasons that
// errors.Is finds in err, found in one walk of err's tree rather than one
// walk per sentinel.
func reasonOf(err error) string {
	if i := firstReason(err, len(reasons)); i < len(reasons) {
		return reasons[i].reason
	}
	return protojwt.ReasonTokenInvalid
}

// firstReason returns the index of the first of reasons[:limit] that err's
// tree holds, as errors.Is matches it (the sentinels are pointers, which
// compare without panicking), or limit when it holds none.
func firstReason(err error, limit int) int {
	for err != nil && limit > 0 {
		is, hasIs := err.(interface{ Is(error) bool })
		for i := range limit {
			if err == reasons[i].err || hasIs && is.Is(reasons[i].err) {
				limit = i
				break
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				limit = firstReason(e, limit)
			}
			return limit
		default:
			return limit
		}
	}
	return limit
}
