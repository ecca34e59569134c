package redisstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/revocation/revocationtest"
)

func TestConformanceLocalCache(t *testing.T) {
	// The suite revokes through the store it checks, which a cache sees at
	// once: it must pass unchanged.
	revocationtest.TestStore(t, harness(redisClient(t), WithLocalCache(time.Hour)))
}

// cachedPair returns two stores on one prefix: cached remembers answers
// for maxStale, direct asks Redis every time, as another instance would.
func cachedPair(t *testing.T, client redis.UniversalClient, maxStale time.Duration) (cached, direct *Store) {
	t.Helper()
	ctx := context.Background()
	prefix := uniquePrefix(t, client)
	cached, err := New(ctx, client, WithKeyPrefix(prefix), WithLocalCache(maxStale))
	if err != nil {
		t.Fatal(err)
	}
	direct, err = New(ctx, client, WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return cached, direct
}

func TestLocalCacheBound(t *testing.T) {
	// A revocation through another instance is missed for at most the
	// bound, and seen from then on; the check runs at a few bounds.
	client := redisClient(t)
	ctx := context.Background()
	for _, maxStale := range []time.Duration{300 * time.Millisecond, time.Second} {
		t.Run(maxStale.String(), func(t *testing.T) {
			cached, direct := cachedPair(t, client, maxStale)
			issued := time.Now().Add(-time.Minute)
			ids := []string{"jti-1", "family-1"}
			if revoked, err := cached.Revoked(ctx, "alice", ids, issued); err != nil || revoked {
				t.Fatalf("Revoked() before any revocation = %v, %v", revoked, err)
			}
			// The answer was asked of Redis before now: it may be used
			// until cachedAt + maxStale at the latest.
			cachedAt := time.Now()
			if err := direct.Revoke(ctx, "alice", "family-1", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			revokedAt := time.Now()
			// The cache answers from memory: the revocation is not seen yet
			// (unless a loaded machine took half the bound to get here).
			young := time.Since(cachedAt) < maxStale/2
			if revoked, err := cached.Revoked(ctx, "alice", ids, issued); err != nil || (young && revoked) {
				t.Fatalf("Revoked() right after another instance revoked = %v, %v; want the cached false (is the cache on?)", revoked, err)
			}
			// Another question is asked of Redis, and sees it.
			if revoked, err := cached.Revoked(ctx, "alice", []string{"jti-2", "family-1"}, issued); err != nil || !revoked {
				t.Errorf("Revoked() of an uncached token = %v, %v; want true", revoked, err)
			}
			for {
				before := time.Now()
				revoked, err := cached.Revoked(ctx, "alice", ids, issued)
				if err != nil {
					t.Fatal(err)
				}
				if revoked {
					t.Logf("seen %v after the revocation was written, %v after the answer was cached (bound %v)",
						time.Since(revokedAt).Round(time.Millisecond), time.Since(cachedAt).Round(time.Millisecond), maxStale)
					break
				}
				// Still missed: only while the cached answer is younger than
				// the bound.
				if late := before.Sub(cachedAt); late >= maxStale {
					t.Fatalf("revocation still missed %v after the answer was cached, bound %v", late, maxStale)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// Once seen, always seen.
			for range 10 {
				if revoked, err := cached.Revoked(ctx, "alice", ids, issued); err != nil || !revoked {
					t.Fatalf("Revoked() after the revocation was seen = %v, %v", revoked, err)
				}
			}
		})
	}
}

func TestLocalCacheSeesOwnRevocationsAtOnce(t *testing.T) {
	client := redisClient(t)
	ctx := context.Background()
	cached, _ := cachedPair(t, client, time.Hour)
	issued := time.Now().Add(-time.Minute).Truncate(time.Second)
	tokens := map[string][]string{"alice": {"a1", "fa"}, "bob": {"b1"}, "carol": {"c1", "fc"}}
	for subject, ids := range tokens {
		if revoked, err := cached.Revoked(ctx, subject, ids, issued); err != nil || revoked {
			t.Fatalf("Revoked(%s) = %v, %v", subject, revoked, err)
		}
	}
	if err := cached.Revoke(ctx, "alice", "fa", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := cached.RevokeSubject(ctx, "bob", time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for subject, want := range map[string]bool{"alice": true, "bob": true, "carol": false} {
		if revoked, err := cached.Revoked(ctx, subject, tokens[subject], issued); err != nil || revoked != want {
			t.Errorf("Revoked(%s) after revoking through the cached store = %v, %v; want %v", subject, revoked, err, want)
		}
	}
}

func TestLocalCacheRemembersOnlyNotRevoked(t *testing.T) {
	client := redisClient(t)
	ctx := context.Background()
	cached, direct := cachedPair(t, client, time.Hour)
	issued := time.Now().Add(-time.Minute)
	if err := direct.Revoke(ctx, "alice", "jti-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if revoked, err := cached.Revoked(ctx, "alice", []string{"jti-1"}, issued); err != nil || !revoked {
			t.Fatalf("Revoked() of a revoked token = %v, %v", revoked, err)
		}
	}
	if n := cached.cache.size.Load(); n != 0 {
		t.Errorf("%d answers remembered after revoked answers, want 0", n)
	}
	// An error is not remembered either.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	broken, err := newStore(down, WithLocalCache(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := broken.Revoked(ctx, "alice", []string{"jti-2"}, issued); err == nil {
			t.Fatal("Revoked() without a server: no error")
		}
	}
	if n := broken.cache.size.Load(); n != 0 {
		t.Errorf("%d answers remembered after errors, want 0", n)
	}
}

func TestLocalCacheEntriesBounded(t *testing.T) {
	client := redisClient(t)
	ctx := context.Background()
	cached, _ := cachedPair(t, client, time.Hour)
	cached.cache.maxEntries = 10
	issued := time.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if _, err := cached.Revoked(ctx, fmt.Sprint("user-", i), []string{"jti"}, issued); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	n := 0
	cached.cache.entries.Range(func(any, any) bool { n++; return true })
	// Concurrent puts may each land once past the bound before a reset.
	if n > 10+100/10 {
		t.Errorf("%d answers remembered, bound 10", n)
	}
}

func TestLocalCacheRace(t *testing.T) {
	// Revocations through the cached store, concurrent with checks: none
	// of its own revocations is ever answered "not revoked" afterwards.
	client := redisClient(t)
	ctx := context.Background()
	cached, _ := cachedPair(t, client, time.Hour)
	issued := time.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			subject, id := fmt.Sprint("user-", i%10), fmt.Sprint("jti-", i)
			for range 3 {
				if _, err := cached.Revoked(ctx, subject, []string{id}, issued); err != nil {
					t.Error(err)
					return
				}
			}
			if i%2 == 0 {
				if err := cached.Revoke(ctx, subject, id, time.Now().Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
				if revoked, err := cached.Revoked(ctx, subject, []string{id}, issued); err != nil || !revoked {
					t.Errorf("Revoked(%s, %s) after its Revoke = %v, %v", subject, id, revoked, err)
				}
			}
		})
	}
	wg.Wait()
}

func TestLocalCacheRefusesBadBound(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	for _, d := range []time.Duration{0, -time.Second} {
		if s, err := newStore(client, WithLocalCache(d)); err == nil || s != nil {
			t.Errorf("WithLocalCache(%v) = %v, %v; want an error", d, s, err)
		}
	}
}
