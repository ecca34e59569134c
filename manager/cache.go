package manager

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/protojwt/protojwt/internal/jws"
)

// CacheStats describes the verification cache of a Manager (see
// [WithVerifyCache]). Counts start at New and only grow.
type CacheStats struct {
	// Size is the number of tokens held, some of which may have expired:
	// they are dropped when presented again or replaced by others.
	Size int
	// Capacity is the most tokens the cache holds; 0 when it is off.
	Capacity int
	// Bytes is the estimated memory the held tokens take: their text, their
	// decoded claims and the Token; at most the [WithVerifyCacheBytes] bound.
	Bytes int64
	// Hits counts Verify calls answered from the cache.
	Hits uint64
	// Misses counts Verify calls that found no usable token in the cache
	// and decoded and checked the token in full.
	Misses uint64
	// Evictions counts tokens dropped before their time to make room for
	// others, by count or by bytes.
	Evictions uint64
}

// CacheStats returns the counts of m's verification cache, all zero when
// the cache is off. It is safe to call at any time, from any goroutine.
func (m *Manager) CacheStats() CacheStats {
	c := m.verifier.cache
	if c == nil {
		return CacheStats{}
	}
	s := CacheStats{
		Size:      int(c.size.Load()),
		Capacity:  len(c.slots),
		Bytes:     c.bytes.Load(),
		Evictions: c.evictions.Load(),
	}
	for i := range c.counters {
		s.Hits += c.counters[i].hits.Load()
		s.Misses += c.counters[i].misses.Load()
	}
	return s
}

// cacheWays is the number of tokens a set of the cache holds: the slots of
// a set fill one 64-byte cache line.
const cacheWays = 8

// entryBytes is the estimated memory of a cache entry, its Token and
// private state, apart from the token's text and claims.
const entryBytes = 1024

// maxEntryShare bounds one token's share of the byte bound: a token
// estimated at more than 1/maxEntryShare of it is verified but not kept.
const maxEntryShare = 16

// verifyCache is a set-associative cache of verified tokens. A token's hash
// picks a set of cacheWays slots; lookups load the slots atomically and take
// no lock, insertions replace a slot with compare-and-swap, choosing an
// empty or outdated slot first, else one not used since the last sweep
// (the clock algorithm). The count bound holds by construction (the slots
// are fixed); the byte bound by reservation: an entry is stored only once
// its estimated bytes fit, room being made by a second clock hand that
// sweeps the sets in turn.
type verifyCache struct {
	keys      keySource        // judges whether a kept token's key is current
	now       func() time.Time // the Manager's clock
	seed      maphash.Seed
	ttl       time.Duration
	ways      int
	sets      uint64
	slots     []atomic.Pointer[cacheEntry]
	maxBytes  int64
	bytes     atomic.Int64  // estimated bytes of the stored entries
	hand      atomic.Uint64 // the next set the byte bound sweeps
	size      atomic.Int64
	evictions atomic.Uint64
	longest   atomic.Int64 // the length of the longest token ever added
	counters  [counterShards]counterShard
}

// counterShards is the number of cache lines the hit and miss counts are
// spread over.
const counterShards = 64

// counterShard is a cache line of counters.
type counterShard struct {
	hits, misses atomic.Uint64
	_            [64 - 16]byte
}

// shard returns the counters of the calling goroutine: chosen by the
// address of its stack, so that goroutines running at once, on different
// processors, count on different cache lines (but for a 1 in 64 chance)
// and a warm Verify does not contend with the others, whatever tokens they
// verify. The address only picks a line: a goroutine whose stack moves
// just counts on another.
func (c *verifyCache) shard() *counterShard {
	var anchor byte
	addr := uint64(uintptr(unsafe.Pointer(&anchor)))
	// Stacks are at least 2 KiB apart; mix the bits above that.
	return &c.counters[((addr>>11)*0x9e3779b97f4a7c15)>>(64-6)]
}

// cacheEntry is a verified token and the conditions of its reuse. It is
// immutable but for ref and keyChecked.
type cacheEntry struct {
	hash   uint64
	signed string // the token, as presented
	tok    *Token
	state  *tokenState // tok's, unless a handler overwrote *tok
	key    selectedKey // the key that verified it, checked on reuse
	header *jws.Header // its header, to select its key again
	from   time.Time   // not valid before: max(nbf, iat) - leeway
	until  time.Time   // the earlier of exp + leeway and the cache's TTL
	cost   int64       // estimated bytes: text, claims, Token and entry
	ref    atomic.Bool // used since the clock hand last passed
	// keyChecked is the fetch of a fetched JWK Set at which key was last
	// found current (see keySource.current).
	keyChecked atomic.Uint64
}

// newVerifyCache returns a cache of size tokens and maxBytes estimated
// bytes, nil for size 0, whose entries are reusable while now is within
// their times and keys judges their key current.
func newVerifyCache(size int, maxBytes int64, ttl time.Duration, keys keySource, now func() time.Time) *verifyCache {
	if size <= 0 {
		return nil
	}
	ways := min(size, cacheWays)
	sets := size / ways
	return &verifyCache{
		keys:     keys,
		now:      now,
		seed:     cacheSeed,
		ttl:      ttl,
		ways:     ways,
		sets:     uint64(sets),
		slots:    make([]atomic.Pointer[cacheEntry], sets*ways),
		maxBytes: maxBytes,
	}
}

// cacheSeed keys the hashes of every verification cache of the process:
// random, so that tokens can't be crafted to collide, and shared, so that
// Issuers hashes a token once for the caches of all its Managers.
var cacheSeed = maphash.MakeSeed()

// hash returns the hash of a compact token, keyed by cacheSeed so that
// tokens can't be crafted to collide.
func (c *verifyCache) hash(signed string) uint64 {
	return maphash.String(c.seed, signed)
}

// set returns the slots of the set of hash h.
func (c *verifyCache) set(h uint64) []atomic.Pointer[cacheEntry] {
	i, _ := bits.Mul64(h, c.sets) // uniform in [0, sets)
	return c.setAt(int(i))
}

// setAt returns the slots of set i.
func (c *verifyCache) setAt(i int) []atomic.Pointer[cacheEntry] {
	start := i * c.ways
	return c.slots[start : start+c.ways]
}

// mayHold reports whether the cache may hold a token of signed's length:
// none longer than the longest ever added is, so that a token longer than
// every token that verified (garbage at the size bound, most often) is
// not hashed for a lookup that can't find it.
func (c *verifyCache) mayHold(signed string) bool {
	return int64(len(signed)) <= c.longest.Load()
}

// miss counts a Verify call that did not look the cache up (see mayHold).
func (c *verifyCache) miss() { c.shard().misses.Add(1) }

// lookup returns the kept token signed, of hash h, when it may be returned
// again now without decoding it: still within its validity and TTL, its
// key still current, and its Token still the one the Manager built (a
// handler that overwrote the whole *Token made it another). An entry that
// may not is dropped. It allocates nothing.
func (c *verifyCache) lookup(h uint64, signed string) *cacheEntry {
	e := c.probe(h, signed)
	if e == nil {
		c.shard().misses.Add(1)
	}
	return e
}

// probe is lookup without counting a miss: for Issuers, which asks the
// cache of every Manager before the one that verifies the token.
func (c *verifyCache) probe(h uint64, signed string) *cacheEntry {
	slots := c.set(h)
	for i := range slots {
		e := slots[i].Load()
		if e == nil || e.hash != h || e.signed != signed {
			continue
		}
		if !c.reusable(e) || e.tok.state != e.state {
			c.remove(&slots[i], e)
			break
		}
		if !e.ref.Load() {
			e.ref.Store(true)
		}
		c.shard().hits.Add(1)
		return e
	}
	return nil
}

// reusable reports whether the kept token e passes Verify's checks now, as
// it did when verified: the checks of its times, and of its key, which is
// all that can change for a given token.
func (c *verifyCache) reusable(e *cacheEntry) bool {
	now := c.now()
	if now.Before(e.from) || !now.Before(e.until) {
		return false
	}
	return c.keys.current(e.key, &e.keyChecked, e.header)
}

// remove empties slot, which held e, unless another goroutine changed it,
// and reports whether it did.
func (c *verifyCache) remove(slot *atomic.Pointer[cacheEntry], e *cacheEntry) bool {
	if !slot.CompareAndSwap(e, nil) {
		return false
	}
	c.size.Add(-1)
	c.bytes.Add(-e.cost)
	return true
}

// add keeps e, replacing in its set the same token, else an empty slot, else
// an outdated entry, else one not used recently, once its bytes fit the
// byte bound. Losing a race to another insertion, or finding no room,
// drops e: it is a cache.
func (c *verifyCache) add(e *cacheEntry) {
	if e.cost > c.maxBytes/maxEntryShare {
		return
	}
	// Raised before e is stored, so that a lookup that can find e hashes.
	for n := int64(len(e.signed)); ; {
		cur := c.longest.Load()
		if n <= cur || c.longest.CompareAndSwap(cur, n) {
			break
		}
	}
	now := c.now()
	if deadline := now.Add(c.ttl); deadline.Before(e.until) {
		e.until = deadline
	}
	slots := c.set(e.hash)
	victim, same, empty, outdated := -1, -1, -1, -1
	for i := range slots {
		cur := slots[i].Load()
		switch {
		case cur == nil:
			if empty < 0 {
				empty = i
			}
		case cur.hash == e.hash && cur.signed == e.signed:
			same = i
		case outdated < 0 && c.outdated(cur, now):
			outdated = i
		}
	}
	switch {
	case same >= 0:
		victim = same
	case empty >= 0:
		victim = empty
	case outdated >= 0:
		victim = outdated
	default:
		// The clock: skip and clear the slots used since the last pass,
		// from a position that varies with the token.
		start := int(e.hash>>58) % len(slots)
		victim = start
		for j := range slots {
			i := (start + j) % len(slots)
			if cur := slots[i].Load(); cur != nil && cur.ref.Swap(false) {
				continue
			}
			victim = i
			break
		}
	}
	old := slots[victim].Load()
	delta := e.cost
	if old != nil {
		delta -= old.cost
	}
	if !c.reserve(delta, now) {
		return
	}
	if !slots[victim].CompareAndSwap(old, e) {
		c.bytes.Add(-delta)
		return
	}
	switch {
	case old == nil:
		c.size.Add(1)
	case old.hash != e.hash || old.signed != e.signed:
		if !c.outdated(old, now) {
			c.evictions.Add(1)
		}
	}
}

// reserve adds delta to the bytes held when the sum stays within the
// bound, sweeping sets to make room, at most one turn of them, and reports
// whether it did. A turn that frees too little (every entry used since the
// hand last passed) leaves this token out; the next finds room.
func (c *verifyCache) reserve(delta int64, now time.Time) bool {
	for swept := uint64(0); ; swept++ {
		if c.bytes.Add(delta) <= c.maxBytes {
			return true
		}
		c.bytes.Add(-delta)
		if swept == c.sets {
			return false
		}
		c.sweep(now)
	}
}

// sweep is the byte bound's clock hand: it empties the next set of its
// outdated entries and of those not used since it last passed.
func (c *verifyCache) sweep(now time.Time) {
	slots := c.setAt(int(c.hand.Add(1) % c.sets))
	for i := range slots {
		e := slots[i].Load()
		if e == nil {
			continue
		}
		outdated := c.outdated(e, now)
		if !outdated && e.ref.Swap(false) {
			continue
		}
		if c.remove(&slots[i], e) && !outdated {
			c.evictions.Add(1)
		}
	}
}

// outdated reports whether the kept token e can't be reused any more: its
// time is over, or its key set was replaced.
func (c *verifyCache) outdated(e *cacheEntry, now time.Time) bool {
	return !now.Before(e.until) || c.keys.stale(e.key)
}
