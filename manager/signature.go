package manager

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/protojwt/protojwt/internal/jws"
)

// signedToken is what checking a token's signature yields.
type signedToken struct {
	parts  jws.Compact
	header *jws.Header
	key    selectedKey // the key that verified the signature
}

// checkSignature splits the compact JWS signed, decodes its header and
// checks its signature, leaving the payload undecoded: a forged token costs
// no decoding of claims, however costly its JSON. The outcome is what
// golang-jwt's ParseWithClaims does with the Manager's options for every
// input without CR or LF whose header [jws.DecodeJSONObject] accepts (it
// refuses the others as malformed), except that golang-jwt decodes the
// payload first: a token with a malformed payload and a bad signature is
// [ErrSignature] here, [ErrMalformed] there. It avoids golang-jwt's
// allocations. The header is decoded once per
// distinct header, the key of an HMAC is prepared once, and the hash and
// signature are decoded into reused memory.
func (v *verifier) checkSignature(ctx context.Context, signed string) (signedToken, error) {
	var out signedToken
	parts, ok := jws.Split(signed)
	if !ok {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}
	header, known := v.headers.Get(parts.Header)
	if !known {
		var err error
		if header, err = jws.DecodeHeader(parts.Header); err != nil {
			return out, verifyError("not a compact JWS", ErrMalformed)
		}
	}

	alg, accepted := v.accepted(header.Alg)
	switch {
	case !header.HasAlg || header.Alg == "":
		return out, verifyError("alg header missing", ErrMalformed)
	case !accepted && jwt.GetSigningMethod(header.Alg) == nil:
		// golang-jwt refuses an unknown algorithm before the signature.
		return out, v.errAlgorithm(header.Alg)
	}

	var sigBuf [512]byte // RSA-4096 signatures fit; larger ones go to the heap
	sig, err := jws.DecodeSignature(sigBuf[:], parts.Signature)
	if err != nil {
		return out, verifyError("not a compact JWS", ErrMalformed)
	}
	if !accepted {
		return out, v.errAlgorithm(header.Alg)
	}

	key, err := v.source.verificationKey(ctx, header, alg)
	if err != nil {
		if err := keySelectionError(err); err != nil {
			return out, err
		}
		return out, verifyError("token can't be verified", ErrAlgorithm)
	}

	if !v.verifySignature(alg, parts.SigningInput, sig, key.key) {
		return out, verifyError("signature does not verify", ErrSignature)
	}
	if v.accessTokenProfile && !isAccessTokenType(header.Fields["typ"]) {
		return out, errNotAccessToken
	}
	if !known {
		v.headers.Add(parts.Header, header)
	}
	out.parts, out.header, out.key = parts, header, key
	return out, nil
}

// verifySignature reports whether sig is a signature of signingString by
// key, with alg: the check of golang-jwt's signing methods, without
// copying the signing string or allocating the hash.
func (v *verifier) verifySignature(alg algorithm, signingString string, sig []byte, key any) bool {
	msg := jws.StringBytes(signingString)
	switch method := alg.method.(type) {
	case *jwt.SigningMethodHMAC:
		secret, ok := key.([]byte)
		return ok && v.hmacs.verify(method.Hash, secret, msg, sig)
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
	return alg.method.Verify(signingString, bytes.Clone(sig), key) == nil
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
// endian with leading zeros: what [ecdsa.Verify] builds from big integers
// before calling [ecdsa.VerifyASN1]. It reports false for a zero r or s,
// which [ecdsa.Verify] refuses.
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

// hmacID identifies a prepared HMAC: a secret of a key set and the hash
// (a secret may verify tokens of several HS algorithms). Secrets are
// copied by New and the key methods and never modified, so their memory
// names them; the list that holds an ID keeps that memory from being
// reused.
type hmacID struct {
	data *byte
	len  int
	hash crypto.Hash
}

// hmacPools holds pools of prepared HMACs by secret and hash: the key
// schedule (hashing the padded key) is done once per pooled state, not on
// every Verify. Reads load an immutable list, scanned from the secret
// prepared last (a Manager has a few, and signs with its newest); a new
// secret copies the list.
type hmacPools struct {
	prepared atomic.Pointer[[]preparedHMAC]
}

// preparedHMAC is the pool of prepared HMACs of one secret and hash.
type preparedHMAC struct {
	id   hmacID
	pool *sync.Pool
}

// maxPreparedKeys bounds the secrets a Manager keeps prepared; past it, the
// list starts over, dropping the secrets of retired keys.
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

// pool returns the pool of prepared HMACs h of secret.
func (p *hmacPools) pool(h crypto.Hash, secret []byte) *sync.Pool {
	id := hmacID{unsafe.SliceData(secret), len(secret), h}
	var cur []preparedHMAC
	if l := p.prepared.Load(); l != nil {
		cur = *l
	}
	for _, e := range cur {
		if e.id == id {
			return e.pool
		}
	}
	// Racing additions may drop each other's pool: it is made again later.
	if len(cur) >= maxPreparedKeys {
		cur = nil
	}
	pool := &sync.Pool{New: func() any { return &hmacState{mac: hmac.New(h.New, secret)} }}
	next := append(append(make([]preparedHMAC, 0, len(cur)+1), preparedHMAC{id, pool}), cur...)
	p.prepared.Store(&next)
	return pool
}
