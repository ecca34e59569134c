// Package jws decodes compact JWS serializations (RFC 7515) the way
// golang-jwt's parser does with strict decoding, without checking
// signatures: splitting a token into its segments, decoding its JOSE
// header, its signature and its payload of claims. Signature checks and
// the meaning of claims belong to package manager.
//
//	parts, ok := jws.Split(token)           // three segments, no CR or LF
//	header, err := jws.DecodeHeader(parts.Header)
//	sig, err := jws.DecodeSignature(buf[:], parts.Signature)
//	// ... check sig over parts.SigningInput, then:
//	var payload jws.Payload
//	err = jws.DecodePayload(parts.Payload, &payload) // payload.Claims, payload.Members()
package jws

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// segmentEncoding decodes the segments of a compact JWS as golang-jwt's
// parser does with WithStrictDecoding: unpadded base64url, no trailing bits.
var segmentEncoding = base64.RawURLEncoding.Strict()

// Compact is a compact JWS split into its segments, still encoded.
type Compact struct {
	Header, Payload, Signature string
	// SigningInput is the text the signature covers: the header and
	// payload segments and the dot between them.
	SigningInput string
}

// Split splits token into its three segments, as golang-jwt's splitToken
// does. It reports false for a token without exactly two dots, and for one
// with a CR or LF: Go's base64 decoders skip them, even strict ones, so a
// signature segment with line breaks would still verify and one token have
// many spellings. A compact JWS has none.
func Split(token string) (Compact, bool) {
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return Compact{}, false
	}
	dot1 := strings.IndexByte(token, '.')
	if dot1 < 0 {
		return Compact{}, false
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.')
	if dot2 < 0 {
		return Compact{}, false
	}
	dot2 += dot1 + 1
	if strings.IndexByte(token[dot2+1:], '.') >= 0 {
		return Compact{}, false
	}
	return Compact{
		Header:       token[:dot1],
		Payload:      token[dot1+1 : dot2],
		Signature:    token[dot2+1:],
		SigningInput: token[:dot2],
	}, true
}

// Header is a decoded JOSE header, shared and never modified.
type Header struct {
	// Fields holds the header as golang-jwt decodes it; nil for "null".
	Fields map[string]any
	// Alg is the "alg" member when it is a string.
	Alg string
	// HasAlg reports whether "alg" is a string.
	HasAlg bool
	// Crit reports whether a "crit" member is present.
	Crit bool
}

// errNotObject refuses a header whose JSON text starts with something other
// than an object or null, the only texts that decode into a map.
var errNotObject = errors.New("JSON text is not an object")

// DecodeHeader decodes the header segment seg as golang-jwt's parser does:
// base64url, then JSON into a map, refusing what [DecodeJSONObject] refuses.
// Random text is refused from its first four characters, before the rest
// is decoded: their first byte is most likely neither JSON whitespace nor
// the start of an object or of null, which is all a map decodes from.
func DecodeHeader(seg string) (*Header, error) {
	if RefusedByPrefix(seg) {
		return nil, errNotObject
	}
	b, err := segmentEncoding.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	fields, err := decodeText(string(b))
	if err != nil {
		return nil, err
	}
	h := &Header{Fields: fields}
	h.Alg, h.HasAlg = fields["alg"].(string)
	_, h.Crit = fields["crit"]
	return h, nil
}

// RefusedByPrefix reports whether the first four characters of a compact
// JWS, or of its header segment, refuse it: they decode whole as base64url
// and start no JSON object (see [DecodeHeader]). It reads nothing else, so
// random text is refused before any scan of its length. Every token it
// refuses, Split or DecodeHeader refuses too: four characters that decode
// whole hold no dot, so they begin the header of a token that has one.
func RefusedByPrefix(token string) bool {
	if len(token) < 4 {
		return false
	}
	// Only a prefix that decodes whole can refuse: the decoder skips CR
	// and LF, so a prefix holding one decodes short though the whole
	// segment may decode; that is left to the full decoding.
	var first [3]byte
	n, err := segmentEncoding.Decode(first[:], StringBytes(token[:4]))
	return err == nil && n == len(first) && !mayStartObject(first)
}

// mayStartObject reports whether a JSON text that starts with the bytes b
// may be an object or null: its first byte that is not whitespace is '{'
// or 'n', or all of b is whitespace.
func mayStartObject(b [3]byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', 'n':
			return true
		}
		return false
	}
	return true
}

// maxCachedHeaders bounds the decoded headers a [HeaderCache] keeps. Tokens
// of one issuer share a few headers (one per key).
const maxCachedHeaders = 16

// HeaderCache holds decoded headers by their encoded segment: reads load
// an immutable map, without locking. Its zero value is empty and ready.
// Callers add only the headers of tokens whose signature verified, so
// made-up headers can't fill it.
type HeaderCache struct {
	mu      sync.Mutex // serializes additions
	decoded atomic.Pointer[map[string]*Header]
}

// Get returns the decoded header of the encoded segment seg.
func (c *HeaderCache) Get(seg string) (*Header, bool) {
	p := c.decoded.Load()
	if p == nil {
		return nil, false
	}
	h, ok := (*p)[seg]
	return h, ok
}

// Add remembers h as the decoding of seg, while there is room.
func (c *HeaderCache) Add(seg string, h *Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cur map[string]*Header
	if p := c.decoded.Load(); p != nil {
		cur = *p
	}
	if _, ok := cur[seg]; ok || len(cur) >= maxCachedHeaders {
		return
	}
	next := make(map[string]*Header, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	// seg is a part of a token: a copy keeps the token itself collectable.
	next[strings.Clone(seg)] = h
	c.decoded.Store(&next)
}

// DecodeSignature decodes the signature segment seg into buf when it fits,
// else into new memory, and returns the signature.
func DecodeSignature(buf []byte, seg string) ([]byte, error) {
	if n := segmentEncoding.DecodedLen(len(seg)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := segmentEncoding.Decode(buf, StringBytes(seg))
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// payloadBuffers holds the buffers that peeking decodes a payload segment
// into: what it returns is copied out, so a buffer serves again at once.
var payloadBuffers = sync.Pool{New: func() any { return new([]byte) }}

// Payload is a decoded payload: a token's claims as a map, and as the
// members of its JSON object in the order of the text, for a caller that
// reads or copies every claim (faster than ranging over the map). It is
// large, with room for a typical token's members: declared as a local
// variable, it holds up to 16 of them without allocating.
type Payload struct {
	// Claims holds the claims as golang-jwt's parser decodes MapClaims.
	Claims map[string]any
	d      decoder
}

// Members returns the claims in the order of the text, each name once and
// each value the one in p.Claims.
func (p *Payload) Members() []Member {
	return p.d.members()
}

// DecodePayload decodes the payload segment seg into p, as golang-jwt's
// parser does for MapClaims, refusing what [DecodeClaims] refuses.
func DecodePayload(seg string, p *Payload) error {
	// Decoded into memory of its own, which becomes the text the claims'
	// strings are parts of: nothing else refers to it, nor writes it again.
	buf := make([]byte, segmentEncoding.DecodedLen(len(seg)))
	n, err := segmentEncoding.Decode(buf, StringBytes(seg))
	if err != nil {
		return err
	}
	p.Claims, err = p.d.decode(unsafe.String(unsafe.SliceData(buf), n))
	return err
}

// DecodeClaims decodes b, the JSON text of a payload, into a map of
// claims, refusing what [DecodeJSONObject] refuses.
func DecodeClaims(b []byte) (map[string]any, error) {
	return decodeText(string(b))
}

// StringBytes returns the bytes of s without copying them, for functions
// that only read their argument (hashes, decoders, signature checks).
func StringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
