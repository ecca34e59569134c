package manager

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/protojwt/protojwt/internal/tokenview"
)

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
	// Issuer is the "iss" claim: who issued the token.
	Issuer string
	// Scope is the decoded JSON of the "scope" claim, nil when absent.
	Scope any
	// Claims holds every claim of the token, decoded from JSON: objects are
	// map[string]any, arrays []any, numbers float64, except integers written
	// without fraction or exponent whose magnitude is above 2^53, which
	// float64 can't all hold: those are [json.Number], their exact text, so
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

	// state is what the Manager that built the Token decoded, private to
	// it; nil for a Token built otherwise.
	state *tokenState
	// viewSlot holds &state.view for the rule engine ([tokenview.Of]); empty
	// for a Token built otherwise.
	viewSlot
}

// viewSlot names [tokenview.Slot] so that Token embeds it unexported: the
// Token gets the Slot's (unexported) method that [tokenview.Of] finds, and
// nothing a handler can reach.
type viewSlot = tokenview.Slot

// tokenState is a Manager's private record of a token it issued or
// verified. The Manager's own decisions (revocation, expiry, the rules'
// view) read it, never the exported fields, which a handler may change.
type tokenState struct {
	view     tokenview.View // Claims: a copy of their own, apart from Token.Claims
	id       string
	family   string    // familyOf the token
	issuedAt time.Time // iat
	until    time.Time // exp plus the Manager's leeway: expired from then on
	size     int       // estimated heap bytes of the claims and their copy
	grants   [2]any    // room for view.Grants: most Managers have one scope claim
}

// Expired reports whether t has expired at now: whether now is past its
// exp by the Config.Leeway of the Manager that verified (or issued) it or
// more, as Verify would find. For a Token that no Manager built, it
// compares now with ExpiresAt alone, and a zero ExpiresAt never expires. A
// nil Token has expired. Adapters call it on every message of a stream, so
// that a stream does not outlive its token.
func (t *Token) Expired(now time.Time) bool {
	switch {
	case t == nil:
		return true
	case t.state != nil:
		return !now.Before(t.state.until)
	case t.ExpiresAt.IsZero():
		return false
	}
	return !now.Before(t.ExpiresAt)
}

// IsSigned reports whether t carries a signed compact serialization.
func (t *Token) IsSigned() bool {
	return t != nil && t.Signed != ""
}

// Decode decodes t's claims into v, a non-nil pointer to a struct (or any
// value [json.Unmarshal] decodes an object into), as [json.Unmarshal] does:
// by the fields' json tags. An integer claim is exact in an int64, uint64
// or [json.Number] field, however large (an account 1234567890123456789
// stays itself, where float64 would round it); a field of interface type
// gets what [json.Unmarshal] gives it, float64 for a number.
//
// It decodes the claims as the Manager verified them, not [Token.Claims],
// which a handler may have changed, and v shares no memory with the
// token: changing v changes neither the token nor any later decision.
// For a Token no Manager built, it decodes Claims.
//
// A claim whose JSON type does not fit its field is an error wrapping
// [ErrClaim] (and the [*json.UnmarshalTypeError], for [errors.As]); v not a
// non-nil pointer is an error wrapping [*json.InvalidUnmarshalError]. The
// error names the claim, never its value.
func (t *Token) Decode(v any) error {
	if t == nil {
		return fmt.Errorf("manager: decode claims: no token: %w", ErrNoToken)
	}
	claims := t.Claims
	if t.state != nil {
		claims = t.state.view.Claims.Map()
	}
	doc, err := json.Marshal(claims)
	if err != nil {
		// Decoded JSON always encodes; a Token literal's Claims may not.
		return fmt.Errorf("manager: decode claims: claims are not JSON: %w", err)
	}
	err = json.Unmarshal(doc, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		kind, _, _ := strings.Cut(typeErr.Value, " ") // "number 1.5": the value stays out
		what := "the claims are"
		if path := claimPath(typeErr); path != "" {
			what = fmt.Sprintf("claim %q is", path)
		}
		return &decodeError{
			msg:   fmt.Sprintf("manager: decode claims: %s a JSON %s, not %s: %v", what, kind, typeErr.Type, ErrClaim),
			cause: typeErr,
		}
	}
	var invalid *json.InvalidUnmarshalError
	if errors.As(err, &invalid) {
		return fmt.Errorf("manager: decode claims into %T: need a non-nil pointer: %w", v, err)
	}
	return fmt.Errorf("manager: decode claims: %w", err)
}

// decodeError is a claim that does not fit its field: its text names the
// claim and the types, and it matches [ErrClaim] and the
// *[json.UnmarshalTypeError], whose own text may hold the claim's value.
type decodeError struct {
	msg   string
	cause *json.UnmarshalTypeError
}

func (e *decodeError) Error() string   { return e.msg }
func (e *decodeError) Unwrap() []error { return []error{ErrClaim, e.cause} }

// claimPath is the path of the claim a type error is about: its field
// path, or the Go field when json has none.
func claimPath(err *json.UnmarshalTypeError) string {
	if err.Field != "" {
		return err.Field
	}
	return err.Struct
}
