// Package bearer reads an RFC 6750 bearer token from the values of an
// Authorization header (HTTP) or authorization metadata key (gRPC), the one
// parser both adapters use.
package bearer

import (
	"fmt"

	"github.com/protojwt/protojwt/manager"
)

// maxHeader bounds the header value read: a bearer token longer than any
// token the manager accepts is refused without looking further.
const maxHeader = 16 << 10

var (
	errSeveral = fmt.Errorf("%w: several authorization values", manager.ErrMalformed)
	errScheme  = fmt.Errorf("%w: authorization is not \"Bearer <token>\"", manager.ErrMalformed)
	errLong    = fmt.Errorf("%w: authorization value too long", manager.ErrMalformed)
)

// Token returns the token of the single "Bearer <token>" value in values.
// The scheme is case-insensitive and followed by exactly one space; the
// token is one non-empty run of RFC 6750 b64token characters. No value at
// all is manager.ErrNoToken; several values, another scheme or a malformed
// value are manager.ErrMalformed. Errors never contain the value.
func Token(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", manager.ErrNoToken
	case 1:
	default:
		return "", errSeveral
	}
	return Parse(values[0])
}

// Parse returns the token of one "Bearer <token>" header value. An empty
// value is manager.ErrNoToken.
func Parse(v string) (string, error) {
	if v == "" {
		return "", manager.ErrNoToken
	}
	if len(v) > maxHeader {
		return "", errLong
	}
	const scheme = "bearer "
	if len(v) <= len(scheme) || !equalFold(v[:len(scheme)], scheme) {
		return "", errScheme
	}
	tok := v[len(scheme):]
	for i := 0; i < len(tok); i++ {
		if !isB64Token(tok[i]) {
			return "", errScheme
		}
	}
	return tok, nil
}

// equalFold is strings.EqualFold for ASCII, with s already lower case.
func equalFold(v, lower string) bool {
	for i := 0; i < len(lower); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// isB64Token reports whether c may appear in an RFC 6750 b64token:
// ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", and "=" (padding).
func isB64Token(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '+', '/', '=':
		return true
	}
	return false
}
