// Package dpoptest is the attack table of sender-constrained tokens that
// every adapter's tests run over its real transport: DPoP-bound tokens
// with good and hostile proofs, certificate-bound tokens over the right,
// another or no client certificate, bearer tokens, and server nonces. Each
// adapter gives a Caller that makes one call and says how it ended; Run
// checks every case with it.
//
//	env := dpoptest.New(t)
//	srv := start(t, env.Manager, WithDPoP(env.Verifier), tls(env.ServerTLS()))
//	dpoptest.Run(t, env, target, plainCaller, nonceCaller)
package dpoptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/manager"
)

// Cert names a client certificate a call is made with.
type Cert int

// The client certificates.
const (
	NoCert  Cert = iota // the client presents none
	ClientA             // the certificate tokens are bound to
	ClientB             // another client's certificate, of the same CA
)

// Env holds what the cases need: the manager that issues and verifies the
// tokens, the client's DPoP key and another key, the verifiers the servers
// under test are given, and the certificates of a test CA.
type Env struct {
	// Manager issues the tokens and verifies them (HS256).
	Manager *manager.Manager
	// Key signs the proofs of the key tokens are bound to; Other is
	// another key.
	Key, Other *dpop.Signer
	// key is Key's private key, for forged proofs.
	key *ecdsa.PrivateKey
	// Verifier checks proofs without nonces; NonceVerifier demands a nonce
	// of Nonces.
	Verifier, NonceVerifier *dpop.Verifier
	// Nonces is NonceVerifier's nonce source; OtherNonces another one,
	// whose nonces the server does not accept.
	Nonces, OtherNonces *dpop.NonceSource
	// Roots holds the test CA.
	Roots *x509.CertPool
	// Server is the server's certificate, for 127.0.0.1 and localhost.
	Server tls.Certificate
	// Clients are the client certificates, by Cert.
	Clients map[Cert]tls.Certificate
}

// New returns a new Env.
func New(tb testing.TB) *Env {
	tb.Helper()
	m, err := manager.New(manager.Config{Issuer: "dpoptest", Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef-dpop")})
	if err != nil {
		tb.Fatal(err)
	}
	e := &Env{Manager: m, Clients: map[Cert]tls.Certificate{}}
	e.key = newKey(tb)
	if e.Key, err = dpop.NewSigner(e.key); err != nil {
		tb.Fatal(err)
	}
	if e.Other, err = dpop.NewSigner(newKey(tb)); err != nil {
		tb.Fatal(err)
	}
	if e.Nonces, err = dpop.NewNonceSource(); err != nil {
		tb.Fatal(err)
	}
	if e.OtherNonces, err = dpop.NewNonceSource(); err != nil {
		tb.Fatal(err)
	}
	if e.Verifier, err = dpop.NewVerifier(); err != nil {
		tb.Fatal(err)
	}
	if e.NonceVerifier, err = dpop.NewVerifier(dpop.WithNonces(e.Nonces)); err != nil {
		tb.Fatal(err)
	}
	e.certificates(tb)
	return e
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// certificates makes the CA, the server's certificate and two clients'.
func (e *Env) certificates(tb testing.TB) {
	tb.Helper()
	caKey := newKey(tb)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dpoptest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		tb.Fatal(err)
	}
	e.Roots = x509.NewCertPool()
	e.Roots.AddCert(ca)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage) tls.Certificate {
		key := newKey(tb)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			tb.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			tb.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	}
	e.Server = issue(2, "server", x509.ExtKeyUsageServerAuth)
	e.Clients[ClientA] = issue(3, "client A", x509.ExtKeyUsageClientAuth)
	e.Clients[ClientB] = issue(4, "client B", x509.ExtKeyUsageClientAuth)
}

// ServerTLS returns the server's TLS config: its certificate, and client
// certificates of the CA verified when given, not required, so that
// bearer and DPoP calls need none.
func (e *Env) ServerTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{e.Server},
		ClientCAs:    e.Roots,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// ClientTLS returns a client's TLS config presenting c.
func (e *Env) ClientTLS(c Cert) *tls.Config {
	cfg := &tls.Config{RootCAs: e.Roots, MinVersion: tls.VersionTLS12}
	if c != NoCert {
		cfg.Certificates = []tls.Certificate{e.Clients[c]}
	}
	return cfg
}

// Token returns a signed auth token of alice with role admin, bound by
// cnf when cnf is not nil.
func (e *Env) Token(tb testing.TB, cnf map[string]any) string {
	tb.Helper()
	claims := map[string]any{"role": "admin"}
	if cnf != nil {
		claims["cnf"] = cnf
	}
	tok, err := e.Manager.AuthToken("alice", nil, claims)
	if err != nil {
		tb.Fatal(err)
	}
	return tok.Signed
}

// DPoPToken returns a token bound to Key.
func (e *Env) DPoPToken(tb testing.TB) string {
	return e.Token(tb, map[string]any{"jkt": e.Key.Thumbprint()})
}

// CertToken returns a token bound to ClientA's certificate.
func (e *Env) CertToken(tb testing.TB) string {
	return e.Token(tb, map[string]any{"x5t#S256": dpop.CertificateThumbprint(e.Clients[ClientA].Leaf)})
}
