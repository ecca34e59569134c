package manager

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// newP256 returns a fresh P-256 key: rotation needs more keys than the
// cached test keys.
func newP256(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// kidHeader is the header of a token of alg with the given kid.
func kidHeader(alg string, kid any) map[string]any {
	return map[string]any{"alg": alg, "typ": "JWT", "kid": kid}
}

// kidOf returns the kid header of a compact token, "" when it has none.
func kidOf(t *testing.T, signed string) string {
	t.Helper()
	kid, _ := decodeSegment(t, signed, 0)["kid"].(string)
	return kid
}

// issue returns the compact form of a new auth token of m.
func issue(t *testing.T, m *Manager) string {
	t.Helper()
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatalf("AuthToken() error = %v", err)
	}
	return tok.Signed
}

// verifyCase is a token and what Verify must say of it.
type verifyCase struct {
	name    string
	token   string
	wantErr error // nil: the token verifies
}

// runVerifyCases checks every case against m; a missing error fails.
func runVerifyCases(t *testing.T, m *Manager, cases []verifyCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := m.Verify(context.Background(), tt.token)
			if tt.wantErr == nil {
				if err != nil || tok == nil {
					t.Fatalf("Verify() = %v, %v; want a token", tok, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if tok != nil {
				t.Error("Verify() returned a token with an error")
			}
			assertNoTokenText(t, err, tt.token)
		})
	}
}

func TestRotateKey(t *testing.T) {
	k1, k2, stranger := newP256(t), newP256(t), newP256(t)
	m := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	old := issue(t, m)
	if err := m.RotateKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatalf("RotateKey() error = %v", err)
	}
	fresh := issue(t, m)
	if kidOf(t, old) != "k1" || kidOf(t, fresh) != "k2" {
		t.Fatalf("kids %q then %q, want k1 then k2", kidOf(t, old), kidOf(t, fresh))
	}
	signed := func(key *ecdsa.PrivateKey, kid any) string {
		if kid == nil {
			return craft(t, "ES256", key, nil, claimsWith(nil))
		}
		return craft(t, "ES256", key, kidHeader("ES256", kid), claimsWith(nil))
	}

	runVerifyCases(t, m, []verifyCase{
		{"token of the old key", old, nil},
		{"token of the new key", fresh, nil},
		{"crafted with the new key", signed(k2, "k2"), nil},
		{"unknown kid", signed(k2, "k3"), ErrSignature},
		{"kid of the other key", signed(k2, "k1"), ErrSignature},
		{"no kid", signed(k2, nil), ErrSignature},
		{"empty kid", signed(k2, ""), ErrSignature},
		{"kid differing in case", signed(k2, "K2"), ErrSignature},
		{"kid with a trailing space", signed(k2, "k2 "), ErrSignature},
		{"kid shaped like a path", signed(k2, "../k2"), ErrSignature},
		{"kid shaped like SQL", signed(k2, "k2' OR '1'='1"), ErrSignature},
		{"kid shaped like a URL", signed(k2, "https://evil.test/jwks.json"), ErrSignature},
		{"kid a number", signed(k2, 2), ErrMalformed},
		{"kid an array", signed(k2, []string{"k2"}), ErrMalformed},
		{"kid null", signed(k2, map[string]any(nil)), ErrMalformed},
		{"a stranger's key under a known kid", signed(stranger, "k2"), ErrSignature},
	})

	if err := m.RemoveKey("k1"); err != nil {
		t.Fatalf("RemoveKey() error = %v", err)
	}
	runVerifyCases(t, m, []verifyCase{
		{"token of the removed key", old, ErrSignature},
		{"token of the signing key after removal", fresh, nil},
	})
}

func TestRotateFromKeyWithoutID(t *testing.T) {
	secret2 := []byte("second-secret-0123456789abcdefghij")
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	before := issue(t, m)
	signed := func(secret []byte, kid any) string {
		if kid == nil {
			return craft(t, "HS256", secret, nil, claimsWith(nil))
		}
		return craft(t, "HS256", secret, kidHeader("HS256", kid), claimsWith(nil))
	}

	// One key without ID: the kid header is ignored, as before rotation.
	runVerifyCases(t, m, []verifyCase{
		{"no kid", before, nil},
		{"any kid", signed(testSecret, "anything"), nil},
		{"kid a number", signed(testSecret, 7), nil},
		{"any kid, wrong secret", signed(secret2, "anything"), ErrSignature},
	})

	if err := m.RotateKey(Key{ID: "s2", Secret: secret2}); err != nil {
		t.Fatalf("RotateKey() error = %v", err)
	}
	after := issue(t, m)
	if kidOf(t, after) != "s2" {
		t.Fatalf("kid %q, want s2", kidOf(t, after))
	}
	runVerifyCases(t, m, []verifyCase{
		{"token from before the rotation", before, nil},
		{"token from after the rotation", after, nil},
		{"no kid selects the key without ID", signed(testSecret, nil), nil},
		{"unknown kid", signed(testSecret, "anything"), ErrSignature},
		{"kid of the new key, old secret", signed(testSecret, "s2"), ErrSignature},
		{"no kid, new secret", signed(secret2, nil), ErrSignature},
		{"kid a number", signed(testSecret, 7), ErrMalformed},
	})

	if err := m.RemoveKey(""); err != nil {
		t.Fatalf(`RemoveKey("") error = %v`, err)
	}
	runVerifyCases(t, m, []verifyCase{
		{"token of the removed key", before, ErrSignature},
		{"token of the new key", after, nil},
	})
}

func TestAddKeyAnnouncesWithoutSigning(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	m := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	if err := m.AddKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatalf("AddKey() error = %v", err)
	}
	if kid := kidOf(t, issue(t, m)); kid != "k1" {
		t.Fatalf("after AddKey, tokens carry kid %q, want k1", kid)
	}
	if got := jwksKIDs(t, m.JWKS()); got != "k1,k2" {
		t.Fatalf("JWKS kids = %s, want k1,k2", got)
	}
	assertNoPrivateMembers(t, m.JWKS())
	runVerifyCases(t, m, []verifyCase{
		{"token of the announced key", craft(t, "ES256", k2, kidHeader("ES256", "k2"), claimsWith(nil)), nil},
	})

	// Adding the same key again changes nothing; RotateKey promotes it.
	if err := m.AddKey(Key{ID: "k2", PublicKey: k2.Public()}); err != nil {
		t.Fatalf("AddKey() of the same key error = %v", err)
	}
	if err := m.RotateKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatalf("RotateKey() of the announced key error = %v", err)
	}
	if kid := kidOf(t, issue(t, m)); kid != "k2" {
		t.Fatalf("after RotateKey, tokens carry kid %q, want k2", kid)
	}
	if got := jwksKIDs(t, m.JWKS()); got != "k2,k1" {
		t.Fatalf("JWKS kids = %s, want the signing key first: k2,k1", got)
	}
}

func TestKeyChangeRefusals(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	rsaKey, p384, ed := testKey(t, "rsa"), testKey(t, "p384"), testKey(t, "ed25519")
	m := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	hs := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, KeyID: "s1"})
	verifyOnly := newTestManager(t, Config{Algorithm: "ES256", PublicKey: k1.Public(), KeyID: "k1"})
	before := issue(t, m)
	jwksBefore := string(m.JWKS())

	tests := []struct {
		name   string
		change func() error
		key    Key // its material must not show in the error
	}{
		{"rotate without ID", func() error { return m.RotateKey(Key{PrivateKey: k2}) }, Key{PrivateKey: k2}},
		{"add without ID", func() error { return m.AddKey(Key{PublicKey: k2.Public()}) }, Key{}},
		{"ID with a newline", func() error { return m.RotateKey(Key{ID: "k2\n", PrivateKey: k2}) }, Key{PrivateKey: k2}},
		{"rotate to a public key", func() error { return m.RotateKey(Key{ID: "k2", PublicKey: k2.Public()}) }, Key{}},
		{"rotate to nothing", func() error { return m.RotateKey(Key{ID: "k2"}) }, Key{}},
		{"add nothing", func() error { return m.AddKey(Key{ID: "k2"}) }, Key{}},
		{"rotate ES256 to a secret", func() error { return m.RotateKey(Key{ID: "k2", Secret: testSecret}) }, Key{Secret: testSecret}},
		{"rotate ES256 to RSA", func() error { return m.RotateKey(Key{ID: "k2", PrivateKey: rsaKey}) }, Key{PrivateKey: rsaKey}},
		{"rotate ES256 to P-384", func() error { return m.RotateKey(Key{ID: "k2", PrivateKey: p384}) }, Key{PrivateKey: p384}},
		{"add Ed25519 to ES256", func() error { return m.AddKey(Key{ID: "k2", PublicKey: ed.Public()}) }, Key{}},
		{"rotate to keys not a pair", func() error {
			return m.RotateKey(Key{ID: "k2", PrivateKey: k2, PublicKey: k1.Public()})
		}, Key{PrivateKey: k2}},
		{"rotate to another key under a known ID", func() error { return m.RotateKey(Key{ID: "k1", PrivateKey: k2}) }, Key{PrivateKey: k2}},
		{"add another key under a known ID", func() error { return m.AddKey(Key{ID: "k1", PublicKey: k2.Public()}) }, Key{}},
		{"remove an unknown ID", func() error { return m.RemoveKey("k9") }, Key{}},
		{"remove the key without ID when there is none", func() error { return m.RemoveKey("") }, Key{}},
		{"remove the signing key", func() error { return m.RemoveKey("k1") }, Key{}},
		{"remove the last key of a verify-only Manager", func() error { return verifyOnly.RemoveKey("k1") }, Key{}},
		{"rotate HS256 to a short secret", func() error {
			return hs.RotateKey(Key{ID: "s2", Secret: []byte("short-secret-0123456789abcdefgh")})
		}, Key{Secret: []byte("short-secret-0123456789abcdefgh")}},
		{"add a public key to HS256", func() error { return hs.AddKey(Key{ID: "s2", PublicKey: k2.Public()}) }, Key{}},
		{"rotate HS256 to a private key", func() error { return hs.RotateKey(Key{ID: "s2", PrivateKey: k2}) }, Key{PrivateKey: k2}},
		{"rotate HS256 to another secret under a known ID", func() error {
			return hs.RotateKey(Key{ID: "s1", Secret: []byte("another-secret-0123456789abcdefgh")})
		}, Key{Secret: []byte("another-secret-0123456789abcdefgh")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.change()
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error = %v, want ErrConfig", err)
			}
			assertNoKeyMaterial(t, err, Config{Secret: tt.key.Secret, PrivateKey: tt.key.PrivateKey})
		})
	}

	// A refused change leaves the keys as they were.
	if _, err := m.Verify(context.Background(), before); err != nil {
		t.Errorf("Verify() after refused changes error = %v", err)
	}
	if kid := kidOf(t, issue(t, m)); kid != "k1" {
		t.Errorf("after refused changes, tokens carry kid %q, want k1", kid)
	}
	if got := string(m.JWKS()); got != jwksBefore {
		t.Errorf("JWKS changed by refused changes:\n%s\nwant %s", got, jwksBefore)
	}
}

func TestVerifyOnlyManagerLearnsKeys(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	signer := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	verifier := newTestManager(t, Config{Algorithm: "ES256", PublicKey: k1.Public(), KeyID: "k1"})
	old := issue(t, signer)
	if err := verifier.AddKey(Key{ID: "k2", PublicKey: k2.Public()}); err != nil {
		t.Fatal(err)
	}
	if err := signer.RotateKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatal(err)
	}
	runVerifyCases(t, verifier, []verifyCase{
		{"old token", old, nil},
		{"new token", issue(t, signer), nil},
		{"token without kid", craft(t, "ES256", k1, nil, claimsWith(nil)), ErrSignature},
	})
	if _, err := verifier.AuthToken("alice", nil, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("AuthToken() of a verify-only Manager error = %v, want ErrConfig", err)
	}
}

// TestRotationUnderLoad issues and verifies from 100 goroutines while the
// signing key rotates: no call may fail.
func TestRotationUnderLoad(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k0"})
	const rotations = 5
	keys := make([]*ecdsa.PrivateKey, rotations)
	for i := range keys {
		keys[i] = newP256(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			for range 5 {
				tok, err := m.AuthToken("alice", nil, nil)
				if err == nil {
					_, err = m.Verify(context.Background(), tok.Signed)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	close(start)
	for i, k := range keys {
		if err := m.RotateKey(Key{ID: fmt.Sprintf("k%d", i+1), PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := jwksKIDs(t, m.JWKS()); got != "k5,k0,k1,k2,k3,k4" {
		t.Errorf("JWKS kids = %s", got)
	}
	if kid := kidOf(t, issue(t, m)); kid != "k5" {
		t.Errorf("kid %q, want k5", kid)
	}
}

func TestJWKSIsACopy(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: testKey(t, "p256"), KeyID: "k1"})
	doc := m.JWKS()
	want := string(doc)
	clear(doc)
	if got := string(m.JWKS()); got != want || !strings.Contains(got, `"k1"`) {
		t.Errorf("JWKS() after the caller changed its copy = %s", got)
	}
}

func BenchmarkVerifyByKID(b *testing.B) {
	m := newTestManager(b, Config{Algorithm: "ES256", PrivateKey: newP256(b), KeyID: "k0"})
	for i := 1; i <= 4; i++ {
		if err := m.RotateKey(Key{ID: fmt.Sprintf("k%d", i), PrivateKey: newP256(b)}); err != nil {
			b.Fatal(err)
		}
	}
	tok, err := m.AuthToken("alice", "read", nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(ctx, tok.Signed); err != nil {
			b.Fatal(err)
		}
	}
}
