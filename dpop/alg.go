package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"sync"
)

// algorithm is one JWS algorithm a proof may use: which keys it takes and
// how it verifies.
type algorithm struct {
	name  string
	hash  crypto.Hash // 0 for Ed25519
	kty   string
	curve elliptic.Curve // ECDSA only
	pss   bool
}

// algorithms are the asymmetric JWS algorithms of RFC 7518 and RFC 8037,
// and "Ed25519" of RFC 9864 (what the npm dpop package sends for Ed25519
// keys). "none" and the HMAC algorithms are absent on purpose: a proof's
// key is public, so an HMAC over it proves nothing.
var algorithms = map[string]*algorithm{
	"ES256":   {name: "ES256", hash: crypto.SHA256, kty: "EC", curve: elliptic.P256()},
	"ES384":   {name: "ES384", hash: crypto.SHA384, kty: "EC", curve: elliptic.P384()},
	"ES512":   {name: "ES512", hash: crypto.SHA512, kty: "EC", curve: elliptic.P521()},
	"RS256":   {name: "RS256", hash: crypto.SHA256, kty: "RSA"},
	"RS384":   {name: "RS384", hash: crypto.SHA384, kty: "RSA"},
	"RS512":   {name: "RS512", hash: crypto.SHA512, kty: "RSA"},
	"PS256":   {name: "PS256", hash: crypto.SHA256, kty: "RSA", pss: true},
	"PS384":   {name: "PS384", hash: crypto.SHA384, kty: "RSA", pss: true},
	"PS512":   {name: "PS512", hash: crypto.SHA512, kty: "RSA", pss: true},
	"EdDSA":   {name: "EdDSA", kty: "OKP"},
	"Ed25519": {name: "Ed25519", kty: "OKP"},
}

// fits reports whether a public key is of the algorithm's kind (and curve).
func (a *algorithm) fits(pub crypto.PublicKey) bool {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		return a.kty == "EC" && pub.Curve == a.curve
	case *rsa.PublicKey:
		return a.kty == "RSA"
	case ed25519.PublicKey:
		return a.kty == "OKP"
	}
	return false
}

// scratch holds the digest and the DER signature of one verification.
// crypto/ecdsa and crypto/rsa keep neither past the call, but the compiler
// can't tell, so they come from a pool rather than the heap.
type scratch struct {
	digest [sha512.Size]byte
	der    [2*66 + 12]byte
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// verify checks a JWS signature over signed with pub, which fits a.
func (a *algorithm) verify(pub crypto.PublicKey, signed, sig []byte) bool {
	if a.kty == "OKP" {
		return ed25519.Verify(pub.(ed25519.PublicKey), signed, sig)
	}
	s := scratches.Get().(*scratch)
	defer scratches.Put(s)
	var digest []byte
	switch a.hash {
	case crypto.SHA256:
		d := sha256.Sum256(signed)
		digest = append(s.digest[:0], d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384(signed)
		digest = append(s.digest[:0], d[:]...)
	case crypto.SHA512:
		d := sha512.Sum512(signed)
		digest = append(s.digest[:0], d[:]...)
	default:
		return false
	}
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		return ecdsa.VerifyASN1(pub, digest, asn1Signature(s.der[:0], sig[:size], sig[size:]))
	case *rsa.PublicKey:
		if a.pss {
			return rsa.VerifyPSS(pub, a.hash, digest, sig,
				&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, a.hash, digest, sig) == nil
	}
	return false
}

// asn1Signature appends the DER of ECDSA-Sig-Value {r, s} (RFC 3279), the
// form crypto/ecdsa verifies, for the big-endian r and s of a JWS
// signature (RFC 7518 §3.4).
func asn1Signature(dst, r, s []byte) []byte {
	r, s = derInteger(r), derInteger(s)
	ri, si := len(r)+derPad(r), len(s)+derPad(s)
	body := 2 + ri + 2 + si
	dst = append(dst, 0x30)
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	for _, n := range [][]byte{r, s} {
		dst = append(dst, 0x02, byte(len(n)+derPad(n)))
		if derPad(n) == 1 {
			dst = append(dst, 0)
		}
		dst = append(dst, n...)
	}
	return dst
}

// derInteger trims the leading zeros of a big-endian unsigned integer,
// keeping one byte for zero.
func derInteger(n []byte) []byte {
	for len(n) > 1 && n[0] == 0 {
		n = n[1:]
	}
	return n
}

// derPad is 1 when an unsigned integer needs a leading zero in DER, its
// high bit being set.
func derPad(n []byte) int {
	if len(n) > 0 && n[0]&0x80 != 0 {
		return 1
	}
	return 0
}
