package manager

import "errors"

// Authentication failures: the caller did not prove who it is. Adapters map
// them to gRPC Unauthenticated and HTTP 401.
var (
	// ErrNoToken means no token was presented.
	ErrNoToken = errors.New("protojwt: no token")
	// ErrMalformed means the token is not a well-formed JWT with the claims
	// this project requires: bad segments, base64 or JSON, a missing exp, iat,
	// iss or type claim, a claim of the wrong JSON type, or over the size bound.
	ErrMalformed = errors.New("protojwt: malformed token")
	// ErrSignature means the signature does not verify with the configured key.
	ErrSignature = errors.New("protojwt: invalid signature")
	// ErrAlgorithm means the token names an algorithm other than the
	// configured one (including "none"), or the key for it is unusable.
	ErrAlgorithm = errors.New("protojwt: unexpected signing algorithm")
	// ErrExpired means the token's exp is in the past, beyond the leeway.
	ErrExpired = errors.New("protojwt: token expired")
	// ErrNotYetValid means the token's nbf or iat is in the future, beyond the leeway.
	ErrNotYetValid = errors.New("protojwt: token not valid yet")
	// ErrIssuer means the token's iss is not the configured issuer.
	ErrIssuer = errors.New("protojwt: wrong issuer")
	// ErrAudience means the token's aud names none of the configured audiences.
	ErrAudience = errors.New("protojwt: wrong audience")
	// ErrRevoked means the token was revoked before its expiry.
	ErrRevoked = errors.New("protojwt: token revoked")
)

// Authorization failures: the caller is known but may not make this call.
// ErrTokenType maps to Unauthenticated/401 (the wrong credential was sent);
// ErrClaim and ErrScope map to PermissionDenied/403.
var (
	// ErrTokenType means the token's type is not the one required.
	ErrTokenType = errors.New("protojwt: wrong token type")
	// ErrClaim means a required claim is missing or has another value.
	ErrClaim = errors.New("protojwt: claim mismatch")
	// ErrScope means the token's scope lacks what is required.
	ErrScope = errors.New("protojwt: insufficient scope")
)

// Configuration and issuing failures, returned by ConfigFromEnv, New,
// AuthToken and RefreshToken; never by Verify.
var (
	// ErrConfig means a Config can't be used safely; New and ConfigFromEnv
	// wrap it with the reason. AuthToken and RefreshToken of a verify-only
	// Manager (one without PrivateKey) return it too.
	ErrConfig = errors.New("protojwt: invalid configuration")
	// ErrReservedClaim means a custom claim passed to AuthToken or
	// RefreshToken would replace one the Manager sets: iss, sub, aud, exp,
	// nbf, iat, jti, type, scope or fam.
	ErrReservedClaim = errors.New("protojwt: reserved claim")
	// ErrJWKS means the JWK Set of Config.JWKSURL can't be used: New and
	// Open return it when the first fetch fails, times out, is not a JWK Set,
	// or holds no key usable with Config.Algorithm.
	ErrJWKS = errors.New("protojwt: JWK Set unavailable")
)
