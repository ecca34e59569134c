// Package denial is how every protojwt adapter answers a denial: one table
// that gives each reason (the protojwt.Reason* constants) its gRPC status
// code, which connect-go shares, its HTTP status and the short fixed text
// clients read. The gRPC interceptor, connect's interceptor and httpauth
// all read it; a reason added to package protojwt gets its row here, and a
// test fails until it has one.
//
//	a := denial.Of(protojwt.ReasonTokenExpired)
//	status.Error(codes.Code(a.Code), a.Text) // gRPC
//	connect.Code(a.Code)                     // connect
//	w.WriteHeader(a.Status)                  // net/http
package denial

import (
	"maps"
	"net/http"

	"github.com/protojwt/protojwt"
)

// Code is a gRPC status code, as a number: connect.Code numbers them the
// same way. The table keeps numbers so that httpauth links no grpc.
type Code uint32

// The codes of denials: the numbers of codes.Unauthenticated,
// codes.PermissionDenied and codes.Unavailable (and of connect's).
const (
	PermissionDenied Code = 7
	Unavailable      Code = 14
	Unauthenticated  Code = 16
)

// Answer is how the adapters answer one reason.
type Answer struct {
	// Code is the gRPC and connect code.
	Code Code
	// Status is the HTTP status.
	Status int
	// Text tells a client what the reason means, the same on every
	// transport. It is never derived from a token or from an error that
	// could quote one.
	Text string
}

// answers is the table, by reason.
var answers = map[string]Answer{
	protojwt.ReasonTokenMissing: {Unauthenticated, http.StatusUnauthorized, "missing bearer token"},
	protojwt.ReasonTokenInvalid: {Unauthenticated, http.StatusUnauthorized, "invalid token"},
	protojwt.ReasonTokenExpired: {Unauthenticated, http.StatusUnauthorized, "token expired"},
	protojwt.ReasonTokenRevoked: {Unauthenticated, http.StatusUnauthorized, "token revoked"},
	protojwt.ReasonTokenType:    {Unauthenticated, http.StatusUnauthorized, "wrong token type"},
	// A credential malformed as a request: RFC 6750 section 3.1's
	// invalid_request, 400 in HTTP.
	protojwt.ReasonRequestMalformed: {Unauthenticated, http.StatusBadRequest, "malformed authorization"},
	// A bound token without its proof of possession, or one that fails:
	// 401 with a DPoP (RFC 9449 section 7.1) or Bearer challenge.
	protojwt.ReasonProofMissing: {Unauthenticated, http.StatusUnauthorized, "proof of possession missing"},
	protojwt.ReasonProofInvalid: {Unauthenticated, http.StatusUnauthorized, "invalid proof of possession"},

	protojwt.ReasonMethodNotDeclared: {PermissionDenied, http.StatusForbidden, "method not declared"},
	protojwt.ReasonClaimMismatch:     {PermissionDenied, http.StatusForbidden, "claim mismatch"},
	protojwt.ReasonScopeMissing:      {PermissionDenied, http.StatusForbidden, "insufficient scope"},
	protojwt.ReasonNoAlternative:     {PermissionDenied, http.StatusForbidden, "no alternative rule holds"},
	protojwt.ReasonExpressionFalse:   {PermissionDenied, http.StatusForbidden, "rule expression is false"},
	protojwt.ReasonExpressionError:   {PermissionDenied, http.StatusForbidden, "rule expression can't be evaluated"},
	protojwt.ReasonCSRF:              {PermissionDenied, http.StatusForbidden, "missing or wrong CSRF token"},

	protojwt.ReasonRevocationUnavailable: {Unavailable, http.StatusServiceUnavailable, "token can't be checked now"},
}

// unknown answers a reason the table lacks, which the rule engine never
// returns: as an invalid token, with no text of its own.
var unknown = Answer{Unauthenticated, http.StatusUnauthorized, "request refused"}

// Of returns the answer to reason.
func Of(reason string) Answer {
	if a, ok := answers[reason]; ok {
		return a
	}
	return unknown
}

// Known reports whether the table has a row for reason.
func Known(reason string) bool {
	_, ok := answers[reason]
	return ok
}

// All returns every row of the table, a map of the caller's own, for
// adapters that build their answers once.
func All() map[string]Answer { return maps.Clone(answers) }
