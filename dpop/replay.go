package dpop

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers the proofs a [Verifier] accepted, so that none is
// accepted twice. Implementations must be safe for concurrent use; one
// shared by several server instances (Redis: SET key NX with an expiry)
// stops a proof replayed against another instance.
type ReplayCache interface {
	// Seen records id until expires and reports whether it was already
	// recorded and unexpired. id is a fixed-size digest of the proof's key
	// and jti (43 characters). An error refuses the proof.
	Seen(ctx context.Context, id string, expires time.Time) (bool, error)
}

// replayShards spreads a [MemoryReplayCache]'s lock over several mutexes.
const replayShards = 16

// DefaultReplayEntries is the capacity of the [MemoryReplayCache] a
// [Verifier] makes when it is given none: about 10 MB.
const DefaultReplayEntries = 100_000

// MemoryReplayCache is an in-memory [ReplayCache] of bounded size for a
// single server instance. Each entry holds a 43-byte id and its expiry
// (about 100 bytes with the map's overhead); expired entries are dropped
// as it fills and at least once a minute. When it holds its maximum of
// unexpired entries, Seen refuses new ones with [ErrReplayCacheFull] rather
// than forget one that could then be replayed.
type MemoryReplayCache struct {
	now    func() time.Time
	shards [replayShards]replayShard
}

type replayShard struct {
	mu        sync.Mutex
	entries   map[string]int64 // id -> expiry, Unix nanoseconds
	max       int
	nextSweep int64
}

// NewMemoryReplayCache returns a cache holding at most maxEntries unexpired
// proofs; maxEntries below 1 means [DefaultReplayEntries].
func NewMemoryReplayCache(maxEntries int) *MemoryReplayCache {
	if maxEntries < 1 {
		maxEntries = DefaultReplayEntries
	}
	c := &MemoryReplayCache{now: time.Now}
	per := (maxEntries + replayShards - 1) / replayShards
	for i := range c.shards {
		c.shards[i].entries = make(map[string]int64)
		c.shards[i].max = per
	}
	return c
}

// Seen implements [ReplayCache].
func (c *MemoryReplayCache) Seen(_ context.Context, id string, expires time.Time) (bool, error) {
	if len(id) == 0 || len(id) > 128 {
		return false, fmt.Errorf("dpop: replay cache id of %d bytes", len(id))
	}
	now := c.now().UnixNano()
	exp := expires.UnixNano()
	sh := &c.shards[shardOf(id)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.entries[id]; ok && e > now {
		return true, nil
	}
	if exp <= now {
		// Already expired: the verifier's window refuses such a proof
		// anyway, and there is nothing to remember.
		return false, nil
	}
	if now >= sh.nextSweep || len(sh.entries) >= sh.max {
		sh.sweep(now)
	}
	if len(sh.entries) >= sh.max {
		return false, ErrReplayCacheFull
	}
	sh.entries[id] = exp
	return false, nil
}

// Len returns the number of entries held, expired ones included until
// they are swept.
func (c *MemoryReplayCache) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

func (sh *replayShard) sweep(now int64) {
	for id, e := range sh.entries {
		if e <= now {
			delete(sh.entries, id)
		}
	}
	sh.nextSweep = now + int64(time.Minute)
}

// shardOf picks a shard from an id's first bytes (ids are digests).
func shardOf(id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id) && i < 8; i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % replayShards)
}
