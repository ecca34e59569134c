package tokensource

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxTokenSize bounds the token whose payload is decoded: large enough for
// any JWT a service issues, small enough that a hostile login service can't
// make the client decode megabytes.
const maxTokenSize = 64 << 10

// maxExp is the last second of year 9999: an exp past it is not a date.
const maxExp = 253402300799

// errNoExpiry means an auth token is not a JWT whose payload has a
// readable exp: without it the client can't tell when to refresh.
var errNoExpiry = errors.New("tokensource: the auth token has no readable exp claim")

// tokenTimes are the times a token's issuer wrote in it, by the issuer's
// clock.
type tokenTimes struct {
	exp time.Time
	iat time.Time // zero when the token has no readable iat, or one after exp
}

// life returns how long the token lives by its issuer's clock, exp - iat,
// and false when the token has no iat: a length of time, which holds
// whatever the client's clock says.
func (t tokenTimes) life() (time.Duration, bool) {
	if t.iat.IsZero() {
		return 0, false
	}
	return t.exp.Sub(t.iat), true
}

// expiryOf returns the exp claim of the compact JWT token, read without
// verifying: the client holds no key, and the server verifies anyway. It
// never panics, whatever token holds.
func expiryOf(token string) (time.Time, error) {
	t, err := timesOf(token)
	return t.exp, err
}

// timesOf returns the exp and iat claims of the compact JWT token, read as
// expiryOf reads exp. A missing or unreadable iat is no error: the token
// is then taken at its exp alone.
func timesOf(token string) (tokenTimes, error) {
	if len(token) > maxTokenSize {
		return tokenTimes{}, errNoExpiry
	}
	_, rest, ok := strings.Cut(token, ".")
	if !ok {
		return tokenTimes{}, errNoExpiry
	}
	payload, signature, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(signature, ".") || payload == "" {
		return tokenTimes{}, errNoExpiry
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return tokenTimes{}, errNoExpiry
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"`
		Iat json.RawMessage `json:"iat"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return tokenTimes{}, errNoExpiry
	}
	exp, ok := numericDate(claims.Exp)
	if !ok {
		return tokenTimes{}, errNoExpiry
	}
	t := tokenTimes{exp: exp}
	if iat, ok := numericDate(claims.Iat); ok && !iat.After(exp) {
		t.iat = iat
	}
	return t, nil
}

// numericDate reads a JWT NumericDate: a positive JSON number (RFC 7519,
// section 2) no later than year 9999. A string or null is refused, as the
// server refuses it.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > maxExp {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
