package manager

import (
	"context"
	"crypto"
	"crypto/hmac"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestVerifyHMACsOfOneSecret checks that a Manager accepting several HS
// algorithms with one secret verifies tokens of each, in any order, and
// still refuses a token signed with another hash than its header names:
// the prepared HMACs of one secret are told apart by their hash.
func TestVerifyHMACsOfOneSecret(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Algorithms: []string{"HS256", "HS384", "HS512"}, Secret: testSecret},
		WithVerifyCache(0))
	relabeled := func(alg, as string) string { // signed with alg, its header naming as
		h, p, _ := cut3(craft(t, as, testSecret, nil, claimsWith(nil)))
		_, _, sig := cut3(craft(t, alg, testSecret, map[string]any{"alg": as, "typ": "JWT"}, claimsWith(nil)))
		return h + "." + p + "." + sig
	}
	tests := []struct {
		name    string
		signed  string
		wantErr error
	}{
		{"HS256", craft(t, "HS256", testSecret, nil, claimsWith(nil)), nil},
		{"HS384 after HS256", craft(t, "HS384", testSecret, nil, claimsWith(nil)), nil},
		{"HS512 after HS384", craft(t, "HS512", testSecret, nil, claimsWith(nil)), nil},
		{"HS256 again", craft(t, "HS256", testSecret, nil, claimsWith(nil)), nil},
		{"HS384 again", craft(t, "HS384", testSecret, nil, claimsWith(nil)), nil},
		{"HS256 signature, HS384 header", relabeled("HS256", "HS384"), ErrSignature},
		{"HS384 signature, HS256 header", relabeled("HS384", "HS256"), ErrSignature},
		{"HS512 signature, HS384 header", relabeled("HS512", "HS384"), ErrSignature},
	}
	for _, tt := range tests { // in order: each case follows the others' use of the secret
		_, err := m.Verify(context.Background(), tt.signed)
		if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Verify() error = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	// Concurrently, every algorithm's tokens verify.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		alg := []string{"HS256", "HS384", "HS512"}[i%3]
		signed := craft(t, alg, testSecret, nil, claimsWith(nil))
		wg.Go(func() {
			if _, err := m.Verify(context.Background(), signed); err != nil {
				errs <- fmt.Errorf("%s: %w", alg, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// cut3 splits a compact JWS at its two dots.
func cut3(signed string) (header, payload, sig string) {
	parts := strings.SplitN(signed, ".", 3)
	return parts[0], parts[1], parts[2]
}

// TestHMACPools checks the prepared HMACs: one pool per secret and hash,
// found again while kept, at most maxPreparedKeys kept, and each pool's
// HMAC that of its secret and hash.
func TestHMACPools(t *testing.T) {
	var p hmacPools
	msg := []byte("header.payload")
	secrets := make([][]byte, maxPreparedKeys+6)
	for i := range secrets {
		secrets[i] = []byte(fmt.Sprintf("secret-%02d-0123456789abcdef0123456789", i))
	}
	hashes := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	for i, secret := range secrets {
		h := hashes[i%len(hashes)]
		first := p.pool(h, secret)
		if again := p.pool(h, secret); again != first {
			t.Fatalf("secret %d: a second pool for the same secret and hash", i)
		}
		if other := p.pool(hashes[(i+1)%len(hashes)], secret); other == first {
			t.Fatalf("secret %d: one pool for two hashes", i)
		}
		if n := len(*p.prepared.Load()); n > maxPreparedKeys {
			t.Fatalf("secret %d: %d prepared HMACs kept, over %d", i, n, maxPreparedKeys)
		}
		mac := hmac.New(h.New, secret)
		mac.Write(msg)
		if !p.verify(h, secret, msg, mac.Sum(nil)) {
			t.Fatalf("secret %d: its HMAC does not verify", i)
		}
		if p.verify(h, secrets[0], msg, mac.Sum(nil)) && i != 0 {
			t.Fatalf("secret %d: its HMAC verifies under secret 0", i)
		}
	}
}
