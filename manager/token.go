package manager

import "time"

// TokenType is the kind of a token: the value of its "type" claim.
type TokenType string

const (
	// Auth tokens are short-lived and authorize calls.
	Auth TokenType = "auth"
	// Refresh tokens are long-lived and only obtain new auth tokens.
	Refresh TokenType = "refresh"
)

// Token is an issued or verified JWT: what a handler knows about the caller.
type Token struct {
	// Type is the token's "type" claim.
	Type TokenType
	// Subject is the "sub" claim: who the token was issued to.
	Subject string
	// Scope is the decoded JSON of the "scope" claim, nil when absent.
	Scope any
	// Claims holds every claim of the token, decoded from JSON: objects are
	// map[string]any, arrays []any, numbers float64, except integers written
	// without fraction or exponent whose magnitude is above 2^53, which
	// float64 can't all hold: those are json.Number, their exact text, so
	// that an account 1234567890123456789 is never rounded to a neighbour.
	Claims map[string]any
	// Signed is the compact serialized token, "" for a token not signed.
	Signed string
	// ID is the "jti" claim, unique to each issued token.
	ID string
	// IssuedAt is the "iat" claim.
	IssuedAt time.Time
	// ExpiresAt is the "exp" claim.
	ExpiresAt time.Time
}

// IsSigned reports whether t carries a signed compact serialization.
func (t *Token) IsSigned() bool {
	return t != nil && t.Signed != ""
}
