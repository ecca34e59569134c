package dpop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testReplayCache(max int, now *atomic.Int64) *MemoryReplayCache {
	c := NewMemoryReplayCache(max)
	c.now = func() time.Time { return time.Unix(0, now.Load()) }
	return c
}

func TestMemoryReplayCache(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	c := testReplayCache(100, &now)
	ctx := context.Background()
	exp := testNow.Add(time.Minute)

	if seen, err := c.Seen(ctx, "id-1", exp); seen || err != nil {
		t.Fatalf("first Seen = %v, %v; want false, nil", seen, err)
	}
	if seen, err := c.Seen(ctx, "id-1", exp); !seen || err != nil {
		t.Fatalf("second Seen = %v, %v; want true, nil", seen, err)
	}
	if seen, _ := c.Seen(ctx, "id-2", exp); seen {
		t.Fatal("another id seen")
	}
	// After its expiry an id is forgotten: the verifier's window refuses
	// its proof by iat by then.
	now.Store(exp.UnixNano())
	if seen, _ := c.Seen(ctx, "id-1", exp.Add(time.Minute)); seen {
		t.Fatal("expired id still seen")
	}
	// An entry already expired is not kept.
	if seen, _ := c.Seen(ctx, "old", testNow); seen {
		t.Fatal("old id seen")
	}
	if seen, _ := c.Seen(ctx, "old", testNow); seen {
		t.Fatal("expired entry was recorded")
	}
	for _, id := range []string{"", string(make([]byte, 129))} {
		if _, err := c.Seen(ctx, id, exp.Add(time.Hour)); err == nil {
			t.Fatalf("Seen(id of %d bytes) = nil error", len(id))
		}
	}
}

// TestMemoryReplayCacheBounded: full of unexpired entries, the cache
// refuses new ones and never forgets one; once they expire, it takes new
// ones again and sheds the old.
func TestMemoryReplayCacheBounded(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	const max = 160
	c := testReplayCache(max, &now)
	ctx := context.Background()
	exp := testNow.Add(5 * time.Minute)
	full := 0
	for i := range 10 * max {
		id := replayID("jkt", fmt.Sprint(i))
		seen, err := c.Seen(ctx, id, exp)
		switch {
		case errors.Is(err, ErrReplayCacheFull):
			full++
		case err != nil || seen:
			t.Fatalf("Seen(%d) = %v, %v", i, seen, err)
		}
		if c.Len() > max {
			t.Fatalf("cache holds %d entries, bound %d", c.Len(), max)
		}
	}
	if full == 0 {
		t.Fatal("a full cache never refused")
	}
	// Every id accepted is still remembered.
	remembered := 0
	for i := range 10 * max {
		if seen, _ := c.Seen(ctx, replayID("jkt", fmt.Sprint(i)), exp); seen {
			remembered++
		}
	}
	if remembered != 10*max-full {
		t.Fatalf("%d ids remembered; want the %d accepted", remembered, 10*max-full)
	}
	// Once they expire, the same ids (spread over the shards as before)
	// are taken again: expired entries don't hold the room.
	now.Store(exp.UnixNano())
	later := exp.Add(5 * time.Minute)
	for i := range 10 * max {
		id := replayID("jkt", fmt.Sprint(i))
		if seen, _ := c.Seen(ctx, id, exp); !seen {
			continue // refused the first time: not in the cache
		}
		t.Fatalf("id %d seen after its expiry", i)
	}
	taken := 0
	for i := range 10 * max {
		seen, err := c.Seen(ctx, replayID("jkt", fmt.Sprint(i)), later)
		if seen || err != nil && !errors.Is(err, ErrReplayCacheFull) {
			t.Fatalf("after expiry: Seen(%d) = %v, %v", i, seen, err)
		}
		if err == nil {
			taken++
		}
	}
	if taken != 10*max-full {
		t.Fatalf("after expiry %d ids taken; want %d, as many as before", taken, 10*max-full)
	}
}

// TestMemoryReplayCacheConcurrent: 100 goroutines race for the same ids;
// each id is new to exactly one of them.
func TestMemoryReplayCacheConcurrent(t *testing.T) {
	c := NewMemoryReplayCache(0)
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	const ids = 200
	var firsts [ids]atomic.Int32
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range ids {
				id := replayID("jkt", fmt.Sprint((i+g)%ids))
				seen, err := c.Seen(ctx, id, exp)
				if err != nil {
					t.Error(err)
					return
				}
				if !seen {
					firsts[(i+g)%ids].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range firsts {
		if n := firsts[i].Load(); n != 1 {
			t.Fatalf("id %d new to %d goroutines; want 1", i, n)
		}
	}
}

// TestVerifyConcurrentReplay: 100 goroutines send the same proof to one
// Verifier; exactly one is accepted.
func TestVerifyConcurrentReplay(t *testing.T) {
	v := newTestVerifier(t)
	proof := defaultParts(t).sign(t)
	var accepted, replayed atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), proof, testCall, "")
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, errReplay):
				replayed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 1 || replayed.Load() != 99 {
		t.Fatalf("%d accepted, %d replays; want 1 and 99", accepted.Load(), replayed.Load())
	}
}

// replayID is the id a Verifier gives a ReplayCache other than a
// MemoryReplayCache for a proof of key jkt with jti.
func replayID(jkt, jti string) string {
	d := replayDigest(jkt, jti)
	return b64.EncodeToString(d[:])
}
