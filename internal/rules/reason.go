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

func reasonOf(err error) string {
	switch {
	case errors.Is(err, errNoAlternative):
		return protojwt.ReasonNoAlternative
	case errors.Is(err, ErrExpressionFalse):
		return protojwt.ReasonExpressionFalse
	case errors.Is(err, ErrExpression):
		return protojwt.ReasonExpressionError
	case errors.Is(err, ErrCSRF):
		return protojwt.ReasonCSRF
	case errors.Is(err, manager.ErrClaim):
		return protojwt.ReasonClaimMismatch
	case errors.Is(err, manager.ErrScope):
		return protojwt.ReasonScopeMissing
	case errors.Is(err, ErrNotDeclared):
		return protojwt.ReasonMethodNotDeclared
	case errors.Is(err, manager.ErrNoToken):
		return protojwt.ReasonTokenMissing
	case errors.Is(err, bearer.ErrRequest):
		return protojwt.ReasonRequestMalformed
	case errors.Is(err, manager.ErrExpired):
		return protojwt.ReasonTokenExpired
	case errors.Is(err, manager.ErrRevocationUnavailable):
		return protojwt.ReasonRevocationUnavailable
	case errors.Is(err, manager.ErrKeysUnavailable):
		return protojwt.ReasonKeysUnavailable
	case errors.Is(err, manager.ErrRevoked):
		return protojwt.ReasonTokenRevoked
	case errors.Is(err, manager.ErrTokenType):
		return protojwt.ReasonTokenType
	case errors.Is(err, dpop.ErrProofMissing):
		return protojwt.ReasonProofMissing
	case errors.Is(err, dpop.ErrProofInvalid):
		return protojwt.ReasonProofInvalid
	}
	return protojwt.ReasonTokenInvalid
}
