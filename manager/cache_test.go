package manager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/internal/tokenview"
)

// cachedManager returns an HS256 Manager on clock with the verification
// cache on (opts may change it).
func cachedManager(t *testing.T, clock *movableClock, cfg Config, opts ...Option) *Manager {
	t.Helper()
	cfg.Algorithm, cfg.Secret = "HS256", testSecret
	return newTestManager(t, cfg, append([]Option{WithClock(clock.now)}, opts...)...)
}

// mustVerify verifies signed and fails t on an error.
func mustVerify(t *testing.T, m *Manager, signed string) *Token {
	t.Helper()
	tok, err := m.Verify(context.Background(), signed)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	return tok
}

// wantStats fails t unless m's cache counts are want (Capacity and Bytes
// ignored when want leaves them 0; Bytes must then be 0 exactly when Size
// is).
func wantStats(t *testing.T, m *Manager, want CacheStats) {
	t.Helper()
	got := m.CacheStats()
	if want.Capacity == 0 {
		want.Capacity = got.Capacity
	}
	if want.Bytes == 0 {
		if (got.Bytes == 0) != (got.Size == 0) {
			t.Errorf("CacheStats() = %+v: Bytes and Size disagree", got)
		}
		want.Bytes = got.Bytes
	}
	if got != want {
		t.Errorf("CacheStats() = %+v, want %+v", got, want)
	}
}

func TestVerifyCacheHit(t *testing.T) {
	m := cachedManager(t, newMovableClock(), Config{})
	signed := issue(t, m)
	first := mustVerify(t, m, signed)
	second := mustVerify(t, m, signed)
	if first != second {
		t.Error("second Verify of a token returned another *Token, want the kept one")
	}
	wantStats(t, m, CacheStats{Size: 1, Capacity: DefaultVerifyCacheSize, Hits: 1, Misses: 1})
	assertSameToken(t, second, first)
}

// TestVerifyCacheLongerThanHeld checks the length shortcut of lookups: a
// token longer than every token held is not looked up but counted as a
// miss, and once such a token verifies, it is kept and found again.
func TestVerifyCacheLongerThanHeld(t *testing.T) {
	m := cachedManager(t, newMovableClock(), Config{})
	short := issue(t, m)
	mustVerify(t, m, short)
	long, err := m.AuthToken("alice", "read", map[string]any{"note": strings.Repeat("x", 500)})
	if err != nil {
		t.Fatal(err)
	}
	c := m.verifier.cache
	if !c.mayHold(short) || c.mayHold(long.Signed) {
		t.Fatalf("mayHold(short, long) = %v, %v; want true, false", c.mayHold(short), c.mayHold(long.Signed))
	}
	if _, err := m.Verify(context.Background(), long.Signed+"x"); err == nil {
		t.Fatal("a token with a bad signature verified")
	}
	wantStats(t, m, CacheStats{Size: 1, Misses: 2})
	first := mustVerify(t, m, long.Signed)
	if !c.mayHold(long.Signed) {
		t.Fatal("mayHold(long) = false once long is kept")
	}
	if second := mustVerify(t, m, long.Signed); second != first {
		t.Error("second Verify of the long token returned another *Token, want the kept one")
	}
	mustVerify(t, m, short)
	wantStats(t, m, CacheStats{Size: 2, Hits: 2, Misses: 3})
}

func TestVerifyCacheOff(t *testing.T) {
	m := cachedManager(t, newMovableClock(), Config{}, WithVerifyCache(0))
	signed := issue(t, m)
	first, second := mustVerify(t, m, signed), mustVerify(t, m, signed)
	if first == second {
		t.Error("Verify without cache returned the same *Token twice")
	}
	wantStats(t, m, CacheStats{})
}

func TestVerifyCacheOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		want    int // capacity
		wantErr bool
	}{
		{"default", nil, DefaultVerifyCacheSize, false},
		{"off", []Option{WithVerifyCache(0)}, 0, false},
		{"one", []Option{WithVerifyCache(1)}, 1, false},
		{"below a set", []Option{WithVerifyCache(5)}, 5, false},
		{"rounded down to sets of 8", []Option{WithVerifyCache(21)}, 16, false},
		{"negative size", []Option{WithVerifyCache(-1)}, 0, true},
		{"zero TTL", []Option{WithVerifyCacheTTL(0)}, 0, true},
		{"negative TTL", []Option{WithVerifyCacheTTL(-time.Second)}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, tt.opts...)
			if tt.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("New() error = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			if got := m.CacheStats().Capacity; got != tt.want {
				t.Errorf("Capacity = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestVerifyCacheRechecksTimes(t *testing.T) {
	const leeway = 30 * time.Second
	clock := newMovableClock()
	m := cachedManager(t, clock, Config{Leeway: leeway, AuthMaxAge: time.Hour}, WithVerifyCacheTTL(24*time.Hour))
	signed := issue(t, m)
	mustVerify(t, m, signed)

	steps := []struct {
		name    string
		move    time.Duration
		wantErr error
	}{
		{"within exp", time.Hour - time.Second, nil},
		{"past exp within leeway", leeway, nil},
		{"past exp and leeway", time.Second, ErrExpired},
		{"still expired", 0, ErrExpired},
		{"clock set back within validity", -time.Hour, nil},
		{"clock set back before iat beyond leeway", -time.Hour, ErrNotYetValid},
	}
	for _, s := range steps {
		clock.add(s.move)
		_, err := m.Verify(context.Background(), signed)
		if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Errorf("%s: Verify() error = %v, want %v", s.name, err, s.wantErr)
		}
	}
	if got := m.CacheStats().Size; got != 0 {
		t.Errorf("Size = %d after the token failed, want 0", got)
	}
}

func TestVerifyCacheTTL(t *testing.T) {
	clock := newMovableClock()
	m := cachedManager(t, clock, Config{}, WithVerifyCacheTTL(10*time.Second))
	signed := issue(t, m)
	first := mustVerify(t, m, signed)
	clock.add(9 * time.Second)
	if mustVerify(t, m, signed) != first {
		t.Error("token not reused within the TTL")
	}
	clock.add(time.Second)
	again := mustVerify(t, m, signed)
	if again == first {
		t.Error("token reused after the TTL")
	}
	wantStats(t, m, CacheStats{Size: 1, Hits: 1, Misses: 2})
	if mustVerify(t, m, signed) != again {
		t.Error("token verified again after the TTL is not kept anew")
	}
}

func TestVerifyCacheConsultsRevocation(t *testing.T) {
	clock := newMovableClock()
	store := newStubStore(t, clock)
	m := cachedManager(t, clock, Config{}, WithRevocation(store))
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, m, tok.Signed)
	mustVerify(t, m, tok.Signed)
	if got := store.revokedCalls.Load(); got != 2 {
		t.Errorf("store asked %d times for 2 Verify calls, one from the cache; want 2", got)
	}

	store.revokedErr = errors.New("store down")
	if _, err := m.Verify(context.Background(), tok.Signed); !errors.Is(err, ErrRevocationUnavailable) {
		t.Errorf("Verify() of a kept token with the store down: error = %v, want ErrRevocationUnavailable", err)
	}
	store.revokedErr = nil

	if err := m.Revoke(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := m.Verify(context.Background(), tok.Signed); !errors.Is(err, ErrRevoked) {
			t.Errorf("Verify() of a kept token after Revoke: error = %v, want ErrRevoked", err)
		}
	}
	if got := m.CacheStats().Hits; got != 4 {
		t.Errorf("Hits = %d, want 4: revocation is asked after the cache", got)
	}
}

func TestVerifyCacheKeepsNoFailure(t *testing.T) {
	clock := newMovableClock()
	store := newStubStore(t, clock)
	m := cachedManager(t, clock, Config{Audience: []string{"api"}}, WithRevocation(store))
	other := cachedManager(t, clock, Config{Issuer: "https://other.test", Audience: []string{"api"}})
	expired := issue(t, m)
	clock.add(2 * time.Hour)
	good := issue(t, m)
	revoked, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), revoked); err != nil {
		t.Fatal(err)
	}
	now := clock.now().Unix()

	tests := []struct {
		name    string
		signed  string
		wantErr error
	}{
		{"bad signature", flipSignatureBit(t, good), ErrSignature},
		{"other issuer", issue(t, other), ErrIssuer},
		{"wrong audience", craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"aud": "web", "iat": now, "nbf": now, "exp": now + 60})), ErrAudience},
		{"expired", expired, ErrExpired},
		{"revoked", revoked.Signed, ErrRevoked},
		{"malformed", "a.b.c", ErrMalformed},
	}
	for _, tt := range tests {
		for i := range 3 {
			if _, err := m.Verify(context.Background(), tt.signed); !errors.Is(err, tt.wantErr) {
				t.Errorf("%s, call %d: Verify() error = %v, want %v", tt.name, i, err, tt.wantErr)
			}
		}
	}
	wantStats(t, m, CacheStats{Misses: 3 * uint64(len(tests))})
}

func TestVerifyCacheKeyRemoval(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k0"})
	old := issue(t, m)
	mustVerify(t, m, old)

	if err := m.RotateKey(Key{ID: "k1", PrivateKey: newP256(t)}); err != nil {
		t.Fatal(err)
	}
	// The key set changed: the token is checked in full, and its key is
	// still there.
	mustVerify(t, m, old)
	mustVerify(t, m, old)
	if s := m.CacheStats(); s.Hits != 1 || s.Misses != 2 {
		t.Errorf("CacheStats() = %+v, want 2 misses (first use, after rotation) and 1 hit", s)
	}

	if err := m.RemoveKey("k0"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := m.Verify(context.Background(), old); !errors.Is(err, ErrSignature) {
			t.Fatalf("Verify() of a kept token whose key was removed: error = %v, want ErrSignature", err)
		}
	}
	mustVerify(t, m, issue(t, m))
}

func TestVerifyCacheRemoteKeyRemoval(t *testing.T) {
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSRefreshInterval(20*time.Millisecond), WithJWKSMaxAge(0))
	old := issue(t, publisher)
	first := mustVerify(t, m, old)
	if mustVerify(t, m, old) != first {
		t.Fatal("token of a JWK Set key not reused")
	}

	if err := publisher.RotateKey(Key{ID: "k2", PrivateKey: newP256(t)}); err != nil {
		t.Fatal(err)
	}
	if err := publisher.RemoveKey("k1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := m.Verify(context.Background(), old)
		if errors.Is(err, ErrSignature) {
			break
		}
		if err != nil {
			t.Fatalf("Verify() error = %v, want ErrSignature once the set drops k1", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("a kept token still verifies 10s after its key left the JWK Set")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustVerify(t, m, issue(t, publisher))
}

func TestVerifyCacheBound(t *testing.T) {
	for _, size := range []int{1, 5, 16, 64} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			m := cachedManager(t, newMovableClock(), Config{}, WithVerifyCache(size))
			capacity := m.CacheStats().Capacity
			tokens := make([]string, 4*size+8)
			for i := range tokens {
				tokens[i] = issueFor(t, m, fmt.Sprint("user-", i))
			}
			for round := range 3 {
				for i, signed := range tokens {
					mustVerify(t, m, signed)
					if got := m.CacheStats().Size; got > capacity || got > size {
						t.Fatalf("round %d, token %d: Size = %d over capacity %d (size %d)", round, i, got, capacity, size)
					}
				}
			}
			s := m.CacheStats()
			if s.Evictions == 0 {
				t.Errorf("CacheStats() = %+v: no eviction with %d tokens for %d places", s, len(tokens), capacity)
			}
			if s.Hits+s.Misses != uint64(3*len(tokens)) {
				t.Errorf("Hits + Misses = %d, want %d calls", s.Hits+s.Misses, 3*len(tokens))
			}
		})
	}
}

func TestVerifyCacheKeepsRecentlyUsed(t *testing.T) {
	m := cachedManager(t, newMovableClock(), Config{}, WithVerifyCache(8))
	hot := issue(t, m)
	kept := mustVerify(t, m, hot)
	for i := range 64 {
		mustVerify(t, m, hot) // used between every insertion
		mustVerify(t, m, issueFor(t, m, fmt.Sprint("user-", i)))
	}
	if mustVerify(t, m, hot) != kept {
		t.Error("a token used between every insertion was evicted")
	}
}

// issueFor returns a new auth token of m for sub.
func issueFor(t *testing.T, m *Manager, sub string) string {
	t.Helper()
	tok, err := m.AuthToken(sub, "read", nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Signed
}

// TestVerifyCacheConcurrent verifies valid and invalid tokens from 100
// goroutines while keys rotate and are removed: every valid token verifies
// or, once its key is gone, fails with ErrSignature; no invalid token ever
// verifies. Run with -race.
func TestVerifyCacheConcurrent(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, KeyID: "k0"}, WithVerifyCache(64))
	var valid []string
	for i := range 32 {
		valid = append(valid, issueFor(t, m, fmt.Sprint("user-", i)))
	}
	invalid := []string{flipSignatureBit(t, valid[0]), "a.b.c", valid[1] + "x"}
	var removed atomic.Bool // k0 is gone: its tokens fail

	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := range 100 {
		wg.Go(func() {
			for i := range 200 {
				signed := valid[(g+i)%len(valid)]
				tok, err := m.Verify(context.Background(), signed)
				gone := removed.Load() // set before RemoveKey starts
				switch {
				case err == nil && tok.Signed != signed:
					failures.Add(1)
				case err != nil && !(gone && errors.Is(err, ErrSignature)):
					t.Errorf("Verify() error = %v", err)
					failures.Add(1)
				}
				if i%10 == 0 {
					bad := invalid[(g+i)%len(invalid)]
					if _, err := m.Verify(context.Background(), bad); err == nil {
						failures.Add(1)
					}
				}
			}
		})
	}
	wg.Go(func() {
		secret := []byte("another-secret-for-tests-0123456")
		for i := 1; i <= 5; i++ {
			time.Sleep(time.Millisecond)
			if err := m.RotateKey(Key{ID: fmt.Sprint("k", i), Secret: secret}); err != nil {
				t.Error(err)
			}
		}
		removed.Store(true)
		if err := m.RemoveKey("k0"); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d wrong answers under concurrency", n)
	}
	if _, err := m.Verify(context.Background(), valid[0]); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify() after RemoveKey: error = %v, want ErrSignature", err)
	}
	if s := m.CacheStats(); s.Size > s.Capacity || s.Hits == 0 {
		t.Errorf("CacheStats() = %+v: want hits and Size within Capacity", s)
	}
}

func TestVerifyCacheHitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, name := range benchAlgorithms {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, algorithmConfigs(t)[name])
			signed := issue(t, m)
			mustVerify(t, m, signed)
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := m.Verify(context.Background(), signed); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Verify() of a kept token allocates %.0f times, want 0", allocs)
			}
		})
	}
}

// TestVerifyColdAllocs pins the allocations of a first Verify beyond those
// of checking the signature and decoding the claims into Token.Claims:
// the Token and the private view, which holds a token's few claims (eight
// here) in one slice and a token's many (21 here) in a clone of the
// decoded map, with no other map of them.
func TestVerifyColdAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	ctx := context.Background()
	for _, name := range benchAlgorithms {
		for _, extra := range []int{0, 13} {
			t.Run(fmt.Sprintf("%s/%d extra claims", name, extra), func(t *testing.T) {
				m := newTestManager(t, algorithmConfigs(t)[name], WithVerifyCache(0))
				var custom map[string]any
				for i := range extra {
					if custom == nil {
						custom = map[string]any{}
					}
					custom[fmt.Sprintf("c%d", i)] = "v"
				}
				tok, err := m.AuthToken("alice", "read write", custom)
				if err != nil {
					t.Fatal(err)
				}
				var claims map[string]any
				decoding := testing.AllocsPerRun(100, func() {
					if claims, err = decodeVerified(ctx, &m.verifier, tok.Signed); err != nil {
						t.Fatal(err)
					}
				})
				view := 1.0 // a slice of members
				if len(claims) > tokenview.ScanMembers {
					view = testing.AllocsPerRun(100, func() { _ = maps.Clone(claims) })
				}
				verify := testing.AllocsPerRun(100, func() {
					if _, err := m.Verify(ctx, tok.Signed); err != nil {
						t.Fatal(err)
					}
				})
				if want := decoding + view + 1; verify > want {
					t.Errorf("Verify() of %d claims allocates %.0f times, want at most %.0f: %.0f decoding, %.0f the view, 1 the Token",
						len(claims), verify, want, decoding, view)
				}
			})
		}
	}
}
