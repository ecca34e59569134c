package rules

import (
	"errors"

	"github.com/protojwt/protojwt/manager"
)

// ErrNotDeclared means the called method or route declares no rule and was
// not opened explicitly: protojwt fails closed.
var ErrNotDeclared = errors.New("protojwt: no rule declared for this method")

// Stable reasons of denials: the gRPC ErrorInfo reason and the "reason" of
// the HTTP error body. Clients may match them; they never change.
const (
	ReasonTokenMissing          = "TOKEN_MISSING"
	ReasonTokenInvalid          = "TOKEN_INVALID"
	ReasonTokenExpired          = "TOKEN_EXPIRED"
	ReasonTokenRevoked          = "TOKEN_REVOKED"
	ReasonTokenType             = "TOKEN_TYPE"
	ReasonClaimMismatch         = "CLAIM_MISMATCH"
	ReasonScopeMissing          = "SCOPE_MISSING"
	ReasonNoAlternative         = "NO_ALTERNATIVE"
	ReasonMethodNotDeclared     = "METHOD_NOT_DECLARED"
	ReasonRevocationUnavailable = "REVOCATION_UNAVAILABLE"
)

// Denial says how an adapter should refuse a call.
type Denial int

const (
	// Unauthenticated: no valid credential (gRPC Unauthenticated, HTTP 401).
	Unauthenticated Denial = iota + 1
	// PermissionDenied: a valid credential without the rights (gRPC
	// PermissionDenied, HTTP 403).
	PermissionDenied
	// Unavailable: the credential can't be checked now, as when the
	// revocation store does not answer (gRPC Unavailable, HTTP 503). The
	// client may retry.
	Unavailable
)

// reasons describes every reason Classify returns: its kind of denial and
// the short fixed text that adapters show clients. No text is derived from
// a token or from an error that could quote one.
var reasons = map[string]struct {
	kind Denial
	text string
}{
	ReasonTokenMissing:          {Unauthenticated, "missing bearer token"},
	ReasonTokenInvalid:          {Unauthenticated, "invalid token"},
	ReasonTokenExpired:          {Unauthenticated, "token expired"},
	ReasonTokenRevoked:          {Unauthenticated, "token revoked"},
	ReasonTokenType:             {Unauthenticated, "wrong token type"},
	ReasonMethodNotDeclared:     {Unauthenticated, "method not declared"},
	ReasonClaimMismatch:         {PermissionDenied, "claim mismatch"},
	ReasonScopeMissing:          {PermissionDenied, "insufficient scope"},
	ReasonNoAlternative:         {PermissionDenied, "no alternative rule holds"},
	ReasonRevocationUnavailable: {Unavailable, "token can't be checked now"},
}

// Classify returns the kind of denial and the stable reason for an error
// from Authorize, Check or manager.Verify. Every non-nil error is a denial:
// an error protojwt does not know is an invalid token.
func Classify(err error) (Denial, string) {
	reason := reasonOf(err)
	return reasons[reason].kind, reason
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, errNoAlternative):
		return ReasonNoAlternative
	case errors.Is(err, manager.ErrClaim):
		return ReasonClaimMismatch
	case errors.Is(err, manager.ErrScope):
		return ReasonScopeMissing
	case errors.Is(err, ErrNotDeclared):
		return ReasonMethodNotDeclared
	case errors.Is(err, manager.ErrNoToken):
		return ReasonTokenMissing
	case errors.Is(err, manager.ErrExpired):
		return ReasonTokenExpired
	case errors.Is(err, manager.ErrRevocationUnavailable):
		return ReasonRevocationUnavailable
	case errors.Is(err, manager.ErrRevoked):
		return ReasonTokenRevoked
	case errors.Is(err, manager.ErrTokenType):
		return ReasonTokenType
	}
	return ReasonTokenInvalid
}

// Describe returns the short text that tells a client what a reason means,
// the same over gRPC and HTTP, or "" for a reason Classify never returns.
func Describe(reason string) string { return reasons[reason].text }

// Reasons returns every reason Classify can return, with its kind, for
// adapters that prepare their answers once.
func Reasons() map[string]Denial {
	out := make(map[string]Denial, len(reasons))
	for r, info := range reasons {
		out[r] = info.kind
	}
	return out
}
