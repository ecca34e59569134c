// Package manager issues and verifies the JWTs of protojwt: auth tokens that
// authorize calls, refresh tokens that obtain new auth tokens, and the Token
// a handler finds in its context.
//
//	cfg, err := manager.ConfigFromEnv() // JWT_ISSUER, JWT_AUTHTYPE, JWT_SECRET, ...
//	m, err := manager.New(cfg)         // refuses weak secrets and mismatched keys
//
//	auth, err := m.AuthToken("alice", map[string]any{"admin": true}, nil)
//	refresh, err := m.RefreshToken("alice", nil)
//	// send auth.Signed and refresh.Signed to the client
//
//	tok, err := m.Verify(ctx, signed) // errors.Is(err, manager.ErrExpired), ...
//	ctx = manager.NewContext(ctx, tok)
//	tok, ok := manager.FromContext(ctx) // in the handler: the current token
//	var claims struct{ Account int64 `json:"account"` }
//	err = tok.Decode(&claims) // typed claims, integers above 2^53 exact
//
// Tokens are compact JWS with the claims iss, sub, iat, nbf, exp, jti, aud
// (when configured), type ("auth" or "refresh"), scope (auth tokens) and the
// caller's own. Verify accepts only the configured algorithm and issuer and
// reports every refusal as an error wrapping one of the Err* sentinels.
//
// Keys rotate on a live Manager: AddKey announces the next key, RotateKey
// signs with it, RemoveKey retires the old one; the kid header of a token
// selects its key. JWKS and JWKSHandler publish the public keys as a JWK
// Set, and a Manager with Config.JWKSURL (see Open) verifies the tokens of
// another service or an identity provider with the keys it publishes.
// [WithStartUnavailable] lets it start while the provider is down and
// [WithMaxKeyAge] bounds how long it trusts keys it can't refresh: both
// refuse tokens with [ErrKeysUnavailable], an outage a client retries.
// [NewIssuers] trusts several issuers; [NewTenantIssuers] the tenants of one
// provider by an issuer template, each with a Manager made on its first
// token.
//
// Verify keeps the tokens it verified ([WithVerifyCache], 10 000 tokens and
// [WithVerifyCacheBytes], 64 MiB, by default): a client's next call with the
// same token costs a hash lookup and the checks of its times and
// revocation, not a signature check. [CacheStats] reports its size, bytes,
// hits, misses and evictions. The Token a kept token yields is shared
// between calls; decisions read the Manager's private copy of its claims,
// so a handler that modifies it changes no decision, but should not.
//
// With a revocation store ([WithRevocation]), Verify also refuses revoked
// tokens, Revoke and RevokeSubject log out, and RotateRefreshToken exchanges
// a refresh token once, revoking its whole login when it is presented again.
package manager
