package manager

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// minSecretSize is the shortest HMAC secret New accepts, in bytes.
	minSecretSize = 32
	// minRSABits is the smallest RSA modulus New accepts.
	minRSABits = 2048
)

// keyFamily groups the algorithms that share a kind of key.
type keyFamily int

const (
	familyNone keyFamily = iota // the zero algorithm: none configured
	familyHMAC
	familyRSA
	familyECDSA
	familyEdDSA
)

// algorithm is what New needs to know about a JWS algorithm.
type algorithm struct {
	name   string // the JWS "alg"
	method jwt.SigningMethod
	family keyFamily
	curve  elliptic.Curve // ECDSA only
}

// algorithmNames lists the names of algorithms in the order of the docs.
var algorithmNames = []string{
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}

// algorithms lists every algorithm a Manager issues and verifies.
var algorithms = map[string]algorithm{
	"HS256": {"HS256", jwt.SigningMethodHS256, familyHMAC, nil},
	"HS384": {"HS384", jwt.SigningMethodHS384, familyHMAC, nil},
	"HS512": {"HS512", jwt.SigningMethodHS512, familyHMAC, nil},
	"RS256": {"RS256", jwt.SigningMethodRS256, familyRSA, nil},
	"RS384": {"RS384", jwt.SigningMethodRS384, familyRSA, nil},
	"RS512": {"RS512", jwt.SigningMethodRS512, familyRSA, nil},
	"PS256": {"PS256", jwt.SigningMethodPS256, familyRSA, nil},
	"PS384": {"PS384", jwt.SigningMethodPS384, familyRSA, nil},
	"PS512": {"PS512", jwt.SigningMethodPS512, familyRSA, nil},
	"ES256": {"ES256", jwt.SigningMethodES256, familyECDSA, elliptic.P256()},
	"ES384": {"ES384", jwt.SigningMethodES384, familyECDSA, elliptic.P384()},
	"ES512": {"ES512", jwt.SigningMethodES512, familyECDSA, elliptic.P521()},
	"EdDSA": {"EdDSA", jwt.SigningMethodEdDSA, familyEdDSA, nil},
}

// selfTestMessage is signed and verified by New to prove that the private
// key and the public key form a pair.
const selfTestMessage = "protojwt key self-test"

// checkKeys validates the keys of cfg for alg and returns the key that signs
// (nil for a verify-only configuration) and the key that verifies, in the
// forms golang-jwt expects. Errors never contain key material.
func checkKeys(cfg Config, alg algorithm) (signKey, verifyKey any, err error) {
	name := alg.method.Alg()
	if alg.family == familyHMAC {
		if cfg.PrivateKey != nil || cfg.PublicKey != nil {
			return nil, nil, fmt.Errorf("%s takes a Secret, not a PrivateKey or PublicKey", name)
		}
		if len(cfg.Secret) < minSecretSize {
			return nil, nil, fmt.Errorf("%s Secret is shorter than %d bytes", name, minSecretSize)
		}
		secret := bytes.Clone(cfg.Secret)
		return secret, secret, nil
	}

	if len(cfg.Secret) > 0 {
		return nil, nil, fmt.Errorf("%s takes keys, not a Secret", name)
	}
	pub := normalizePublicKey(cfg.PublicKey)
	if pub != nil {
		if err := checkPublicKey(alg, pub); err != nil {
			return nil, nil, err
		}
	}
	if cfg.PrivateKey != nil {
		if k, ok := cfg.PrivateKey.(ed25519.PrivateKey); ok && len(k) != ed25519.PrivateKeySize {
			return nil, nil, fmt.Errorf("%s Ed25519 PrivateKey has a wrong size", name)
		}
		derived := normalizePublicKey(cfg.PrivateKey.Public())
		if err := checkPublicKey(alg, derived); err != nil {
			return nil, nil, fmt.Errorf("PrivateKey: %w", err)
		}
		if pub == nil {
			pub = derived
		} else if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(derived) {
			return nil, nil, errors.New("PrivateKey and PublicKey are not a pair")
		}
	}
	if pub == nil {
		return nil, nil, fmt.Errorf("%s needs a PrivateKey or a PublicKey", name)
	}
	if cfg.PrivateKey == nil {
		return nil, pub, nil
	}
	if err := checkPrivateKeyType(alg, cfg.PrivateKey); err != nil {
		return nil, nil, err
	}
	sig, err := alg.method.Sign(selfTestMessage, cfg.PrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%s PrivateKey can't sign", name)
	}
	if err := alg.method.Verify(selfTestMessage, sig, pub); err != nil {
		return nil, nil, errors.New("PrivateKey and PublicKey are not a pair")
	}
	return cfg.PrivateKey, pub, nil
}

// checkPublicKey reports whether pub, normalized, is a key alg can verify with.
func checkPublicKey(alg algorithm, pub crypto.PublicKey) error {
	name := alg.method.Alg()
	switch alg.family {
	case familyRSA:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k.N == nil {
			return fmt.Errorf("%s needs an RSA key, not %T", name, pub)
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("%s RSA key has %d bits, at least %d required", name, bits, minRSABits)
		}
	case familyECDSA:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve == nil {
			return fmt.Errorf("%s needs an ECDSA key, not %T", name, pub)
		}
		if k.Curve != alg.curve {
			return fmt.Errorf("%s needs an ECDSA key on %s, not %s", name, alg.curve.Params().Name, k.Curve.Params().Name)
		}
		if _, err := k.Bytes(); err != nil {
			return fmt.Errorf("%s ECDSA key is not a valid point", name)
		}
	case familyEdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an Ed25519 key, not %T", name, pub)
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%s Ed25519 key has a wrong size", name)
		}
	}
	return nil
}

// checkPrivateKeyType reports whether golang-jwt can sign alg with priv:
// RSA and ECDSA signing need the crypto package's own key types, EdDSA takes
// any [crypto.Signer] with an Ed25519 public key.
func checkPrivateKeyType(alg algorithm, priv crypto.Signer) error {
	name := alg.method.Alg()
	switch alg.family {
	case familyRSA:
		if _, ok := priv.(*rsa.PrivateKey); !ok {
			return fmt.Errorf("%s needs an *rsa.PrivateKey, not %T", name, priv)
		}
	case familyECDSA:
		if _, ok := priv.(*ecdsa.PrivateKey); !ok {
			return fmt.Errorf("%s needs an *ecdsa.PrivateKey, not %T", name, priv)
		}
	}
	return nil
}

// normalizePublicKey returns pub in the form golang-jwt verifies with:
// pointers for RSA and ECDSA keys, a value for Ed25519 keys.
func normalizePublicKey(pub crypto.PublicKey) crypto.PublicKey {
	switch k := pub.(type) {
	case rsa.PublicKey:
		return &k
	case ecdsa.PublicKey:
		return &k
	case *ed25519.PublicKey:
		if k == nil {
			return nil
		}
		return *k
	case *rsa.PublicKey:
		if k == nil {
			return nil
		}
	case *ecdsa.PublicKey:
		if k == nil {
			return nil
		}
	}
	return pub
}

// ParsePrivateKeyPEM returns the private key of the first key block of
// pemText, for Config.PrivateKey: PKCS #8 ("PRIVATE KEY"), PKCS #1 ("RSA
// PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). Other blocks, such as "EC
// PARAMETERS", are skipped. Errors never contain the key. New checks that
// the key fits the algorithm.
func ParsePrivateKeyPEM(pemText []byte) (crypto.Signer, error) {
	for block, rest := pem.Decode(pemText); block != nil; block, rest = pem.Decode(rest) {
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted private keys are not supported")
		default:
			continue
		}
		if err != nil {
			// x509's messages describe the DER; leave them out.
			return nil, fmt.Errorf("PEM block %q is not a valid private key", block.Type)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key of type %T can't sign", key)
		}
		return signer, nil
	}
	return nil, errors.New("no PEM private key (PKCS #8, PKCS #1 or SEC 1) found")
}

// ParsePublicKeyPEM returns the public key of the first key block of
// pemText, for Config.PublicKey: PKIX ("PUBLIC KEY"), PKCS #1 ("RSA PUBLIC
// KEY") or the key of a certificate ("CERTIFICATE", the leaf of a chain).
// Other blocks are skipped; the certificate itself is not verified.
func ParsePublicKeyPEM(pemText []byte) (crypto.PublicKey, error) {
	for block, rest := pem.Decode(pemText); block != nil; block, rest = pem.Decode(rest) {
		var key crypto.PublicKey
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q is not a valid public key", block.Type)
		}
		return key, nil
	}
	return nil, errors.New("no PEM public key (PKIX, PKCS #1 or certificate) found")
}
