package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"math/big"
	"time"
)

// Signer makes DPoP proofs with one key: a fresh proof for every call, as
// RFC 9449 wants. It is safe for concurrent use if its key is.
type Signer struct {
	key        crypto.Signer
	alg        *algorithm
	header     string // base64url header, the same in every proof
	thumbprint string
	now        func() time.Time
}

// SignerOption configures a [Signer].
type SignerOption interface{ applySigner(*Signer) error }

type signerOptionFunc func(*Signer) error

func (f signerOptionFunc) applySigner(s *Signer) error { return f(s) }

// WithSignerAlgorithm sets the proofs' JWS algorithm, which must fit the
// key. By default, ES256, ES384 or ES512 by the curve of an ECDSA key,
// EdDSA for Ed25519, and RS256 for RSA (PS256 is the other common choice).
func WithSignerAlgorithm(alg string) SignerOption {
	return signerOptionFunc(func(s *Signer) error {
		a, ok := algorithms[alg]
		if !ok {
			return fmt.Errorf("%w: algorithm %q", ErrUnsupportedKey, alg)
		}
		s.alg = a
		return nil
	})
}

// WithSignerClock sets the clock of the proofs' iat, for tests. By
// default, [time.Now].
func WithSignerClock(now func() time.Time) SignerOption {
	return signerOptionFunc(func(s *Signer) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrUnsupportedKey)
		}
		s.now = now
		return nil
	})
}

// NewSigner returns a signer of proofs by key: an *[ecdsa.PrivateKey]
// (P-256, P-384, P-521), *[rsa.PrivateKey] (2048 to 8192 bits),
// [ed25519.PrivateKey], or any [crypto.Signer] whose Public is one of those (a
// key in a KMS or a hardware token).
func NewSigner(key crypto.Signer, opts ...SignerOption) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", ErrUnsupportedKey)
	}
	pub := key.Public()
	members, err := publicJWK(pub)
	if err != nil {
		return nil, err
	}
	s := &Signer{key: key, now: time.Now}
	for _, o := range opts {
		if err := o.applySigner(s); err != nil {
			return nil, err
		}
	}
	if s.alg == nil {
		switch pub := pub.(type) {
		case *ecdsa.PublicKey:
			s.alg = algorithms[map[elliptic.Curve]string{
				elliptic.P256(): "ES256", elliptic.P384(): "ES384", elliptic.P521(): "ES512"}[pub.Curve]]
		case *rsa.PublicKey:
			s.alg = algorithms["RS256"]
		case ed25519.PublicKey:
			s.alg = algorithms["EdDSA"]
		}
	}
	if !s.alg.fits(pub) {
		return nil, fmt.Errorf("%w: algorithm %s does not fit a %T", ErrUnsupportedKey, s.alg.name, pub)
	}
	jwkObj := make(map[string]string, len(members))
	for _, m := range members {
		jwkObj[m[0]] = m[1]
	}
	hdr, err := json.Marshal(struct {
		Typ string            `json:"typ"`
		Alg string            `json:"alg"`
		JWK map[string]string `json:"jwk"`
	}{"dpop+jwt", s.alg.name, jwkObj})
	if err != nil {
		return nil, err
	}
	s.header = b64.EncodeToString(hdr)
	s.thumbprint = thumbprintOf(members)
	return s, nil
}

// Thumbprint returns the RFC 7638 thumbprint of the signer's key: the
// cnf.jkt of tokens bound to it.
func (s *Signer) Thumbprint() string { return s.thumbprint }

// Algorithm returns the JWS algorithm of the signer's proofs.
func (s *Signer) Algorithm() string { return s.alg.name }

// proofClaims is a proof's payload as the signer writes it.
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof returns a new proof for a call: htm and htu (without the URL's
// query and fragment), iat now, a random 128-bit jti, the ath of the
// call's access token when there is one, and nonce when not empty (the
// server's DPoP-Nonce).
func (s *Signer) Proof(call Call, nonce string) (string, error) {
	var id [16]byte
	rand.Read(id[:])
	c := proofClaims{
		JTI:   b64.EncodeToString(id[:]),
		HTM:   call.Method,
		HTU:   withoutQuery(call.URL),
		IAT:   s.now().Unix(),
		Nonce: nonce,
	}
	if call.AccessToken != "" {
		sum := sha256.Sum256([]byte(call.AccessToken))
		c.ATH = b64.EncodeToString(sum[:])
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("dpop: proof claims: %w", err)
	}
	signed := s.header + "." + b64.EncodeToString(payload)
	sig, err := s.sign(signed)
	if err != nil {
		return "", err
	}
	return signed + "." + b64.EncodeToString(sig), nil
}

// sign makes the JWS signature of signed.
func (s *Signer) sign(signed string) ([]byte, error) {
	if s.alg.kty == "OKP" {
		sig, err := s.key.Sign(rand.Reader, []byte(signed), crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("dpop: signing a proof: %w", err)
		}
		return sig, nil
	}
	h := s.alg.hash.New()
	h.Write([]byte(signed))
	digest := h.Sum(nil)
	var opts crypto.SignerOpts = s.alg.hash
	if s.alg.pss {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: s.alg.hash}
	}
	sig, err := s.key.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("dpop: signing a proof: %w", err)
	}
	if s.alg.kty != "EC" {
		return sig, nil
	}
	// ECDSA signers return ASN.1; JWS wants r and s, each of the curve's size.
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("dpop: signing a proof: malformed ECDSA signature")
	}
	size := (s.alg.curve.Params().BitSize + 7) / 8
	if rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, fmt.Errorf("dpop: signing a proof: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}
