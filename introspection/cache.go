package introspection

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// key identifies a token in the cache: two 64-bit hashes of it under two
// random seeds of the Introspector, so that the cache never holds a token.
// The seeds never leave the process, so no one can choose a token whose
// key is another's, and two tokens share a key by chance with a
// probability of 2^-128.
type key struct{ a, b uint64 }

// hasher computes keys.
type hasher struct{ a, b maphash.Seed }

func newHasher() hasher { return hasher{maphash.MakeSeed(), maphash.MakeSeed()} }

func (h hasher) key(token string) key {
	return key{maphash.String(h.a, token), maphash.String(h.b, token)}
}

// answer is the endpoint's judgement of a token, cached.
type answer struct {
	tok   *manager.Token // nil when err is set
	err   error          // ErrInactive, never an outage
	until time.Time      // reusable before then
	size  int64          // estimated heap bytes
}

// cacheShards spreads the cache over independent locks.
const cacheShards = 16

// cache holds answers by key, at most maxBytes estimated bytes over all
// shards. A hit takes a read lock and marks its entry used; making room
// evicts entries not used since the last pass (the clock algorithm, over
// the map's random order), so that the answers in use stay.
type cache struct {
	shards [cacheShards]shard
}

type shard struct {
	mu       sync.RWMutex
	entries  map[key]*entry
	bytes    int64
	maxBytes int64
}

type entry struct {
	a    answer
	used atomic.Bool
}

// entryOverhead is the estimated heap bytes of an entry besides its
// answer: the map slot and the entry.
const entryOverhead = 128

func newCache(maxBytes int64) *cache {
	if maxBytes <= 0 {
		return nil
	}
	c := &cache{}
	for i := range c.shards {
		c.shards[i].entries = make(map[key]*entry)
		c.shards[i].maxBytes = maxBytes / cacheShards
	}
	return c
}

func (c *cache) shard(k key) *shard { return &c.shards[k.a%cacheShards] }

// get returns the answer of k when it is reusable at now.
func (c *cache) get(k key, now time.Time) (answer, bool) {
	if c == nil {
		return answer{}, false
	}
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.entries[k]
	s.mu.RUnlock()
	if !ok || !now.Before(e.a.until) {
		return answer{}, false // an outdated entry goes when room is made
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.a, true
}

// put stores a under k, evicting outdated answers, then answers not used
// lately, until it fits; an answer larger than a shard is not stored.
func (c *cache) put(k key, a answer, now time.Time) {
	if c == nil {
		return
	}
	a.size += entryOverhead
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.size > s.maxBytes {
		return
	}
	if old, ok := s.entries[k]; ok {
		s.bytes -= old.a.size
		delete(s.entries, k)
	}
	for pass := 0; s.bytes+a.size > s.maxBytes; pass++ {
		for ek, e := range s.entries {
			if s.bytes+a.size <= s.maxBytes {
				break
			}
			if pass > 0 || !now.Before(e.a.until) || !e.used.Swap(false) {
				s.bytes -= e.a.size
				delete(s.entries, ek)
			}
		}
	}
	s.entries[k] = &entry{a: a}
	s.bytes += a.size
}

// stats returns the number of answers held and their estimated bytes.
func (c *cache) stats() (n int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		bytes += s.bytes
		s.mu.RUnlock()
	}
	return n, bytes
}
