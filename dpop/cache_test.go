package dpop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestVerifyHeaderOneByteOff: after a header is cached, a header that
// differs from it by one byte (in typ, alg, the jwk's members or their
// names) misses the cache and is checked in full, and refused.
func TestVerifyHeaderOneByteOff(t *testing.T) {
	v := newTestVerifier(t)
	p := defaultParts(t)
	raw, err := json.Marshal(p.header)
	if err != nil {
		t.Fatal(err)
	}
	header := string(raw)
	jti := 0
	proof := func(header string) string {
		jti++
		q := defaultParts(t)
		q.claims["jti"] = fmt.Sprint("one-byte-", jti)
		return signJWS(t, q.key, q.alg, json.RawMessage(header), q.claims)
	}
	if _, err := v.Verify(context.Background(), proof(header), testCall, ""); err != nil {
		t.Fatal(err)
	}
	x := p.header["jwk"].(map[string]any)["x"].(string)
	y := p.header["jwk"].(map[string]any)["y"].(string)
	flip := func(s string) string { // another base64url character at one place
		c := byte('A')
		if s[10] == 'A' {
			c = 'B'
		}
		return s[:10] + string(c) + s[11:]
	}
	tests := []struct {
		name     string
		old, new string
		want     error
	}{
		{"typ", `"dpop+jwt"`, `"dpop+jwx"`, errTyp},
		{"alg ES257", `"ES256"`, `"ES257"`, errAlg},
		{"alg HS256", `"ES256"`, `"HS256"`, errAlg},
		{"kty", `"EC"`, `"EB"`, errJWK},
		{"crv", `"P-256"`, `"P-257"`, errJWK},
		{"x", x, flip(x), errJWK},
		{"y", y, flip(y), errJWK},
		{"x named d", `"x":`, `"d":`, errPrivate},
		{"jwk named jwj", `"jwk":`, `"jwj":`, errJWK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := strings.Replace(header, tt.old, tt.new, 1)
			if changed == header || len(changed) != len(header) {
				t.Fatalf("%q does not change one byte of the header", tt.new)
			}
			diff := 0
			for i := range header {
				if header[i] != changed[i] {
					diff++
				}
			}
			if diff != 1 {
				t.Fatalf("%d bytes changed; want 1", diff)
			}
			_, err := v.Verify(context.Background(), proof(changed), testCall, "")
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrProofInvalid) {
				t.Fatalf("Verify = %v; want %v", err, tt.want)
			}
		})
	}
	if n := len(v.headers.m); n != 1 {
		t.Fatalf("%d headers cached; want the one accepted", n)
	}
	// The cached header still serves.
	if _, err := v.Verify(context.Background(), proof(header), testCall, ""); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyTokenHashCached: the hash of a token kept from one proof is
// the hash of that token alone: a token that differs by one byte is
// hashed anew, and a proof made for the first is refused with it.
func TestVerifyTokenHashCached(t *testing.T) {
	v := newTestVerifier(t)
	other := testToken[:len(testToken)-1] + "x"
	tests := []struct {
		name  string
		ath   string // the proof's
		token string // the call's
		want  error
	}{
		{"the token", athOf(testToken), testToken, nil},
		{"a token one byte off", athOf(testToken), other, errATH},
		{"the other token's proof", athOf(other), other, nil},
		{"the other's proof with the first", athOf(other), testToken, errATH},
		{"the token again", athOf(testToken), testToken, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts(t)
			p.claims["jti"] = fmt.Sprint("token-", i)
			p.claims["ath"] = tt.ath
			call := testCall
			call.AccessToken = tt.token
			_, err := v.Verify(context.Background(), p.sign(t), call, "")
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v; want %v", err, tt.want)
			}
		})
	}
	if n := len(v.tokenHashes.m); n != 2 {
		t.Fatalf("%d token hashes cached; want 2", n)
	}
}

// TestTextCacheBounded: many texts never grow a cache past its bound; a
// text is found by its exact bytes only.
func TestTextCacheBounded(t *testing.T) {
	const max = 4 << 10
	c := newTextCache[string](max)
	for i := range 2000 {
		text := fmt.Sprintf("%0*d", 10+i%300, i)
		c.put(text, text)
		if c.bytes > c.max {
			t.Fatalf("cache holds %d bytes, bound %d", c.bytes, c.max)
		}
		if got, ok := c.get(text); !ok || got != text {
			t.Fatalf("get(%q) = %q, %v just after put", text, got, ok)
		}
		for _, near := range []string{text[1:], text + "0", "1" + text[1:]} {
			if near == text {
				continue
			}
			if got, ok := c.get(near); ok && got != near {
				t.Fatalf("get(%q) = %q: another text's value", near, got)
			}
		}
	}
	if len(c.m) == 0 || len(c.m) > max/entryOverhead {
		t.Fatalf("%d entries", len(c.m))
	}
	// A text larger than the bound is not kept.
	huge := strings.Repeat("h", max)
	c.put(huge, huge)
	if _, ok := c.get(huge); ok {
		t.Fatal("a text over the bound was kept")
	}
}

// TestTextCacheConcurrent: 100 goroutines put and get overlapping texts in
// a cache small enough to start again empty many times; each get finds
// nothing or the value of its own text.
func TestTextCacheConcurrent(t *testing.T) {
	c := newTextCache[string](2 << 10)
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 200 {
				text := fmt.Sprint("text-", (g+i)%150)
				if got, ok := c.get(text); ok && got != text {
					t.Errorf("get(%q) = %q", text, got)
					return
				}
				c.put(text, text)
			}
		})
	}
	wg.Wait()
	if c.bytes > c.max {
		t.Fatalf("cache holds %d bytes, bound %d", c.bytes, c.max)
	}
}

// TestVerifyConcurrentCaches: 100 goroutines verify proofs of one key,
// each its own, through one Verifier whose header and token caches they
// share; every proof is accepted once and refused when sent again.
func TestVerifyConcurrentCaches(t *testing.T) {
	v := newTestVerifier(t)
	proofs := distinctProofs(t, 100, "concurrent-")
	var wg sync.WaitGroup
	for _, proof := range proofs {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), proof, testCall, ""); err != nil {
				t.Errorf("first use: %v", err)
			}
			if _, err := v.Verify(context.Background(), proof, testCall, ""); !errors.Is(err, errReplay) {
				t.Errorf("second use: %v; want errReplay", err)
			}
		})
	}
	wg.Wait()
}

// TestSharedMemoryReplayCache: two Verifiers that share a
// MemoryReplayCache refuse a proof one of them accepted, and the cache
// knows it by the digest any ReplayCache is given.
func TestSharedMemoryReplayCache(t *testing.T) {
	c := NewMemoryReplayCache(0)
	c.now = func() time.Time { return testNow } // the verifiers' time
	v1, v2 := newTestVerifier(t, WithReplayCache(c)), newTestVerifier(t, WithReplayCache(c))
	p := defaultParts(t)
	proof := p.sign(t)
	got, err := v1.Verify(context.Background(), proof, testCall, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(context.Background(), proof, testCall, ""); !errors.Is(err, errReplay) {
		t.Fatalf("replay on the other verifier: %v; want errReplay", err)
	}
	seen, err := c.Seen(context.Background(), replayID(got.Thumbprint, got.ID), testNow.Add(time.Hour))
	if err != nil || !seen {
		t.Fatalf("Seen(the proof's id) = %v, %v; want true", seen, err)
	}
}

// TestPrivateReplayCache: the cache a Verifier makes itself keys a proof
// by its key and jti together: the same jti from another key is another
// proof, and each is refused when sent again.
func TestPrivateReplayCache(t *testing.T) {
	v := newTestVerifier(t)
	if m, ok := v.replay.(*MemoryReplayCache); !ok || !m.private {
		t.Fatal("the default replay cache is not the Verifier's own")
	}
	a := defaultParts(t).sign(t)
	b := defaultParts(t).withKey(t, ecKey2, "ES256").sign(t)
	for _, proof := range []string{a, b} {
		if _, err := v.Verify(context.Background(), proof, testCall, ""); err != nil {
			t.Fatalf("first use: %v", err)
		}
	}
	for _, proof := range []string{a, b} {
		if _, err := v.Verify(context.Background(), proof, testCall, ""); !errors.Is(err, errReplay) {
			t.Fatalf("second use: %v; want errReplay", err)
		}
	}
	m := v.replay.(*MemoryReplayCache)
	if m.privateKey("k", "ab") == m.privateKey("ka", "b") {
		t.Fatal("key and jti run together")
	}
}

// TestVerifyAllocations pins what a warm proof check allocates besides
// its signature check: the jti of the Proof it returns, and nothing else
// (the caches of headers, token hashes and proofs included).
func TestVerifyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	v := newTestVerifier(t)
	proofs := distinctProofs(t, 120, "allocations-")
	jkt, err := Thumbprint(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	verify := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(ctx, proofs[i], testCall, jkt); err != nil {
			t.Fatal(err)
		}
		i++
	})
	check := signatureCheck(t, ecKey, proofs[0])
	signature := testing.AllocsPerRun(100, check)
	if verify > signature+1 {
		t.Fatalf("Verify allocates %v times, its signature check %v: want one more at most", verify, signature)
	}
}

// distinctProofs returns n proofs of the default parts, each with its own
// jti: prefix and its index.
func distinctProofs(t testing.TB, n int, prefix string) []string {
	proofs := make([]string, n)
	for i := range proofs {
		p := defaultParts(t)
		p.claims["jti"] = fmt.Sprint(prefix, i)
		proofs[i] = p.sign(t)
	}
	return proofs
}
