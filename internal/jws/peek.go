package jws

import (
	"bytes"
	"encoding/json"
)

// maxPeekedIssuer bounds the issuer [PeekIssuer] returns: no trusted issuer
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
	raw, escaped, ok := peekIssuerRaw(bufp, seg)
	if !ok {
		return "", false
	}
	return issuerString(raw, escaped)
}

// LookupIssuer returns m's value for the issuer that [PeekIssuer] reads from
// the payload segment seg, without allocating unless the issuer is written
// with JSON escapes: the route of a token to its issuer's keys costs no
// garbage. peeked is false where [PeekIssuer] reports false; found says
// whether m has the issuer.
func LookupIssuer[V any](seg string, m map[string]V) (v V, peeked, found bool) {
	bufp := payloadBuffers.Get().(*[]byte)
	defer payloadBuffers.Put(bufp)
	raw, escaped, ok := peekIssuerRaw(bufp, seg)
	if !ok {
		return v, false, false
	}
	if !escaped {
		v, found = m[string(raw)] // no allocation: the compiler looks the bytes up
		return v, true, found
	}
	iss, ok := issuerString(raw, escaped)
	if !ok {
		return v, false, false
	}
	v, found = m[iss]
	return v, true, found
}

// peekIssuerRaw decodes seg into *bufp and returns the text of its iss
// string, still escaped when escaped is set: a slice of *bufp.
func peekIssuerRaw(bufp *[]byte, seg string) (raw []byte, escaped, ok bool) {
	n := segmentEncoding.DecodedLen(len(seg))
	if cap(*bufp) < n {
		*bufp = make([]byte, n)
	}
	buf := (*bufp)[:n]
	n, err := segmentEncoding.Decode(buf, StringBytes(seg))
	if err != nil {
		return nil, false, false
	}
	return peekMember(buf[:n], "iss")
}

// issuerString returns the issuer of the JSON string text raw, unescaped.
func issuerString(raw []byte, escaped bool) (string, bool) {
	if !escaped {
		return string(raw), true
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) != nil {
		return "", false
	}
	return s, true
}

// peekMember returns the text between the quotes of the string value of
// the member name of the top-level object of the JSON text b, the first
// such member, scanning no further, and whether it holds escapes.
func peekMember(b []byte, name string) (raw []byte, escaped, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false, false
	}
	depth, expectKey := 1, true
	for i++; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return nil, false, false
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return nil, false, false
			}
		case ',':
			expectKey = depth == 1
		case '"':
			end, err := scanString(b, i+1)
			if err != nil {
				return nil, false, false
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
	return nil, false, false
}

// stringAt returns the text of the JSON string that starts at b[i],
// between its quotes, and whether it holds escapes.
func stringAt(b []byte, i int) (raw []byte, escaped, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, false, false
	}
	end, err := scanString(b, i+1)
	if err != nil || end-i > maxPeekedIssuer {
		return nil, false, false
	}
	raw = b[i+1 : end]
	return raw, bytes.IndexByte(raw, '\\') >= 0, true
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
