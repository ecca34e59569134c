package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// Key sizes a proof's RSA jwk may have: below the lower bound the key is
// weak, above the upper one each verification costs a client-chosen amount
// of CPU.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// jwk is a proof's public key as JSON. The private members are read only to
// refuse a key that carries them.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`

	D  json.RawMessage `json:"d"`
	P  json.RawMessage `json:"p"`
	Q  json.RawMessage `json:"q"`
	DP json.RawMessage `json:"dp"`
	DQ json.RawMessage `json:"dq"`
	QI json.RawMessage `json:"qi"`
	K  json.RawMessage `json:"k"`
	// Oth is RSA's "other primes" member, private too.
	Oth json.RawMessage `json:"oth"`
}

func (k *jwk) private() bool {
	return k.D != nil || k.P != nil || k.Q != nil || k.DP != nil || k.DQ != nil ||
		k.QI != nil || k.K != nil || k.Oth != nil
}

var b64 = base64.RawURLEncoding.Strict()

// decodeB64 decodes a base64url member, without padding, refusing the
// non-canonical encodings that Strict refuses.
func decodeB64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	return b, err == nil
}

// publicKey turns a parsed jwk into a public key, refusing private members,
// unsupported types and curves, and encodings that aren't canonical (so
// that the thumbprint computed from the key is the one of the JSON sent).
func (k *jwk) publicKey() (crypto.PublicKey, error) {
	if k.private() {
		return nil, errPrivate
	}
	switch k.Kty {
	case "EC":
		curve, size := ecCurve(k.Crv)
		if curve == nil {
			return nil, errJWK
		}
		x, ok1 := decodeB64(k.X)
		y, ok2 := decodeB64(k.Y)
		if !ok1 || !ok2 || len(x) != size || len(y) != size {
			return nil, errJWK
		}
		point := make([]byte, 0, 1+2*size)
		point = append(append(append(point, 4), x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, errJWK
		}
		return pub, nil
	case "RSA":
		n, ok1 := decodeB64(k.N)
		e, ok2 := decodeB64(k.E)
		if !ok1 || !ok2 || len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 || len(e) > 4 {
			return nil, errJWK
		}
		bits := new(big.Int).SetBytes(n).BitLen()
		if bits < minRSABits || bits > maxRSABits {
			return nil, errJWK
		}
		var exp int64
		for _, b := range e {
			exp = exp<<8 | int64(b)
		}
		if exp < 3 || exp > 1<<31-1 || exp%2 == 0 {
			return nil, errJWK
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, errJWK
		}
		x, ok := decodeB64(k.X)
		if !ok || len(x) != ed25519.PublicKeySize {
			return nil, errJWK
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errJWK
}

func ecCurve(crv string) (elliptic.Curve, int) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32
	case "P-384":
		return elliptic.P384(), 48
	case "P-521":
		return elliptic.P521(), 66
	}
	return nil, 0
}

// ErrUnsupportedKey: [Thumbprint] or [NewSigner] was given a key that is
// not an ECDSA P-256/P-384/P-521, RSA (2048 to 8192 bits) or Ed25519 key.
var ErrUnsupportedKey = errors.New("dpop: unsupported key")

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of a public key,
// base64url without padding: the value of a DPoP-bound token's cnf.jkt.
// It accepts *[ecdsa.PublicKey], *[rsa.PublicKey] and [ed25519.PublicKey].
func Thumbprint(pub crypto.PublicKey) (string, error) {
	members, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	return thumbprintOf(members), nil
}

// thumbprintOf hashes the required members of a public JWK, given in
// lexicographic order as RFC 7638 §3.2 wants, with no whitespace.
func thumbprintOf(members [][2]string) string {
	buf := make([]byte, 0, 800)
	buf = append(buf, '{')
	for i, m := range members {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(append(append(append(buf, '"'), m[0]...), `":"`...), m[1]...)
		buf = append(buf, '"')
	}
	buf = append(buf, '}')
	sum := sha256.Sum256(buf)
	return b64.EncodeToString(sum[:])
}

// publicJWK returns the required members of a public key's JWK in
// lexicographic order; their values need no JSON escaping.
func publicJWK(pub crypto.PublicKey) ([][2]string, error) {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		var crv string
		switch pub.Curve {
		case elliptic.P256():
			crv = "P-256"
		case elliptic.P384():
			crv = "P-384"
		case elliptic.P521():
			crv = "P-521"
		default:
			return nil, fmt.Errorf("%w: ECDSA curve", ErrUnsupportedKey)
		}
		point, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA key", ErrUnsupportedKey)
		}
		size := (len(point) - 1) / 2
		return [][2]string{{"crv", crv}, {"kty", "EC"},
			{"x", b64.EncodeToString(point[1 : 1+size])}, {"y", b64.EncodeToString(point[1+size:])}}, nil
	case *rsa.PublicKey:
		if pub.N == nil || pub.N.BitLen() < minRSABits || pub.N.BitLen() > maxRSABits || pub.E < 3 {
			return nil, fmt.Errorf("%w: RSA key of %d to %d bits", ErrUnsupportedKey, minRSABits, maxRSABits)
		}
		e := big.NewInt(int64(pub.E)).Bytes()
		return [][2]string{{"e", b64.EncodeToString(e)}, {"kty", "RSA"}, {"n", b64.EncodeToString(pub.N.Bytes())}}, nil
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key size", ErrUnsupportedKey)
		}
		return [][2]string{{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", b64.EncodeToString(pub)}}, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}
