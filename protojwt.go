// Package protojwt is the vocabulary shared by every protojwt adapter and by
// the clients of a protojwt service: the error domain, the stable reasons of
// denials, [ReasonOf] to read one from a client-side error, and the Decision
// that decision hooks receive.
//
// The adapters live in packages of their own: interceptor (grpc-go),
// connectauth (connect-go) and httpauth (net/http). Tokens are issued and
// verified by package manager.
//
//	_, err := client.Protected(ctx, req)
//	if reason, ok := protojwt.ReasonOf(err); ok && reason == protojwt.ReasonTokenExpired {
//		// refresh and retry
//	}
package protojwt

import (
	"errors"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt/manager"
)

// Domain is the domain of the google.rpc.ErrorInfo that every gRPC and
// connect denial carries.
const Domain = "protojwt"

// ErrInvalidRule means a rule can't be enforced: an adapter (interceptor,
// connectauth, httpauth) refuses to be built, or a route to be registered,
// with an error wrapping it. A [RuleError] says where.
var ErrInvalidRule = errors.New("protojwt: invalid rule")

// ErrInvalidOption means an option given to an adapter can't be used: a
// malformed method or service name, a public method or service that
// declares a rule, a nil resolver, a bad metadata key, and the like.
var ErrInvalidOption = errors.New("protojwt: invalid adapter option")

// RuleError is a rule an adapter can't enforce, found when it is built: a
// rule option that can't be read, an inconsistent rule, a request field or
// path wildcard that does not exist or can't be compared, or an expression
// that does not compile. Err wraps [ErrInvalidRule]. The adapters return every
// [RuleError] they find, joined with [errors.Join]; [errors.As] finds the first.
type RuleError struct {
	// Procedure is where the rule is declared: a full method name
	// ("/pkg.Service/Method"), a service name ("pkg.Service") for its
	// default_rule, or an HTTP route pattern.
	Procedure string
	// Field is the request field path or path wildcard at fault, "" when the
	// fault is not about one.
	Field string
	// Err says what is wrong; it wraps [ErrInvalidRule].
	Err error
}

// Error returns where and what.
func (e *RuleError) Error() string {
	return "protojwt: " + e.Procedure + ": " + strings.TrimPrefix(e.Err.Error(), "protojwt: ")
}

// Unwrap returns Err.
func (e *RuleError) Unwrap() error { return e.Err }

// Reasons of denials: the reason of the ErrorInfo of a gRPC or connect
// denial, and the "reason" member of an HTTP denial's JSON body. They never
// change; clients may match them.
const (
	// ReasonTokenMissing: no token was sent. gRPC Unauthenticated, HTTP 401.
	ReasonTokenMissing = "TOKEN_MISSING"
	// ReasonTokenInvalid: the token is malformed, badly signed, of another
	// issuer or audience, or not valid yet. gRPC Unauthenticated, HTTP 401.
	ReasonTokenInvalid = "TOKEN_INVALID"
	// ReasonRequestMalformed: the credential is malformed as a request,
	// whatever the token: no "Bearer" or "DPoP" scheme, an empty
	// token, whitespace inside, or several authorization values. gRPC
	// Unauthenticated, HTTP 400 with error="invalid_request" (RFC 6750
	// section 3.1); the message says what was wrong, and nothing about the
	// token.
	ReasonRequestMalformed = "REQUEST_MALFORMED"
	// ReasonTokenExpired: the token expired. gRPC Unauthenticated, HTTP 401.
	ReasonTokenExpired = "TOKEN_EXPIRED"
	// ReasonTokenRevoked: the token was revoked. gRPC Unauthenticated,
	// HTTP 401.
	ReasonTokenRevoked = "TOKEN_REVOKED"
	// ReasonTokenType: the token is not of the type the call needs (a
	// refresh token where an auth token is needed, or the reverse). gRPC
	// Unauthenticated, HTTP 401.
	ReasonTokenType = "TOKEN_TYPE"
	// ReasonClaimMismatch: a claim the rule names is missing or has another
	// value. gRPC PermissionDenied, HTTP 403.
	ReasonClaimMismatch = "CLAIM_MISMATCH"
	// ReasonScopeMissing: the token's scope lacks what the rule needs. gRPC
	// PermissionDenied, HTTP 403.
	ReasonScopeMissing = "SCOPE_MISSING"
	// ReasonNoAlternative: none of the rule's any_of alternatives holds.
	// gRPC PermissionDenied, HTTP 403.
	ReasonNoAlternative = "NO_ALTERNATIVE"
	// ReasonExpressionFalse: the rule's CEL expression is false. gRPC
	// PermissionDenied, HTTP 403.
	ReasonExpressionFalse = "EXPRESSION_FALSE"
	// ReasonExpressionError: the rule's CEL expression could not be
	// evaluated (a missing claim, a wrong type, the cost limit). gRPC
	// PermissionDenied, HTTP 403.
	ReasonExpressionError = "EXPRESSION_ERROR"
	// ReasonMethodNotDeclared: the method declares no rule and the server did
	// not open it. gRPC PermissionDenied, HTTP 403: another token would not
	// help, so clients must not refresh and retry.
	ReasonMethodNotDeclared = "METHOD_NOT_DECLARED"
	// ReasonCSRF: a state-changing HTTP request authenticated by a cookie
	// came without a matching CSRF proof. HTTP 403.
	ReasonCSRF = "CSRF_MISMATCH"
	// ReasonRevocationUnavailable: the token can't be checked now because the
	// revocation store does not answer. gRPC Unavailable, HTTP 503; the
	// client may retry.
	ReasonRevocationUnavailable = "REVOCATION_UNAVAILABLE"
	// ReasonKeysUnavailable: the token can't be checked now because there
	// are no usable keys yet (the identity provider has not answered since
	// the service started) or the keys are too old (its last good fetch is
	// older than the limit). gRPC Unavailable, HTTP 503 with Retry-After;
	// the client may retry with the same token. It never means the token is
	// bad: a client must not make its user log in again for it.
	ReasonKeysUnavailable = "KEYS_UNAVAILABLE"
	// ReasonProofMissing: a sender-constrained token came without its
	// proof of possession: a DPoP-bound token sent as a bearer token or
	// without a DPoP proof, a certificate-bound token over a connection
	// without the client certificate, or an unbound token where the rule
	// requires a bound one (require_binding). gRPC Unauthenticated, HTTP 401
	// with WWW-Authenticate: DPoP error="invalid_dpop_proof" (Bearer
	// error="invalid_token" for certificates).
	ReasonProofMissing = "PROOF_MISSING"
	// ReasonProofInvalid: a DPoP proof or client certificate fails a check
	// (signature, key, method, URL, time, token hash, replay, nonce). gRPC
	// Unauthenticated, HTTP 401 with WWW-Authenticate: DPoP
	// error="invalid_dpop_proof", or error="use_dpop_nonce" and a
	// DPoP-Nonce header when the server's nonce is needed.
	ReasonProofInvalid = "PROOF_INVALID"
)

// Decision is one decision of an adapter, given to the hooks that
// WithDecisionHook installs: once per call, and once per received message
// of a stream whose rule reads the request.
type Decision struct {
	// Procedure is what was called: the full gRPC method name
	// ("/pkg.Service/Method") for gRPC and connect, the route pattern
	// ("GET /users/{id}", or the request's method and path when the route
	// has no pattern) for HTTP.
	Procedure string
	// Allowed reports whether the call, or the message, may go on.
	Allowed bool
	// Reason is the stable reason of a denial (a Reason* constant), "" when
	// allowed; under DryRun, that of the denial enforcing would have made.
	Reason string
	// Err is the cause of a denial, an error wrapping one of manager's
	// sentinels; nil when allowed (under DryRun, set when enforcing would
	// have denied). A rule's denial names the part that
	// failed: `protojwt: claim mismatch: claim realm_access.roles: contains
	// "orders-admin": no element equal`, the scope missing, why each
	// alternative of an any_of failed, the token type wanted and sent. It
	// never holds the token nor a claim's value, but it is for logs, not
	// for clients.
	Err error
	// Token is the verified token, also when the rule refused it (so that
	// an audit names the caller); nil when none was sent, the rule is
	// public, or the token did not verify. Hooks must not modify it.
	Token *manager.Token
	// Message is true for the check of a received stream message, false for
	// the decision when a call opens.
	Message bool
	// Duration is how long deciding took, verification included.
	Duration time.Duration
	// DryRun is true for a decision made by a dry-run rule (the Rule's
	// dry_run) or under an adapter's WithDryRun: Allowed is true, and
	// Reason and Err say what enforcing would have done (both empty when
	// the rule holds). The handler still sees a token only when it
	// verified.
	DryRun bool
}

// Expressions compiles the expr of rules (see the Rule message of package
// annotations): the adapters' WithExpressions option takes one, and
// package github.com/protojwt/protojwt/celexpr provides it with CEL. The
// core module links no expression language: an adapter given a rule with an
// expr and no Expressions refuses to start.
type Expressions interface {
	// Compile compiles and type-checks expr when an adapter is built.
	// request is the descriptor of the method's request message (gRPC and
	// connect), nil for an HTTP route, whose request variables are its path
	// wildcards. An error says why expr can't be used: it does not parse,
	// is not a bool, or names an unknown field.
	Compile(expr string, request protoreflect.MessageDescriptor) (Expression, error)
}

// Expression is a compiled expr. It is immutable and safe for concurrent
// use.
type Expression interface {
	// Eval evaluates the expression on one call, within the limits of the
	// Expressions that compiled it. An error, such as a missing claim or a
	// cost limit reached, denies the call with [ReasonExpressionError]; its
	// text reaches [Decision].Err, for logs, and never the client.
	Eval(in ExpressionInput) (bool, error)
	// ReadsRequest reports whether the expression reads the request, so that
	// a stream must evaluate it on every message it receives.
	ReadsRequest() bool
}

// WildcardReader is implemented by an Expression, compiled for an HTTP
// route, that can name the path wildcards it reads. httpauth's Guard.Handle
// checks them against the route's pattern, as it checks ClaimFromPath's, so
// that a misspelled wildcard is an error at registration, not a 403 on
// every request.
type WildcardReader interface {
	// Wildcards returns the names of the path wildcards the expression
	// reads without first testing that they are there.
	Wildcards() []string
}

// ExpressionInput is what an Expression sees of one call.
type ExpressionInput struct {
	// Claims are every claim of the verified token, decoded JSON.
	Claims map[string]any
	// Request is the request message (gRPC and connect); nil for HTTP.
	Request proto.Message
	// Path holds the path wildcards of an HTTP route; nil for gRPC and
	// connect.
	Path map[string]string
}
