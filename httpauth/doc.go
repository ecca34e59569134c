// Package httpauth enforces protojwt's rules on net/http handlers: the
// requirements of the proto options (token type, issuers, audiences, claims
// equal to a literal or a path wildcard, checks, scope, scopes, expressions,
// alternatives)
// written in Go, and decided by the same engine as the gRPC interceptor.
//
//	m, err := manager.New(cfg)
//	guard := httpauth.New(m) // options: WithCookie, WithPathValue, WithErrorHandler, WithRealm
//	mux := http.NewServeMux()
//	// requirements compiled once, here; a mistake panics, as ServeMux does
//	guard.Handle(mux, "GET /users/{username}", users, httpauth.ClaimFromPath("sub", "username"))
//	guard.Handle(mux, "POST /refresh", refresh, httpauth.TokenType(manager.Refresh))
//	guard.Handle(mux, "GET /health", health, httpauth.Public())
//	mux.Handle("GET /me", guard.Require()(me)) // or as middleware
//	// in users: the verified token of the caller
//	tok, ok := manager.FromContext(r.Context())
//
// Per request the middleware reads the token from the one "Authorization:
// Bearer <jwt>" header (or a cookie, with [WithCookie]), verifies it, checks
// the proof of possession of a sender-constrained token ("Authorization:
// DPoP <jwt>" and a DPoP proof, or the TLS client certificate: see
// [WithDPoP]), checks
// the route's rule against the token and the request's path values, and
// calls the handler with the token in the request's context. A public route
// calls the handler unchanged and reads no token.
//
// Refusals follow RFC 6750: 401 with a WWW-Authenticate challenge
// (error="invalid_token", or no error attribute when no token was sent) when
// the caller sent no valid token of the right type; 403 with
// error="insufficient_scope" when the token lacks a claim or scope. The body
// is JSON, {"error": "token expired", "reason": "TOKEN_EXPIRED"}, with the
// same stable reasons as the gRPC interceptor's ErrorInfo.
//
// Mistakes show when a route is registered, as with [http.ServeMux]: Require
// panics on requirements that can't hold (Compile returns the error), and
// Handle also panics when a wildcard that [ClaimFromPath] or a [FromRule] field
// names, or that an Expr or a [FromRule] expr reads, is not in the route's
// pattern:
//
//	guard.Handle(mux, "GET /users/{username}", users, httpauth.ClaimFromPath("sub", "username"))
//
// With [WithCookie], a state-changing request that the cookie authenticates
// must carry the token's CSRFToken in its X-CSRF-Token header (403,
// CSRF_MISMATCH otherwise); requests with an Authorization header need none.
package httpauth
