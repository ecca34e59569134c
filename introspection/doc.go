// Package introspection verifies opaque access tokens by asking the
// authorization server that issued them, through OAuth 2.0 Token
// Introspection (RFC 7662). An [*Introspector] is a [manager.Verifier]:
// the adapters (interceptor, connectauth, httpauth) take it as they take a
// *[manager.Manager], and every rule works unchanged on the Tokens it
// returns (sub, scope, iss, exp, iat, client_id and every other member of
// the answer are claims).
//
//	in, err := introspection.New(ctx, introspection.Config{
//		Issuer:       "https://idp.example", // the endpoint found by discovery
//		ClientID:     "orders-api",
//		ClientSecret: os.Getenv("INTROSPECTION_SECRET"), // or PrivateKey: private_key_jwt
//	})
//	jwts, err := manager.Open(ctx, manager.Config{Issuer: "https://idp.example", Discovery: true})
//	v, err := introspection.NewRouter(jwts, in) // JWTs verified locally, the rest introspected
//	auth, err := interceptor.New(v)
//
// Answers are cached in memory bounded in bytes, keyed by a hash of the
// token (never the token): an active one until the earlier of its exp and
// [WithCacheTTL], an inactive one for [WithInactiveTTL]. Concurrent calls with
// the same token make one request. An endpoint that can't be reached, or
// answers with an error, fails with an error wrapping
// [manager.ErrKeysUnavailable] (KEYS_UNAVAILABLE: retryable, never an
// allow); a token the endpoint says is not active fails with
// [ErrInactive] (TOKEN_INVALID).
package introspection
