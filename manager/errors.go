package manager

import (
	"errors"
	"fmt"
)

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
// [ErrTokenType] maps to Unauthenticated/401 (the wrong credential was sent);
// [ErrClaim] and [ErrScope] map to PermissionDenied/403.
var (
	// ErrTokenType means the token's type is not the one required.
	ErrTokenType = errors.New("protojwt: wrong token type")
	// ErrClaim means a required claim is missing or has another value.
	ErrClaim = errors.New("protojwt: claim mismatch")
	// ErrScope means the token's scope lacks what is required.
	ErrScope = errors.New("protojwt: insufficient scope")
)

// Configuration and issuing failures, returned by [ConfigFromEnv], New,
// AuthToken and RefreshToken; never by Verify.
var (
	// ErrConfig means a Config can't be used safely; New and [ConfigFromEnv]
	// wrap it with the reason. AuthToken and RefreshToken of a verify-only
	// Manager (one without PrivateKey) return it too.
	ErrConfig = errors.New("protojwt: invalid configuration")
	// ErrReservedClaim means a custom claim passed to AuthToken or
	// RefreshToken would replace one the Manager sets: iss, sub, aud, exp,
	// nbf, iat, jti, type, scope or fam.
	ErrReservedClaim = errors.New("protojwt: reserved claim")
	// ErrJWKS means the JWK Set of Config.JWKSURL, or of the issuer's
	// metadata with Config.Discovery, can't be used: New and Open return it
	// when the first fetch fails, times out, is not a JWK Set (or metadata
	// of Config.Issuer), or holds no key usable with Config.Algorithms.
	ErrJWKS = errors.New("protojwt: JWK Set unavailable")
	// ErrKeysUnavailable means Verify can't judge the token now: its keys
	// come from an identity provider that has not answered yet (a Manager
	// opened with [WithStartUnavailable]) or whose last good fetch is older
	// than [WithMaxKeyAge] allows. It is an outage, not a bad token: adapters
	// map it to gRPC Unavailable and HTTP 503 (reason KEYS_UNAVAILABLE), and
	// the same token verifies once a fetch succeeds.
	ErrKeysUnavailable = errors.New("protojwt: keys unavailable")
)

// Revocation failures.
var (
	// ErrRevocationUnavailable means the revocation store did not answer: it
	// is wrapped together with the store's own error, so [errors.Is] matches
	// both. Verify returns it unless [WithRevocationFailOpen]; Revoke,
	// RevokeSubject and RotateRefreshToken always do. Adapters may map it to
	// gRPC Unavailable and HTTP 503: the token was not judged.
	ErrRevocationUnavailable = errors.New("protojwt: revocation store unavailable")
	// ErrRefreshReuse means RotateRefreshToken was given a refresh token that
	// had been exchanged already, a sign that it was stolen: every token of
	// its login is revoked. It wraps [ErrRevoked], so errors.Is(err,
	// [ErrRevoked]) holds too.
	ErrRefreshReuse = fmt.Errorf("protojwt: refresh token reused: %w", ErrRevoked)
)

// Errors of key selection, returned by the key function and translated by
// parseError. Their texts are fixed: a kid comes from the token and is
// never echoed.
var (
	errUnknownKey = &keyError{"kid names no key of this Manager", ErrSignature}
	errKeyID      = &keyError{"kid header is not a string", ErrMalformed}
	errUnusable   = &keyError{"the key of this kid is not usable with the configured algorithm", ErrAlgorithm}
)

// keyError is a refusal of the key function with the sentinel it stands for.
type keyError struct {
	reason   string
	sentinel error
}

func (e *keyError) Error() string { return e.reason }

// keySelectionError returns the Verify error for err when err is a refusal
// of key selection, and nil otherwise.
func keySelectionError(err error) error {
	var ke *keyError
	if errors.As(err, &ke) {
		return verifyError(ke.reason, ke.sentinel)
	}
	return nil
}

// verifyError wraps sentinel with the reason Verify refused a token. The
// reason is ours, never text from the token.
func verifyError(reason string, sentinel error) error {
	return fmt.Errorf("manager: verify: %s: %w", reason, sentinel)
}

// configError wraps [ErrConfig] with the reason a Config can't be used.
func configError(reason string) error {
	return fmt.Errorf("manager: %s: %w", reason, ErrConfig)
}
