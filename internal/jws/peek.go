package jws

import (
	"encoding/json"
	"strings"
)

// maxPeekedIssuer bounds the issuer PeekIssuer returns: no trusted issuer
// URL is longer, and a longer one is no issuer to look up.
const maxPeekedIssuer = 2048

// PeekIssuer returns the "iss" member of the top-level object of the
// payload segment seg, without checking the signature and without decoding
// the other claims: one pass over the decoded bytes, for choosing which
// issuer's keys verify the token. It reports false when seg is not
// base64url, the payload is not an object, or it has no string iss. What it
// returns is untrusted until the token verifies.
func PeekIssuer(seg string) (string, bool) {
	bufp := payloadBuffers.Get().(*[]byte)
	defer payloadBuffers.Put(bufp)
	n := segmentEncoding.DecodedLen(len(seg))
	if cap(*bufp) < n {
		*bufp = make([]byte, n)
	}
	buf := (*bufp)[:n]
	n, err := segmentEncoding.Decode(buf, StringBytes(seg))
	if err != nil {
		return "", false
	}
	return peekMember(buf[:n], "iss")
}

// peekMember returns the string value of the member name of the top-level
// object of the JSON text b: the first such member, scanning no further.
func peekMember(b []byte, name string) (string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	depth, expectKey := 1, true
	for i++; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return "", false
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return "", false
			}
		case ',':
			expectKey = depth == 1
		case '"':
			end, err := scanString(b, i+1)
			if err != nil {
				return "", false
			}
			if depth == 1 && expectKey {
				expectKey = false
				if string(b[i+1:end]) == name {
					return stringAt(b, skipColon(b, end+1))
				}
			}
			i = end
		}
	}
	return "", false
}

// stringAt returns the JSON string that starts at b[i], unescaped.
func stringAt(b []byte, i int) (string, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", false
	}
	end, err := scanString(b, i+1)
	if err != nil || end-i > maxPeekedIssuer {
		return "", false
	}
	raw := b[i+1 : end]
	if !strings.Contains(string(raw), `\`) {
		return string(raw), true
	}
	var s string
	if json.Unmarshal(b[i:end+1], &s) != nil {
		return "", false
	}
	return s, true
}

// skipColon returns the index after the colon that follows b[i:], and the
// white space after it.
func skipColon(b []byte, i int) int {
	i = skipSpace(b, i)
	if i < len(b) && b[i] == ':' {
		i++
	}
	return skipSpace(b, i)
}

// skipSpace returns the index of the first byte of b[i:] that is not JSON
// white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
