package introspection

import (
	"container/list"
	"sync"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// key identifies a token in the cache: its SHA-256, so that the cache
// never holds a token, and a memory dump or a key collision reveals none.
type key [32]byte

// answer is the endpoint's judgement of a token, cached.
type answer struct {
	tok   *manager.Token // nil when err is set
	err   error          // ErrInactive (with why), never an outage
	until time.Time      // reusable before then
	size  int64          // estimated heap bytes
}

// cacheShards spreads the cache over independent locks.
const cacheShards = 16

// cache holds answers by key, at most maxBytes estimated bytes over all
// shards, the least recently used of a shard evicted first.
type cache struct {
	shards [cacheShards]shard
}

type shard struct {
	mu       sync.Mutex
	entries  map[key]*list.Element // of *entry
	lru      list.List             // front: most recently used
	bytes    int64
	maxBytes int64
}

type entry struct {
	k key
	a answer
}

// entryOverhead is the estimated heap bytes of an entry besides its
// answer: the map slot, the list element, the entry.
const entryOverhead = 160

func newCache(maxBytes int64) *cache {
	if maxBytes <= 0 {
		return nil
	}
	c := &cache{}
	for i := range c.shards {
		c.shards[i].entries = make(map[key]*list.Element)
		c.shards[i].maxBytes = maxBytes / cacheShards
	}
	return c
}

func (c *cache) shard(k key) *shard { return &c.shards[k[0]%cacheShards] }

// get returns the answer of k when it is reusable at now.
func (c *cache) get(k key, now time.Time) (answer, bool) {
	if c == nil {
		return answer{}, false
	}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.entries[k]
	if !ok {
		return answer{}, false
	}
	e := el.Value.(*entry)
	if !now.Before(e.a.until) {
		s.remove(el)
		return answer{}, false
	}
	s.lru.MoveToFront(el)
	return e.a, true
}

// put stores a under k, evicting the least recently used answers of its
// shard until it fits; an answer larger than a shard is not stored.
func (c *cache) put(k key, a answer) {
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
	if el, ok := s.entries[k]; ok {
		s.remove(el)
	}
	for s.bytes+a.size > s.maxBytes {
		s.remove(s.lru.Back())
	}
	s.entries[k] = s.lru.PushFront(&entry{k: k, a: a})
	s.bytes += a.size
}

func (s *shard) remove(el *list.Element) {
	e := el.Value.(*entry)
	s.lru.Remove(el)
	delete(s.entries, e.k)
	s.bytes -= e.a.size
}

// stats returns the number of answers held and their estimated bytes.
func (c *cache) stats() (n int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		bytes += s.bytes
		s.mu.Unlock()
	}
	return n, bytes
}
