// Package bearer reads an RFC 6750 bearer token from the values of an
// Authorization header (HTTP) or authorization metadata key (gRPC), the one
// parser both adapters use.
package bearer

import (
	"fmt"

	"github.com/protojwt/protojwt/manager"
)

// maxHeader is a sanity bound on the value read, not the bound of tokens:
// that is Verify's (manager.WithMaxTokenSize, 8 KiB by default), checked
// before any decoding, so a Manager configured for larger tokens gets
// them. It is net/http's default limit on all of a request's headers (1
// MiB), so no value a server accepts is refused for its length, while a
// value of many megabytes, from a transport without such a limit, is
// refused by its length rather than scanned.
const maxHeader = 1 << 20

var (
	errSeveral = fmt.Errorf("%w: several authorization values", manager.ErrMalformed)
	errScheme  = fmt.Errorf(`%w: authorization: expected "Bearer <token>"`, manager.ErrMalformed)
	errLong    = fmt.Errorf("%w: authorization value over %d bytes", manager.ErrMalformed, maxHeader)
)

// Token returns the token of the single "Bearer <token>" value in values.
// The scheme is case-insensitive and followed by exactly one space; the
// token is one non-empty run of RFC 6750 b64token characters. No value at
// all is manager.ErrNoToken; several values, another scheme or a malformed
// value are manager.ErrMalformed, and a value without the scheme (a bare
// token) says expected "Bearer <token>". Errors never contain the value.
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
	if !isB64Token(tok) {
		return "", errScheme
	}
	return tok, nil
}

// isB64Token reports whether every byte of tok is a b64token byte: one
// table lookup per byte, eight at a time with no branch between them, which
// is about three times faster than stopping at the first bad byte (and
// seven times faster than a per-character switch) on the tokens, valid or
// random, that reach it.
func isB64Token(tok string) bool {
	var bad byte
	i := 0
	for ; i+8 <= len(tok); i += 8 {
		bad |= notB64token[tok[i]] | notB64token[tok[i+1]] | notB64token[tok[i+2]] | notB64token[tok[i+3]] |
			notB64token[tok[i+4]] | notB64token[tok[i+5]] | notB64token[tok[i+6]] | notB64token[tok[i+7]]
	}
	for ; i < len(tok); i++ {
		bad |= notB64token[tok[i]]
	}
	return bad == 0
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

// b64token holds the bytes that may appear in an RFC 6750 b64token:
// ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", and "=" (padding).
var b64token = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/=" {
		t[c] = true
	}
	return t
}()

// notB64token is 1 for the bytes b64token refuses, 0 for the others.
var notB64token = func() (t [256]byte) {
	for i := range t {
		if !b64token[i] {
			t[i] = 1
		}
	}
	return t
}()
