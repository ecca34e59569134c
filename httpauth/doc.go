// Package httpauth enforces protojwt's rules on net/http handlers: the
// requirements of the proto options (token type, claims equal to a literal
// or a path wildcard, scope, scopes, alternatives) written in Go, and decided
// by the same engine as the gRPC interceptor.
//
//	m, err := manager.New(cfg)
//	guard := httpauth.New(m) // options: WithCookie, WithPathValue, WithErrorHandler, WithRealm
//	mux := http.NewServeMux()
//	mux.Handle("GET /users/{username}", // requirements compiled once, here
//		guard.Require(httpauth.ClaimFromPath("sub", "username"))(users))
//	mux.Handle("POST /refresh", guard.Require(httpauth.TokenType(manager.Refresh))(refresh))
//	mux.Handle("GET /health", guard.Require(httpauth.Public())(health))
//	// in users: the verified token of the caller
//	tok, ok := manager.FromContext(r.Context())
//
// Per request the middleware reads the token from the one "Authorization:
// Bearer <jwt>" header (or a cookie, with WithCookie), verifies it, checks
// the route's rule against the token and the request's path values, and
// calls the handler with the token in the request's context. A public route
// calls the handler unchanged and reads no token.
//
// Refusals follow RFC 6750: 401 with a WWW-Authenticate challenge
// (error="invalid_token", or no error attribute when no token was sent) when
// the caller sent no valid token of the right type; 403 with
// error="insufficient_scope" when the token lacks a claim or scope. The body
// is JSON, {"error": "token expired", "reason": "TOKEN_EXPIRED"}, with the
// same stable reasons as the gRPC interceptor's ErrorInfo. Requirements that
// can't be combined make a route that answers 500 with reason RULE_INVALID:
// the guard fails closed. Compile reports the same problem as an error.
package httpauth
