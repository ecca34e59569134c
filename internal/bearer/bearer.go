// Package bearer reads an RFC 6750 bearer token from the values of an
// Authorization header (HTTP) or authorization metadata key (gRPC), the one
// parser every adapter uses.
//
// It tells two kinds of refusal apart. A credential malformed as a request
// (no "Bearer" scheme, an empty token, a space inside, several values) is a
// *RequestError, wrapping [ErrRequest]: the client is told what was wrong,
// since it reveals nothing about the token. A value over the size bound is
// refused by its length, before any byte of it is read, as a malformed
// token, like Verify refuses it.
package bearer

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/protojwt/protojwt/manager"
)

// maxHeader is the bound of a value when the verifier does not say its
// own (see Limit): net/http's default limit on all of a request's headers
// (1 MiB), so that no value a server accepts is refused for its length,
// while a value of many megabytes, from a transport without such a limit,
// is refused by its length rather than scanned.
const maxHeader = 1 << 20

// ErrRequest means the credential is malformed as a request rather than
// as a token: no "Bearer" scheme or another one, an empty token, a
// character that a bearer token can't hold (whitespace inside), or several
// authorization values. Every error wrapping it is a *RequestError.
var ErrRequest = errors.New("protojwt: malformed authorization")

// RequestError is a credential malformed as a request. [errors.Is] matches it
// with [ErrRequest] and with [manager.ErrMalformed]. The errors of Token and
// Parse are a fixed set ([RequestErrors]), so that adapters can build their
// refusals once.
type RequestError struct {
	// Message says what was wrong, for the client: it never quotes the
	// value.
	Message string
}

// Error returns the Message after [manager.ErrMalformed]'s text.
func (e *RequestError) Error() string { return manager.ErrMalformed.Error() + ": " + e.Message }

// Is reports whether target is [ErrRequest] or [manager.ErrMalformed].
func (e *RequestError) Is(target error) bool {
	return target == ErrRequest || target == manager.ErrMalformed
}

// maxCounted is the largest number of values whose refusal counts them.
const maxCounted = 8

var (
	errScheme = &RequestError{`authorization: expected "Bearer <token>"`}
	errEmpty  = &RequestError{`authorization: expected "Bearer <token>", the token is empty`}
	errChars  = &RequestError{`authorization: expected "Bearer <token>", one space after the scheme and none in the token`}
	// errSeveral[n] is the refusal of n values, up to maxCounted.
	errSeveral = func() (e [maxCounted + 1]*RequestError) {
		for n := 2; n <= maxCounted; n++ {
			e[n] = &RequestError{strconv.Itoa(n) + " authorization values, expected one"}
		}
		return e
	}()
	errMany = &RequestError{"more than " + strconv.Itoa(maxCounted) + " authorization values, expected one"}

	// errLong is a value over the size bound: a malformed token, as
	// Verify refuses it, not a malformed request.
	errLong = fmt.Errorf("%w: token over the size bound the verifier accepts", manager.ErrMalformed)
)

// RequestErrors returns every *RequestError that Token and Parse return.
func RequestErrors() []*RequestError {
	out := []*RequestError{errScheme, errEmpty, errChars, errMany}
	for _, e := range errSeveral {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// Limit returns the size bound of tokens that v verifies: v's own when v
// says it, with a method MaxTokenSize() int (as *[manager.Manager] and
// *[manager.Issuers] may), and otherwise the sanity bound of 1 MiB.
func Limit(v manager.Verifier) int {
	if s, ok := v.(interface{ MaxTokenSize() int }); ok {
		if n := s.MaxTokenSize(); n > 0 {
			return n
		}
	}
	return maxHeader
}

// Token returns the token of the single "Bearer <token>" value in values,
// refusing a token over limit bytes by its length. The scheme is
// case-insensitive and followed by exactly one space; the token is one
// non-empty run of RFC 6750 b64token characters. No value at all is
// [manager.ErrNoToken]; several values, another scheme or a malformed value
// are a *RequestError, and a token over limit a [manager.ErrMalformed] that
// is not one. Errors never contain the value.
func Token(values []string, limit int) (string, error) {
	switch n := len(values); {
	case n == 0:
		return "", manager.ErrNoToken
	case n == 1:
		return Parse(values[0], limit)
	case n <= maxCounted:
		return "", errSeveral[n]
	default:
		return "", errMany
	}
}

// Parse returns the token of one "Bearer <token>" header value, as Token
// does. An empty value is [manager.ErrNoToken]. Its cost does not depend on
// the length of a value over limit: the length is checked before the
// token's bytes are read.
func Parse(v string, limit int) (string, error) {
	if v == "" {
		return "", manager.ErrNoToken
	}
	const scheme = "bearer "
	if len(v) < len(scheme)-1 || !equalFold(v[:len(scheme)-1], scheme[:len(scheme)-1]) {
		return "", errScheme
	}
	switch {
	case len(v) <= len(scheme):
		return "", errEmpty // "Bearer" or "Bearer "
	case b64token[v[len(scheme)-1]]:
		return "", errScheme // "Bearerx": a longer scheme, or the token glued on
	case v[len(scheme)-1] != ' ':
		return "", errChars // "Bearer\t": another separator
	}
	tok := v[len(scheme):]
	if len(tok) > limit {
		return "", errLong
	}
	if !isB64Token(tok) {
		return "", errChars
	}
	return tok, nil
}

// isB64Token reports whether every byte of tok is a b64token byte. It looks
// two bytes up at once in notB64tokenPair, eight lookups per sixteen bytes
// in two chains of ORs with no branch between them: the lookups, not the
// arithmetic, bound a table scan, and halving them halves its time
// (BenchmarkParse, 8 KiB of random base64url: 0.53× one lookup per byte).
// A branch per byte, stopping at the first bad one, costs three times more on
// the tokens, valid or random, that reach it.
func isB64Token(tok string) bool {
	var bad, bad2 byte // two chains of ORs, which the processor runs side by side
	i := 0
	for ; i+16 <= len(tok); i += 16 {
		w := tok[i : i+16] // one bounds check for the sixteen reads
		bad |= notB64tokenPair[uint16(w[0])|uint16(w[1])<<8] | notB64tokenPair[uint16(w[2])|uint16(w[3])<<8] |
			notB64tokenPair[uint16(w[4])|uint16(w[5])<<8] | notB64tokenPair[uint16(w[6])|uint16(w[7])<<8]
		bad2 |= notB64tokenPair[uint16(w[8])|uint16(w[9])<<8] | notB64tokenPair[uint16(w[10])|uint16(w[11])<<8] |
			notB64tokenPair[uint16(w[12])|uint16(w[13])<<8] | notB64tokenPair[uint16(w[14])|uint16(w[15])<<8]
	}
	bad |= bad2
	for ; i < len(tok); i++ {
		bad |= notB64token[tok[i]]
	}
	return bad == 0
}

// equalFold is [strings.EqualFold] for ASCII, with s already lower case.
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

// notB64tokenPair is notB64token of two bytes at once, indexed by the pair
// read little-endian (the first byte low): 1 when either byte is not a
// b64token byte. Its 64 KiB are filled at init, a row of 256 at a time
// (some microseconds); the tokens a server sees, of the base64url
// alphabet, read a few kilobytes of it.
var notB64tokenPair [1 << 16]byte

func init() {
	var allBad [256]byte
	for i := range allBad {
		allBad[i] = 1
	}
	for hi := range 256 {
		row := notB64tokenPair[hi<<8 : hi<<8+256]
		if notB64token[hi] != 0 {
			copy(row, allBad[:]) // the second byte is bad: every pair is
		} else {
			copy(row, notB64token[:]) // the second byte is good: the first decides
		}
	}
}
