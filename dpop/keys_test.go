package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"sync"
	"testing"
)

// Test keys, made once per test binary.
var (
	keysOnce                    sync.Once
	ecKey, ecKey2, ec384, ec521 *ecdsa.PrivateKey
	rsaKey, rsa1024             *rsa.PrivateKey
	edKey                       ed25519.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ecKey2, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		ec521, _ = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsa1024 = insecureRSA1024()
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

// insecureRSA1024 is a 1024-bit RSA key, too small for a proof.
func insecureRSA1024() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return nil
	}
	return k
}

// jwkOf returns the public JWK of a key as a JSON object.
func jwkOf(t testing.TB, pub crypto.PublicKey) map[string]any {
	t.Helper()
	members, err := publicJWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	for _, kv := range members {
		m[kv[0]] = kv[1]
	}
	return m
}

// encodeSegment returns the base64url JSON of v.
func encodeSegment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// signJWS signs header and claims with key under alg, as a proof's
// client would, whatever the header says.
func signJWS(t testing.TB, key crypto.Signer, alg string, header, claims any) string {
	t.Helper()
	signed := encodeSegment(t, header) + "." + encodeSegment(t, claims)
	s := &Signer{key: key, alg: algorithms[alg]}
	sig, err := s.sign(signed)
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + b64.EncodeToString(sig)
}
