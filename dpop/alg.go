package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
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

// verify checks a JWS signature over signed with pub, which fits a.
func (a *algorithm) verify(pub crypto.PublicKey, signed string, sig []byte) bool {
	if a.kty == "OKP" {
		return ed25519.Verify(pub.(ed25519.PublicKey), []byte(signed), sig)
	}
	h := a.hash.New()
	h.Write([]byte(signed))
	digest := h.Sum(make([]byte, 0, 64))
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	case *rsa.PublicKey:
		if a.pss {
			return rsa.VerifyPSS(pub, a.hash, digest, sig,
				&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, a.hash, digest, sig) == nil
	}
	return false
}
