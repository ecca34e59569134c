package manager

import "context"

// Verifier verifies a compact JWT and returns the token it carries, or an
// error wrapping one of this package's sentinels ([ErrExpired], [ErrSignature],
// ...). It is all that the adapters (interceptor, connectauth, httpauth)
// need: *Manager implements it, and so does *Issuers, which routes each
// token to the Manager of its issuer. A test double may implement it too.
//
// Verify must be safe for concurrent use, must never put the token in an
// error, and must treat the Tokens it returns as shared and read-only.
type Verifier interface {
	Verify(ctx context.Context, token string) (*Token, error)
}

var _ Verifier = (*Manager)(nil)
