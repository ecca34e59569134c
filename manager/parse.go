package manager

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// segmentEncoding decodes the segments of a compact JWS as golang-jwt's
// parser does with WithStrictDecoding: unpadded base64url, no trailing bits.
var segmentEncoding = base64.RawURLEncoding.Strict()

// maxCachedHeaders bounds the decoded JOSE headers a Manager keeps. Tokens
// of one issuer share a few headers (one per key); only headers of tokens
// whose signature verified are kept, so made-up headers can't fill it.
const maxCachedHeaders = 16

// joseHeader is a decoded JOSE header, shared and never modified.
type joseHeader struct {
	fields map[string]any // as golang-jwt decodes it; nil for a "null" header
	alg    string
	hasAlg bool // alg is a string
	crit   bool // a crit member is present
}

// headerCache holds the decoded headers of verified tokens by their encoded
// segment: reads load an immutable map, a miss decodes the header.
type headerCache struct {
	mu      sync.Mutex // serializes additions
	decoded atomic.Pointer[map[string]*joseHeader]
}

// get returns the decoded header of the encoded segment seg.
func (c *headerCache) get(seg string) (*joseHeader, bool) {
	p := c.decoded.Load()
	if p == nil {
		return nil, false
	}
	h, ok := (*p)[seg]
	return h, ok
}

// add remembers h as the decoding of seg, while there is room.
func (c *headerCache) add(seg string, h *joseHeader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cur map[string]*joseHeader
	if p := c.decoded.Load(); p != nil {
		cur = *p
	}
	if _, ok := cur[seg]; ok || len(cur) >= maxCachedHeaders {
		return
	}
	next := make(map[string]*joseHeader, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	// seg is a part of a token: a copy keeps the token itself collectable.
	next[strings.Clone(seg)] = h
	c.decoded.Store(&next)
}

// decodeHeader decodes the header segment seg as golang-jwt's parser does:
// base64url, then JSON into a map.
func decodeHeader(seg string) (*joseHeader, error) {
	b, err := segmentEncoding.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := decodeJSONObject(b, &fields); err != nil {
		return nil, err
	}
	h := &joseHeader{fields: fields}
	h.alg, h.hasAlg = fields["alg"].(string)
	_, h.crit = fields["crit"]
	return h, nil
}

// signedToken is what checking a token's signature yields.
type signedToken struct {
	claims map[string]any
	header *joseHeader
	keys   *keySet // the key set the key was selected from
	key    any     // the key that verified the signature
}

// payloadBuffers holds the buffers the payload segment is decoded into; the
// JSON decoder copies what it keeps, so a buffer serves again at once.
var payloadBuffers = sync.Pool{New: func() any { return new([]byte) }}

// checkSignature decodes the compact JWS signed and checks its signature:
// what golang-jwt's ParseWithClaims does with the Manager's options, in the
// same order and with the same outcome for every input without CR or LF
// whose header and payload decodeJSONObject accepts (it refuses the others
// as malformed), without its allocations. The header is decoded once per
// distinct header, the key of an HMAC is prepared once, and the hash,
// signature and payload are decoded into reused memory.
func (m *Manager) checkSignature(signed string) (signedToken, error) {
	var out signedToken
	// Go's base64 decoders skip CR and LF, even strict ones: a signature
	// segment with line breaks would still verify, and one token have many
	// spellings. A compact JWS has none.
	if strings.IndexByte(signed, '\n') >= 0 || strings.IndexByte(signed, '\r') >= 0 {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}
	// Three segments, as golang-jwt's splitToken requires.
	dot1 := strings.IndexByte(signed, '.')
	if dot1 < 0 {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}
	dot2 := strings.IndexByte(signed[dot1+1:], '.')
	if dot2 < 0 {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}
	dot2 += dot1 + 1
	if strings.IndexByte(signed[dot2+1:], '.') >= 0 {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}
	headerSeg, payloadSeg, sigSeg := signed[:dot1], signed[dot1+1:dot2], signed[dot2+1:]

	header, known := m.headers.get(headerSeg)
	if !known {
		var err error
		if header, err = decodeHeader(headerSeg); err != nil {
			return out, verifyError("not a compact JWS", ErrMalformed)
		}
	}

	claims, err := decodeClaims(payloadSeg)
	if err != nil {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}

	want := m.alg.method.Alg()
	switch {
	case !header.hasAlg || header.alg == "":
		return out, verifyError("alg header missing", ErrMalformed)
	case header.alg != want && jwt.GetSigningMethod(header.alg) == nil:
		// golang-jwt refuses an unknown algorithm before the signature.
		return out, verifyError("token is not signed with "+want, ErrAlgorithm)
	}

	var sigBuf [512]byte // RSA-4096 signatures fit; larger ones go to the heap
	sig := sigBuf[:]
	if n := segmentEncoding.DecodedLen(len(sigSeg)); n > len(sig) {
		sig = make([]byte, n)
	}
	n, err := segmentEncoding.Decode(sig, stringBytes(sigSeg))
	if err != nil {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}
	sig = sig[:n]
	if header.alg != want {
		return out, verifyError("token is not signed with "+want, ErrAlgorithm)
	}

	ks := m.keys.Load()
	var key any
	if m.remote != nil {
		key, err = m.remote.verificationKey(header.fields, m.alg)
	} else {
		key, err = ks.verificationKey(header.fields)
	}
	if err != nil {
		if err := keySelectionError(err); err != nil {
			return out, err
		}
		return out, verifyError("token can't be verified", ErrAlgorithm)
	}

	if !m.verifySignature(signed[:dot2], sig, key) {
		return out, verifyError("signature does not verify", ErrSignature)
	}
	if !known {
		m.headers.add(headerSeg, header)
	}
	out = signedToken{claims: claims, header: header, keys: ks, key: key}
	return out, nil
}

// decodeClaims decodes the payload segment seg into a map, as golang-jwt's
// parser does for MapClaims.
func decodeClaims(seg string) (map[string]any, error) {
	bufp := payloadBuffers.Get().(*[]byte)
	defer payloadBuffers.Put(bufp)
	n := segmentEncoding.DecodedLen(len(seg))
	if cap(*bufp) < n {
		*bufp = make([]byte, n)
	}
	buf := (*bufp)[:n]
	n, err := segmentEncoding.Decode(buf, stringBytes(seg))
	if err != nil {
		return nil, err
	}
	// Room for the claims of a typical token without growing the map.
	claims := make(map[string]any, 16)
	if err := decodeJSONObject(buf[:n], &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// verifySignature reports whether sig is a signature of signingString by
// key, with the Manager's algorithm: the check of golang-jwt's signing
// methods, without copying the signing string or allocating the hash.
func (m *Manager) verifySignature(signingString string, sig []byte, key any) bool {
	msg := stringBytes(signingString)
	switch method := m.alg.method.(type) {
	case *jwt.SigningMethodHMAC:
		secret, ok := key.([]byte)
		return ok && m.hmacs.verify(method.Hash, secret, msg, sig)
	case *jwt.SigningMethodRSA:
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return false
		}
		var sum [64]byte
		return rsa.VerifyPKCS1v15(pub, method.Hash, digest(method.Hash, msg, &sum), sig) == nil
	case *jwt.SigningMethodECDSA:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || len(sig) != 2*method.KeySize {
			return false
		}
		var der [2*(3+66+1) + 3]byte // SEQUENCE of two INTEGERs of P-521
		asn1Sig, ok := ecdsaASN1(der[:0], sig[:method.KeySize], sig[method.KeySize:])
		if !ok {
			return false
		}
		var sum [64]byte
		return ecdsa.VerifyASN1(pub, digest(method.Hash, msg, &sum), asn1Sig)
	case *jwt.SigningMethodEd25519:
		pub, ok := key.(ed25519.PublicKey)
		return ok && len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
	}
	// RSA-PSS: golang-jwt's own check, which may keep sig.
	return m.alg.method.Verify(signingString, bytes.Clone(sig), key) == nil
}

// digest returns the hash h of msg, in sum.
func digest(h crypto.Hash, msg []byte, sum *[64]byte) []byte {
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(msg)
		return append(sum[:0], s[:]...)
	case crypto.SHA384:
		s := sha512.Sum384(msg)
		return append(sum[:0], s[:]...)
	case crypto.SHA512:
		s := sha512.Sum512(msg)
		return append(sum[:0], s[:]...)
	}
	d := h.New()
	d.Write(msg)
	return d.Sum(sum[:0])
}

// ecdsaASN1 appends to dst the ASN.1 DER form of the signature (r, s), big
// endian with leading zeros: what ecdsa.Verify builds from big integers
// before calling ecdsa.VerifyASN1. It reports false for a zero r or s,
// which ecdsa.Verify refuses.
func ecdsaASN1(dst, r, s []byte) ([]byte, bool) {
	r, s = bytes.TrimLeft(r, "\x00"), bytes.TrimLeft(s, "\x00")
	if len(r) == 0 || len(s) == 0 || len(r) > 127 || len(s) > 127 {
		return nil, false
	}
	intLen := func(b []byte) int { return len(b) + int(b[0]>>7) }
	body := 2 + intLen(r) + 2 + intLen(s)
	dst = append(dst, 0x30) // SEQUENCE
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	for _, b := range [2][]byte{r, s} {
		dst = append(dst, 0x02, byte(intLen(b))) // INTEGER
		if b[0]&0x80 != 0 {
			dst = append(dst, 0) // positive
		}
		dst = append(dst, b...)
	}
	return dst, true
}

// hmacState is one prepared HMAC of a key, with room for its sum.
type hmacState struct {
	mac hash.Hash
	sum [sha512.Size]byte
}

// secretID identifies a secret of a key set. Secrets are copied by New and
// the key methods and never modified, so their memory names them; the map
// that holds an ID keeps that memory from being reused.
type secretID struct {
	data *byte
	len  int
}

// hmacPools holds pools of prepared HMACs by secret: the key schedule
// (hashing the padded key) is done once per pooled state, not on every
// Verify. Reads load an immutable map; a new secret copies it.
type hmacPools struct {
	pools atomic.Pointer[map[secretID]*sync.Pool]
}

// maxPreparedKeys bounds the secrets a Manager keeps prepared; past it, the
// map starts over, dropping the secrets of retired keys.
const maxPreparedKeys = 64

// verify reports, in constant time, whether sig is the HMAC h of msg under
// secret.
func (p *hmacPools) verify(h crypto.Hash, secret, msg, sig []byte) bool {
	pool := p.pool(h, secret)
	st := pool.Get().(*hmacState)
	st.mac.Reset()
	st.mac.Write(msg)
	ok := hmac.Equal(sig, st.mac.Sum(st.sum[:0]))
	pool.Put(st)
	return ok
}

// pool returns the pool of prepared HMACs of secret.
func (p *hmacPools) pool(h crypto.Hash, secret []byte) *sync.Pool {
	id := secretID{unsafe.SliceData(secret), len(secret)}
	cur := p.pools.Load()
	if cur != nil {
		if pool, ok := (*cur)[id]; ok {
			return pool
		}
	}
	// Racing additions may drop each other's pool: it is made again later.
	next := make(map[secretID]*sync.Pool, 1)
	if cur != nil && len(*cur) < maxPreparedKeys {
		for k, v := range *cur {
			next[k] = v
		}
	}
	pool := &sync.Pool{New: func() any { return &hmacState{mac: hmac.New(h.New, secret)} }}
	next[id] = pool
	p.pools.Store(&next)
	return pool
}

// stringBytes returns the bytes of s without copying them, for functions
// that only read their argument (hashes, decoders, signature checks).
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
