package manager

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test keys are generated once per test binary: RSA generation is slow.
var (
	testKeysMu sync.Mutex
	testKeys   = map[string]crypto.Signer{}
)

// testKey returns the cached private key called name: "rsa", "rsa-other",
// "rsa-1024", "p224", "p256", "p256-other", "p384", "p521", "ed25519" or
// "ed25519-other".
func testKey(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	testKeysMu.Lock()
	defer testKeysMu.Unlock()
	if k, ok := testKeys[name]; ok {
		return k
	}
	var k crypto.Signer
	var err error
	switch strings.TrimSuffix(name, "-other") {
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa-1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "p224":
		k, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p521":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("unknown test key %q", name)
	}
	if err != nil {
		tb.Fatalf("generate %s key: %v", name, err)
	}
	testKeys[name] = k
	return k
}

// pemBlock encodes der as one PEM block of type typ.
func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// pkcs8PEM encodes key as a PKCS #8 "PRIVATE KEY" block.
func pkcs8PEM(tb testing.TB, key any) string {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

// pkixPEM encodes pub as a PKIX "PUBLIC KEY" block.
func pkixPEM(tb testing.TB, pub crypto.PublicKey) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return pemBlock("PUBLIC KEY", der)
}

// certificatePEM returns a self-signed certificate of key.
func certificatePEM(tb testing.TB, key crypto.Signer) string {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "protojwt test"},
		NotBefore:    time.Unix(1_700_000_000, 0),
		NotAfter:     time.Unix(1_900_000_000, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	return pemBlock("CERTIFICATE", der)
}

func TestParsePrivateKeyPEM(t *testing.T) {
	rsaKey := testKey(t, "rsa").(*rsa.PrivateKey)
	ecKey := testKey(t, "p256").(*ecdsa.PrivateKey)
	edKey := testKey(t, "ed25519")
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	tests := []struct {
		name string
		pem  string
		want crypto.PublicKey // nil: an error is expected
	}{
		{"PKCS8 RSA", pkcs8PEM(t, rsaKey), rsaKey.Public()},
		{"PKCS1 RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaKey.Public()},
		{"SEC1 EC", pemBlock("EC PRIVATE KEY", sec1), ecKey.Public()},
		{"SEC1 EC after EC PARAMETERS", ecParams + pemBlock("EC PRIVATE KEY", sec1), ecKey.Public()},
		{"PKCS8 EC", pkcs8PEM(t, ecKey), ecKey.Public()},
		{"PKCS8 Ed25519", pkcs8PEM(t, edKey), edKey.Public()},
		{"not PEM", "not a key at all", nil},
		{"empty", "", nil},
		{"public key only", pkixPEM(t, rsaKey.Public()), nil},
		{"corrupt PKCS8", pemBlock("PRIVATE KEY", []byte("corrupt der")), nil},
		{"corrupt PKCS1", pemBlock("RSA PRIVATE KEY", []byte("corrupt der")), nil},
		{"corrupt SEC1", pemBlock("EC PRIVATE KEY", []byte("corrupt der")), nil},
		{"SEC1 labelled PKCS1", pemBlock("RSA PRIVATE KEY", sec1), nil},
		{"encrypted", pemBlock("ENCRYPTED PRIVATE KEY", []byte("secret stuff")), nil},
		{"X25519 can't sign", pkcs8PEM(t, x25519), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKeyPEM([]byte(tt.pem))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("ParsePrivateKeyPEM() = %T, want an error", got)
				}
				if tt.pem != "" && strings.Contains(err.Error(), tt.pem) {
					t.Errorf("error %q contains the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrivateKeyPEM() error = %v", err)
			}
			if !tt.want.(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Public()) {
				t.Errorf("ParsePrivateKeyPEM() returned another key")
			}
		})
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	rsaKey := testKey(t, "rsa").(*rsa.PrivateKey)
	ecKey := testKey(t, "p384")
	edKey := testKey(t, "ed25519")

	tests := []struct {
		name string
		pem  string
		want crypto.PublicKey // nil: an error is expected
	}{
		{"PKIX RSA", pkixPEM(t, rsaKey.Public()), rsaKey.Public()},
		{"PKCS1 RSA", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), rsaKey.Public()},
		{"PKIX EC", pkixPEM(t, ecKey.Public()), ecKey.Public()},
		{"PKIX Ed25519", pkixPEM(t, edKey.Public()), edKey.Public()},
		{"certificate", certificatePEM(t, ecKey), ecKey.Public()},
		{"certificate chain takes the leaf", certificatePEM(t, edKey) + certificatePEM(t, ecKey), edKey.Public()},
		{"not PEM", "-----BEGIN PUBLIC KEY-----", nil},
		{"empty", "", nil},
		{"private key only", pkcs8PEM(t, rsaKey), nil},
		{"corrupt PKIX", pemBlock("PUBLIC KEY", []byte("corrupt")), nil},
		{"corrupt PKCS1", pemBlock("RSA PUBLIC KEY", []byte("corrupt")), nil},
		{"corrupt certificate", pemBlock("CERTIFICATE", []byte("corrupt")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeyPEM([]byte(tt.pem))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("ParsePublicKeyPEM() = %T, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePublicKeyPEM() error = %v", err)
			}
			if !tt.want.(interface{ Equal(crypto.PublicKey) bool }).Equal(got) {
				t.Errorf("ParsePublicKeyPEM() returned another key")
			}
		})
	}
}
