package dpop

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"

	"github.com/protojwt/protojwt/internal/jws"
)

// Binding is how a token is sender-constrained, read from its cnf claim
// (RFC 7800) by [BindingOf]. The zero Binding is a bearer token.
type Binding struct {
	// JKT is cnf.jkt, the RFC 7638 thumbprint of the key whose DPoP proofs
	// must come with the token (RFC 9449 §6); empty when not DPoP-bound.
	JKT string
	// CertificateThumbprint is cnf["x5t#S256"], the SHA-256 hash of the
	// client certificate the token must come over (RFC 8705 §3.1); empty
	// when not certificate-bound.
	CertificateThumbprint string
}

// Bound reports whether the token is sender-constrained at all.
func (b Binding) Bound() bool { return b.JKT != "" || b.CertificateThumbprint != "" }

// DPoP reports whether the token needs a DPoP proof by the key JKT.
func (b Binding) DPoP() bool { return b.JKT != "" }

// Certificate reports whether the token needs the client certificate whose
// hash is [CertificateThumbprint].
func (b Binding) Certificate() bool { return b.CertificateThumbprint != "" }

// BindingOf reads a token's binding from its claims. A token without cnf
// is a bearer token: the zero Binding. A cnf that is not an object, holds a
// jkt or x5t#S256 that is not a SHA-256 base64url digest, or names neither
// (a confirmation method this package can't check, such as jwk or kid)
// fails closed with an error wrapping [ErrProofInvalid]: such a token is
// never let through as a bearer token. A cnf with both members binds to
// both: the call must prove the key and come over the certificate.
func BindingOf(claims map[string]any) (Binding, error) {
	raw, ok := claims["cnf"]
	if !ok {
		return Binding{}, nil
	}
	cnf, ok := raw.(map[string]any)
	if !ok {
		return Binding{}, invalid(errCnf)
	}
	var b Binding
	for _, m := range [...]struct {
		name string
		dst  *string
	}{{"jkt", &b.JKT}, {"x5t#S256", &b.CertificateThumbprint}} {
		v, ok := cnf[m.name]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok || !isDigest(s) {
			return Binding{}, invalid(errCnf)
		}
		*m.dst = s
	}
	if !b.Bound() {
		return Binding{}, invalid(errCnf)
	}
	return b, nil
}

// isDigest reports whether s is a SHA-256 digest in unpadded base64url.
func isDigest(s string) bool {
	var b [sha256.Size]byte
	if len(s) != b64.EncodedLen(len(b)) {
		return false
	}
	n, err := b64.Decode(b[:], jws.StringBytes(s))
	return err == nil && n == len(b)
}

// CertificateThumbprint returns the x5t#S256 of a certificate (RFC 8705
// §3.1): the base64url SHA-256 hash of its DER encoding, the cnf member of
// a token bound to it.
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return b64.EncodeToString(sum[:])
}

// CheckCertificate checks that a certificate-bound token came over the
// connection of its certificate: cert is the client's leaf certificate (the
// first of [tls.ConnectionState.PeerCertificates]), nil when it sent none.
// A binding without x5t#S256 passes; no certificate is [ErrProofMissing];
// another certificate is [ErrProofInvalid].
func CheckCertificate(b Binding, cert *x509.Certificate) error {
	if !b.Certificate() {
		return nil
	}
	if cert == nil || len(cert.Raw) == 0 {
		return fmt.Errorf("%w: no client certificate for a certificate-bound token", ErrProofMissing)
	}
	got := CertificateThumbprint(cert)
	if subtle.ConstantTimeCompare([]byte(got), []byte(b.CertificateThumbprint)) != 1 {
		return invalid(errCert)
	}
	return nil
}
