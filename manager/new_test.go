package manager

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// otherSigner is a crypto.Signer that is not one of the crypto package's
// key types.
type otherSigner struct{ crypto.Signer }

func TestNewRefuses(t *testing.T) {
	rsaKey := testKey(t, "rsa").(*rsa.PrivateKey)
	rsaOther := testKey(t, "rsa-other")
	rsaSmall := testKey(t, "rsa-1024")
	p224, p256, p384, p521 := testKey(t, "p224"), testKey(t, "p256"), testKey(t, "p384"), testKey(t, "p521")
	edKey := testKey(t, "ed25519").(ed25519.PrivateKey)
	edOther := testKey(t, "ed25519-other")
	shortSecret := []byte("short-secret-0123456789abcdefgh") // 31 bytes
	//lint:ignore SA1019 an invalid key can only be built from raw coordinates
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}

	tests := []struct {
		name string
		cfg  Config
		opts []Option
	}{
		{"missing issuer", Config{Algorithm: "HS256", Secret: testSecret}, nil},
		{"missing algorithm", Config{Issuer: testIssuer, Secret: testSecret}, nil},
		{"unknown algorithm", Config{Issuer: testIssuer, Algorithm: "HS1024", Secret: testSecret}, nil},
		{"lower-case algorithm", Config{Issuer: testIssuer, Algorithm: "hs256", Secret: testSecret}, nil},
		{"algorithm none", Config{Issuer: testIssuer, Algorithm: "none", Secret: testSecret}, nil},
		{"short secret", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: shortSecret}, nil},
		{"short secret HS512", Config{Issuer: testIssuer, Algorithm: "HS512", Secret: shortSecret}, nil},
		{"no secret", Config{Issuer: testIssuer, Algorithm: "HS384"}, nil},
		{"HS with private key", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret, PrivateKey: rsaKey}, nil},
		{"HS with public key", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret, PublicKey: p256.Public()}, nil},
		{"HS with key only", Config{Issuer: testIssuer, Algorithm: "HS256", PrivateKey: rsaKey}, nil},
		{"RS with secret", Config{Issuer: testIssuer, Algorithm: "RS256", Secret: testSecret, PrivateKey: rsaKey}, nil},
		{"RS without keys", Config{Issuer: testIssuer, Algorithm: "RS256"}, nil},
		{"RS with EC key", Config{Issuer: testIssuer, Algorithm: "RS256", PrivateKey: p256}, nil},
		{"RS with Ed25519 key", Config{Issuer: testIssuer, Algorithm: "RS512", PrivateKey: edKey}, nil},
		{"RS with EC public key", Config{Issuer: testIssuer, Algorithm: "RS256", PublicKey: p256.Public()}, nil},
		{"RS with 1024-bit key", Config{Issuer: testIssuer, Algorithm: "RS256", PrivateKey: rsaSmall}, nil},
		{"RS with 1024-bit public key", Config{Issuer: testIssuer, Algorithm: "RS256", PublicKey: rsaSmall.Public()}, nil},
		{"RS with empty public key", Config{Issuer: testIssuer, Algorithm: "RS256", PublicKey: &rsa.PublicKey{}}, nil},
		{"RS with foreign signer", Config{Issuer: testIssuer, Algorithm: "RS256", PrivateKey: otherSigner{rsaKey}}, nil},
		{"PS with EC key", Config{Issuer: testIssuer, Algorithm: "PS256", PrivateKey: p256}, nil},
		{"PS with 1024-bit key", Config{Issuer: testIssuer, Algorithm: "PS384", PrivateKey: rsaSmall}, nil},
		{"ES256 with RSA key", Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: rsaKey}, nil},
		{"ES256 with Ed25519 key", Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: edKey}, nil},
		{"ES256 with P-384", Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: p384}, nil},
		{"ES256 with P-224", Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: p224}, nil},
		{"ES384 with P-256", Config{Issuer: testIssuer, Algorithm: "ES384", PrivateKey: p256}, nil},
		{"ES512 with P-384", Config{Issuer: testIssuer, Algorithm: "ES512", PrivateKey: p384}, nil},
		{"ES512 with P-256 public key", Config{Issuer: testIssuer, Algorithm: "ES512", PublicKey: p256.Public()}, nil},
		{"ES256 with point off the curve", Config{Issuer: testIssuer, Algorithm: "ES256", PublicKey: offCurve}, nil},
		{"ES256 with foreign signer", Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: otherSigner{p256}}, nil},
		{"EdDSA with RSA key", Config{Issuer: testIssuer, Algorithm: "EdDSA", PrivateKey: rsaKey}, nil},
		{"EdDSA with EC key", Config{Issuer: testIssuer, Algorithm: "EdDSA", PrivateKey: p521}, nil},
		{"EdDSA with short private key", Config{Issuer: testIssuer, Algorithm: "EdDSA", PrivateKey: edKey[:40]}, nil},
		{"EdDSA with short public key", Config{Issuer: testIssuer, Algorithm: "EdDSA", PublicKey: ed25519.PublicKey(edKey[32:40])}, nil},
		{"RSA keys not a pair", Config{Issuer: testIssuer, Algorithm: "RS256", PrivateKey: rsaKey, PublicKey: rsaOther.Public()}, nil},
		{"EC keys not a pair", Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: p256, PublicKey: testKey(t, "p256-other").Public()}, nil},
		{"Ed25519 keys not a pair", Config{Issuer: testIssuer, Algorithm: "EdDSA", PrivateKey: edKey, PublicKey: edOther.Public()}, nil},
		{"keys of two kinds", Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: p256, PublicKey: rsaKey.Public()}, nil},
		{"negative AuthMaxAge", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret, AuthMaxAge: -time.Second}, nil},
		{"negative RefreshMaxAge", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret, RefreshMaxAge: -time.Hour}, nil},
		{"negative Leeway", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret, Leeway: -1}, nil},
		{"empty audience", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret, Audience: []string{"api", ""}}, nil},
		{"zero max token size", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, []Option{WithMaxTokenSize(0)}},
		{"negative max token size", Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, []Option{WithMaxTokenSize(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.cfg, tt.opts...)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New() = %v, %v; want ErrConfig", m, err)
			}
			if m != nil {
				t.Error("New() returned a Manager with an error")
			}
			assertNoKeyMaterial(t, err, tt.cfg)
		})
	}
}

// assertNoKeyMaterial fails t when the message of err contains the secret
// or the encoding of a key of cfg.
func assertNoKeyMaterial(t *testing.T, err error, cfg Config) {
	t.Helper()
	msg := err.Error()
	var leaks []string
	if len(cfg.Secret) > 0 {
		leaks = append(leaks, string(cfg.Secret))
	}
	for _, key := range []any{cfg.PrivateKey, cfg.PublicKey} {
		if key == nil {
			continue
		}
		if k, ok := key.(*rsa.PrivateKey); ok {
			leaks = append(leaks, k.D.String(), k.N.String())
		}
		if k, ok := key.(*rsa.PublicKey); ok && k.N != nil {
			leaks = append(leaks, k.N.String())
		}
		if der, err := x509.MarshalPKCS8PrivateKey(key); err == nil {
			leaks = append(leaks, middle(base64.StdEncoding.EncodeToString(der)), string(der))
		}
		if der, err := x509.MarshalPKIXPublicKey(key); err == nil {
			leaks = append(leaks, middle(base64.StdEncoding.EncodeToString(der)), string(der))
		}
	}
	for _, leak := range leaks {
		if strings.Contains(msg, leak) {
			t.Fatalf("error %q contains key material", msg)
		}
	}
}

// middle returns up to 24 bytes from the middle of s, past any prefix that
// all keys of a kind share.
func middle(s string) string {
	start := len(s) / 2
	return s[start:min(len(s), start+24)]
}

func TestNewAccepts(t *testing.T) {
	rsaKey := testKey(t, "rsa").(*rsa.PrivateKey)
	p256 := testKey(t, "p256").(*ecdsa.PrivateKey)
	edPub := testKey(t, "ed25519").Public().(ed25519.PublicKey)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"HS256 with 32-byte secret", Config{Algorithm: "HS256", Secret: testSecret}},
		{"RS256 with matching pair", Config{Algorithm: "RS256", PrivateKey: rsaKey, PublicKey: rsaKey.Public()}},
		{"RS256 public key as a value", Config{Algorithm: "RS256", PublicKey: rsaKey.PublicKey}},
		{"ES256 public key as a value", Config{Algorithm: "ES256", PublicKey: p256.PublicKey}},
		{"EdDSA public key by pointer", Config{Algorithm: "EdDSA", PublicKey: &edPub}},
		{"EdDSA with foreign signer", Config{Algorithm: "EdDSA", PrivateKey: otherSigner{testKey(t, "ed25519")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newTestManager(t, tt.cfg)
		})
	}
}

func TestNewCopiesConfig(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	aud := []string{"api"}
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: secret, Audience: aud})
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret[0]++
	aud[0] = "other"
	if _, err := m.Verify(context.Background(), tok.Signed); err != nil {
		t.Errorf("Verify() after the caller changed its Config error = %v", err)
	}
}
