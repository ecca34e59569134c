package manager

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// cacheShapes are claims of different JSON shapes, for the byte estimate.
var cacheShapes = []struct {
	name   string
	claims func(i int) map[string]any
}{
	{"typical", func(int) map[string]any { return map[string]any{"tenant": "acme"} }},
	{"long-string", func(i int) map[string]any { return map[string]any{"blob": fmt.Sprintf("%04000d", i)} }},
	{"many-numbers", func(int) map[string]any { return heavyClaims(1500) }},
	{"many-objects", func(int) map[string]any {
		objs := map[string]any{}
		for j := range 150 {
			objs[fmt.Sprintf("k%03d", j)] = map[string]any{"a": "b"}
		}
		return map[string]any{"o": objs}
	}},
	{"many-arrays", func(int) map[string]any {
		arrs := make([]any, 1000)
		for j := range arrs {
			arrs[j] = []any{}
		}
		return map[string]any{"a": arrs}
	}},
}

// TestVerifyCacheByteEstimate checks that the estimate of a kept token,
// which the byte bound counts, follows the memory it really holds, for
// claims of every shape: within a factor of 1.5 either way.
func TestVerifyCacheByteEstimate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes memory use")
	}
	for _, shape := range cacheShapes {
		t.Run(shape.name, func(t *testing.T) {
			const n = 300
			m := newTestManager(t, algorithmConfigs(t)["HS256"], WithMaxTokenSize(16<<10), WithVerifyCache(8192), WithVerifyCacheBytes(1<<40))
			tokens := make([]string, n)
			for i := range tokens {
				tok, err := m.AuthToken(fmt.Sprintf("user-%d", i), "read write", shape.claims(i))
				if err != nil {
					t.Fatal(err)
				}
				tokens[i] = strings.Clone(tok.Signed)
			}
			before := heapInUse()
			for _, s := range tokens {
				mustVerify(t, m, s)
			}
			after := heapInUse()
			stats := m.CacheStats()
			runtime.KeepAlive(tokens)
			if stats.Size != n {
				t.Fatalf("cache holds %d tokens, want %d", stats.Size, n)
			}
			text := 0
			for _, s := range tokens {
				text += len(s)
			}
			real := float64(after-before+uint64(text)) / n
			estimate := float64(stats.Bytes) / n
			t.Logf("%d bytes of text: estimate %.0f B, real %.0f B per token", text/n, estimate, real)
			if estimate < real/1.5 || estimate > real*1.5 {
				t.Errorf("estimate %.0f B per token, real %.0f B: off by more than 1.5x", estimate, real)
			}
		})
	}
}

// TestVerifyCacheByteBound checks that large valid tokens can't take the
// cache past WithVerifyCacheBytes, counted and measured, that it still
// keeps what fits, and that a token over its share is not kept.
func TestVerifyCacheByteBound(t *testing.T) {
	const bound = 4 << 20
	m := newTestManager(t, algorithmConfigs(t)["HS256"], WithMaxTokenSize(16<<10), WithVerifyCacheBytes(bound))
	tokens := make([]string, 200)
	for i := range tokens {
		tok, err := m.AuthToken(fmt.Sprintf("user-%d", i), nil, heavyClaims(1500))
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = strings.Clone(tok.Signed)
	}
	before := heapInUse()
	for _, s := range tokens {
		mustVerify(t, m, s)
		if b := m.CacheStats().Bytes; b > bound {
			t.Fatalf("cache estimates %d bytes, over the bound of %d", b, bound)
		}
	}
	after := heapInUse()
	runtime.KeepAlive(tokens)
	stats := m.CacheStats()
	if stats.Size == 0 || stats.Size == len(tokens) || stats.Evictions == 0 {
		t.Fatalf("stats = %+v: want some tokens kept, others evicted", stats)
	}
	if held := int64(after - before); !raceEnabled && held > bound*3/2 {
		t.Errorf("cache holds %d bytes of heap (%d tokens), over the bound of %d by more than half", held, stats.Size, bound)
	}
	// What was just kept is found again.
	last := tokens[len(tokens)-1]
	hits := stats.Hits
	mustVerify(t, m, last)
	if m.CacheStats().Hits != hits+1 {
		t.Errorf("the last token verified is not kept")
	}

	small := newTestManager(t, algorithmConfigs(t)["HS256"], WithMaxTokenSize(16<<10), WithVerifyCacheBytes(1<<20))
	mustVerify(t, small, tokens[0]) // ~100 KB estimated: over 1/16 of 1 MiB
	if s := small.CacheStats(); s.Size != 0 || s.Bytes != 0 {
		t.Errorf("a token over its share of the bound was kept: %+v", s)
	}
}

// TestVerifyCacheBytesOption checks New's refusal of a bound that is not
// positive.
func TestVerifyCacheBytesOption(t *testing.T) {
	for _, n := range []int64{0, -1} {
		if _, err := New(Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, WithVerifyCacheBytes(n)); err == nil {
			t.Errorf("WithVerifyCacheBytes(%d): New accepted it", n)
		}
	}
}

// TestVerifyCacheBytesConcurrent verifies tokens of mixed sizes from 100
// goroutines under a tight byte bound and checks that the bound held, that
// the bytes counted are those of the entries held, and that every call was
// counted once, as a hit or a miss, by the sharded counters.
func TestVerifyCacheBytesConcurrent(t *testing.T) {
	const bound = 2 << 20
	m := newTestManager(t, algorithmConfigs(t)["HS256"], WithMaxTokenSize(16<<10), WithVerifyCache(256), WithVerifyCacheBytes(bound))
	var tokens []string
	for i := range 48 {
		claims := map[string]any{"tenant": "acme"}
		if i%3 == 0 {
			claims = heavyClaims(700)
		}
		tok, err := m.AuthToken(fmt.Sprintf("user-%d", i), nil, claims)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok.Signed)
	}
	const goroutines, calls = 100, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				if _, err := m.Verify(context.Background(), tokens[(g*7+i)%len(tokens)]); err != nil {
					t.Error(err)
					return
				}
				if b := m.CacheStats().Bytes; b > bound {
					t.Errorf("cache estimates %d bytes, over the bound of %d", b, bound)
					return
				}
			}
		})
	}
	wg.Wait()
	s := m.CacheStats()
	if s.Hits+s.Misses != goroutines*calls || s.Hits == 0 {
		t.Errorf("hits %d + misses %d, want %d calls in all", s.Hits, s.Misses, goroutines*calls)
	}
	var held, size int64
	for i := range m.verifier.cache.slots {
		if e := m.verifier.cache.slots[i].Load(); e != nil {
			held += e.cost
			size++
		}
	}
	if held != s.Bytes || size != int64(s.Size) {
		t.Errorf("entries held: %d tokens of %d bytes; CacheStats says %d of %d", size, held, s.Size, s.Bytes)
	}
}
