package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestNewSignerAlgorithm(t *testing.T) {
	testKeys(t)
	tests := []struct {
		name string
		key  crypto.Signer
		opts []SignerOption
		want string
	}{
		{"ECDSA P-256", ecKey, nil, "ES256"},
		{"ECDSA P-384", ec384, nil, "ES384"},
		{"ECDSA P-521", ec521, nil, "ES512"},
		{"Ed25519", edKey, nil, "EdDSA"},
		{"RSA", rsaKey, nil, "RS256"},
		{"RSA as PS256", rsaKey, []SignerOption{WithSignerAlgorithm("PS256")}, "PS256"},
		{"Ed25519 as Ed25519", edKey, []SignerOption{WithSignerAlgorithm("Ed25519")}, "Ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.key, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != tt.want {
				t.Fatalf("Algorithm = %s; want %s", s.Algorithm(), tt.want)
			}
			want, _ := Thumbprint(tt.key.Public())
			if s.Thumbprint() != want {
				t.Fatalf("Thumbprint = %s; want %s", s.Thumbprint(), want)
			}
		})
	}
}

func TestNewSignerRefuses(t *testing.T) {
	testKeys(t)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	tests := []struct {
		name string
		key  crypto.Signer
		opts []SignerOption
	}{
		{"nil key", nil, nil},
		{"ECDSA P-224", p224, nil},
		{"RSA 1024", rsa1024, nil},
		{"ES384 for a P-256 key", ecKey, []SignerOption{WithSignerAlgorithm("ES384")}},
		{"RS256 for an EC key", ecKey, []SignerOption{WithSignerAlgorithm("RS256")}},
		{"HS256", ecKey, []SignerOption{WithSignerAlgorithm("HS256")}},
		{"none", ecKey, []SignerOption{WithSignerAlgorithm("none")}},
		{"nil clock", ecKey, []SignerOption{WithSignerClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := NewSigner(tt.key, tt.opts...); !errors.Is(err, ErrUnsupportedKey) || s != nil {
				t.Fatalf("NewSigner = %v, %v; want ErrUnsupportedKey", s, err)
			}
		})
	}
}

// decodeProof returns a proof's header and claims, unverified.
func decodeProof(t *testing.T, proof string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		t.Fatalf("proof of %d segments", len(parts))
	}
	var h, c map[string]any
	for i, dst := range []*map[string]any{&h, &c} {
		raw, ok := decodeB64(parts[i])
		if !ok {
			t.Fatalf("segment %d not base64url", i)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return h, c
}

func TestSignerProof(t *testing.T) {
	testKeys(t)
	s, err := NewSigner(ecKey, WithSignerClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	call := Call{Method: "GET", URL: "https://api.example.com/orders?page=2#top", AccessToken: testToken}
	proof, err := s.Proof(call, "n-1")
	if err != nil {
		t.Fatal(err)
	}
	h, c := decodeProof(t, proof)
	if h["typ"] != "dpop+jwt" || h["alg"] != "ES256" {
		t.Fatalf("header %v", h)
	}
	jwk := h["jwk"].(map[string]any)
	if _, private := jwk["d"]; private || jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
		t.Fatalf("header jwk %v", jwk)
	}
	if c["htm"] != "GET" || c["htu"] != "https://api.example.com/orders" || c["iat"] != float64(testNow.Unix()) ||
		c["ath"] != athOf(testToken) || c["nonce"] != "n-1" {
		t.Fatalf("claims %v", c)
	}
	if jti, _ := c["jti"].(string); len(jti) != 22 { // 128 bits
		t.Fatalf("jti %q; want 128 random bits", jti)
	}
	// Without a token and a nonce, no ath and no nonce.
	proof2, _ := s.Proof(Call{Method: "POST", URL: "https://as.example/token"}, "")
	_, c2 := decodeProof(t, proof2)
	if _, ok := c2["ath"]; ok {
		t.Fatalf("ath without a token: %v", c2)
	}
	if _, ok := c2["nonce"]; ok {
		t.Fatalf("nonce without one: %v", c2)
	}
	// Every proof is fresh.
	seen := map[any]bool{}
	for range 100 {
		p, _ := s.Proof(call, "")
		_, c := decodeProof(t, p)
		if seen[c["jti"]] {
			t.Fatal("jti repeated")
		}
		seen[c["jti"]] = true
	}
}

// TestSignerVerifier: each kind of key's proofs pass the Verifier, bound
// to the signer's thumbprint.
func TestSignerVerifier(t *testing.T) {
	testKeys(t)
	for _, tc := range []struct {
		key crypto.Signer
		alg string
	}{{ecKey, ""}, {ec384, ""}, {ec521, ""}, {rsaKey, ""}, {rsaKey, "PS256"}, {rsaKey, "PS512"}, {rsaKey, "RS384"}, {edKey, ""}} {
		var opts []SignerOption
		if tc.alg != "" {
			opts = append(opts, WithSignerAlgorithm(tc.alg))
		}
		s, err := NewSigner(tc.key, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(s.Algorithm(), func(t *testing.T) {
			v, _ := NewVerifier()
			call := Call{Method: "POST", URL: MethodURL("https", "api.example.com", "/pkg.S/M"), AccessToken: testToken}
			proof, err := s.Proof(call, "")
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(context.Background(), proof, call, s.Thumbprint())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Algorithm != s.Algorithm() || p.Thumbprint != s.Thumbprint() {
				t.Fatalf("proof %+v", p)
			}
		})
	}
}

// TestSignerGolangJWT: proofs this package signs verify with golang-jwt
// given the key of their header, another implementation of JWS.
func TestSignerGolangJWT(t *testing.T) {
	testKeys(t)
	for _, tc := range []struct {
		key crypto.Signer
		alg string
	}{{ecKey, ""}, {ec384, ""}, {ec521, ""}, {rsaKey, ""}, {rsaKey, "PS256"}, {edKey, ""}} {
		var opts []SignerOption
		if tc.alg != "" {
			opts = append(opts, WithSignerAlgorithm(tc.alg))
		}
		s, err := NewSigner(tc.key, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(s.Algorithm(), func(t *testing.T) {
			proof, err := s.Proof(Call{Method: "POST", URL: "https://api.example.com/pkg.S/M", AccessToken: testToken}, "")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.Parse(proof, func(tok *jwt.Token) (any, error) {
				raw, _ := json.Marshal(tok.Header["jwk"])
				var k jwk
				if err := json.Unmarshal(raw, &k); err != nil {
					return nil, err
				}
				return k.publicKey()
			}, jwt.WithValidMethods([]string{s.Algorithm()}), jwt.WithIssuedAt())
			if err != nil {
				t.Fatalf("golang-jwt: %v", err)
			}
			if tok.Header["typ"] != "dpop+jwt" {
				t.Fatalf("header %v", tok.Header)
			}
			// And a signature by another key does not verify there either.
			other, _ := NewSigner(ecKey2)
			forged := strings.Split(proof, ".")
			o, _ := other.Proof(Call{Method: "POST", URL: "https://x/"}, "")
			forged[2] = strings.Split(o, ".")[2]
			if _, err := jwt.Parse(strings.Join(forged, "."), func(*jwt.Token) (any, error) { return tc.key.Public(), nil },
				jwt.WithValidMethods([]string{s.Algorithm()})); err == nil {
				t.Fatal("golang-jwt accepted a signature of another key")
			}
		})
	}
}
