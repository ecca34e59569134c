package dpop

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/protojwt/protojwt/internal/jws"
)

// claims are the members of a proof's payload that Verify reads. Member
// names match exactly (encoding/json alone would also take "JTI" for jti);
// of a member sent twice, the last counts.
type claims struct {
	JTI, HTM, HTU, ATH, Nonce string
	IAT                       string // the JSON number, as sent
}

// decodeClaims decodes a proof's claims segment into c. The strings of c
// are parts of buf, where the payload is decoded when it fits (the
// caller's, which it keeps while it reads c), or of new memory.
func decodeClaims(seg string, buf []byte) (claims, error) {
	raw := buf
	if n := b64.DecodedLen(len(seg)); n > len(buf) {
		raw = make([]byte, n)
	}
	n, err := b64.Decode(raw, jws.StringBytes(seg))
	if err != nil {
		return claims{}, errEncoding
	}
	// The members are parts of the decoded text, which nothing writes
	// again: a string over it, without a copy.
	text := unsafe.String(unsafe.SliceData(raw), n)
	if c, ok := scanFlat(text); ok {
		return c, nil
	}
	// The general decoder keeps what it is given: a copy keeps it off buf.
	return decodeClaimsJSON(bytes.Clone(raw[:n]))
}

// issuedAt reads iat, a JSON number of seconds, possibly with a fraction.
func (c *claims) issuedAt() (time.Time, bool) {
	if c.IAT == "" || c.IAT[0] == '"' {
		return time.Time{}, false
	}
	if sec, ok := seconds(c.IAT); ok {
		return time.Unix(sec, 0), true
	}
	f, err := strconv.ParseFloat(c.IAT, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// seconds reads the common iat, a whole number of up to 12 digits without
// sign, exponent or leading zero, which the float path would read the same.
func seconds(n string) (int64, bool) {
	if len(n) == 0 || len(n) > 12 || n[0] == '0' && len(n) > 1 {
		return 0, false
	}
	var sec int64
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return 0, false
		}
		sec = sec*10 + int64(n[i]-'0')
	}
	return sec, sec <= 1<<40
}

// decodeClaimsJSON is the general decoder, for payloads scanFlat leaves to
// it: nested values, literals, escapes, non-ASCII text, or invalid JSON.
func decodeClaimsJSON(raw []byte) (claims, error) {
	c := new(claims)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return claims{}, errJSON
	}
	for name, dst := range map[string]*string{"jti": &c.JTI, "htm": &c.HTM, "htu": &c.HTU, "ath": &c.ATH, "nonce": &c.Nonce} {
		if v, ok := m[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return claims{}, errJSON
			}
		}
	}
	if v, ok := m["iat"]; ok {
		c.IAT = string(v)
	}
	return *c, nil
}

// scanFlat reads the common proof payload fast: one JSON object whose
// members are ASCII strings without escapes or numbers. It reports false,
// leaving the payload to decodeClaimsJSON, at anything else.
func scanFlat(b string) (c claims, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return c, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return c, skipSpace(b, i+1) == len(b)
	}
	for {
		key, next, ok := scanString(b, i)
		if !ok {
			return c, false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return c, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return c, false
		}
		var val string
		if b[i] == '"' {
			val, next, ok = scanString(b, i)
		} else {
			val, next, ok = scanNumber(b, i)
		}
		if !ok {
			return c, false
		}
		switch key {
		case "jti":
			c.JTI = val
		case "htm":
			c.HTM = val
		case "htu":
			c.HTU = val
		case "ath":
			c.ATH = val
		case "nonce":
			c.Nonce = val
		case "iat":
			c.IAT = b[i:next] // as sent: a string is refused by issuedAt
		}
		if b[i] != '"' && key != "iat" && isStringMember(key) {
			return c, false // a number where a string belongs: the decoder says so
		}
		i = skipSpace(b, next)
		if i >= len(b) {
			return c, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return c, skipSpace(b, i+1) == len(b)
		default:
			return c, false
		}
	}
}

func isStringMember(key string) bool {
	return key == "jti" || key == "htm" || key == "htu" || key == "ath" || key == "nonce"
}

func skipSpace(b string, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads a string of printable ASCII without escapes at b[i].
func scanString(b string, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	j := i + 1
	for j < len(b) && plain[b[j]] {
		j++
	}
	if j < len(b) && b[j] == '"' {
		return b[i+1 : j], j + 1, true
	}
	return "", 0, false // an escape, a control or non-ASCII byte, or the end
}

// plain marks the bytes scanString reads in a string: printable ASCII but
// the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanNumber reads a JSON number at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b string, i int) (string, int, bool) {
	start := i
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return "", 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return "", 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return "", 0, false
		}
	}
	return b[start:i], i, true
}
