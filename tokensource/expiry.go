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

// expiryOf returns the exp claim of the compact JWT token, read without
// verifying: the client holds no key, and the server verifies anyway. It
// never panics, whatever token holds.
func expiryOf(token string) (time.Time, error) {
	if len(token) > maxTokenSize {
		return time.Time{}, errNoExpiry
	}
	_, rest, ok := strings.Cut(token, ".")
	if !ok {
		return time.Time{}, errNoExpiry
	}
	payload, signature, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(signature, ".") || payload == "" {
		return time.Time{}, errNoExpiry
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return time.Time{}, errNoExpiry
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || len(claims.Exp) == 0 {
		return time.Time{}, errNoExpiry
	}
	// A NumericDate is a JSON number (RFC 7519, section 2): a string or
	// null is refused, as the server refuses it.
	if c := claims.Exp[0]; c != '-' && (c < '0' || c > '9') {
		return time.Time{}, errNoExpiry
	}
	f, err := strconv.ParseFloat(string(claims.Exp), 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > maxExp {
		return time.Time{}, errNoExpiry
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
