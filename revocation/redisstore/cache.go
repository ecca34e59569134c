package redisstore

import (
	"sync"
	"sync/atomic"
	"time"
)

// localCacheEntries bounds the number of answers WithLocalCache keeps; on
// reaching it the cache starts over, which costs round trips, never a
// revocation.
const localCacheEntries = 100_000

// WithLocalCache makes the Store remember, in this process, that a token
// was not revoked, and answer Revoked from memory for up to maxStale after
// it asked Redis: a warm Verify then costs no round trip. The price is
// stated: a revocation made through another instance (or another Store)
// may be missed for up to maxStale after it was written, and is refused
// from then on. A revocation made through this Store is seen by it at
// once: Revoke and RevokeSubject drop every remembered answer. Only "not
// revoked" is remembered, never "revoked" or an error; at most 100,000
// answers, about 250 bytes each (190 measured, plus the token's
// subject and ids): 25 MB at most. New refuses a maxStale that is not
// positive. By default, there is no cache: every Revoked asks Redis, and
// a revocation is seen by every instance at its next call.
func WithLocalCache(maxStale time.Duration) Option {
	return optionFunc(func(s *Store) {
		s.cache = &notRevokedCache{maxStale: maxStale, maxEntries: localCacheEntries, now: time.Now}
	})
}

// notRevokedCache holds recent "not revoked" answers of one Store. Its
// methods accept a nil receiver: no cache.
type notRevokedCache struct {
	maxStale   time.Duration
	maxEntries int64
	now        func() time.Time

	entries sync.Map // cacheKey → *cacheEntry
	size    atomic.Int64
	// generation counts the revocations made through the Store: an answer
	// asked for before the latest of them completed is not used.
	generation atomic.Uint64
}

// cacheKey is a question Revoked answers: the token's subject, its ids
// (a jti and a family at most) and when it was issued.
type cacheKey struct {
	subject  string
	id0, id1 string
	issuedAt int64 // Unix nanoseconds
}

// setIDs puts ids in k and reports whether they fit.
func (k *cacheKey) setIDs(ids []string) bool {
	switch len(ids) {
	case 2:
		k.id1 = ids[1]
		fallthrough
	case 1:
		k.id0 = ids[0]
		fallthrough
	case 0:
		return true
	}
	return false
}

// cacheEntry is a remembered "not revoked".
type cacheEntry struct {
	until      int64 // Unix nanoseconds: asked + maxStale
	generation uint64
}

// ask returns the time and generation to pass to put once Redis answered.
func (c *notRevokedCache) ask() (time.Time, uint64) {
	return c.now(), c.generation.Load()
}

// notRevoked reports whether the cache holds a "not revoked" for k that is
// recent enough and asked after the last revocation through the Store.
func (c *notRevokedCache) notRevoked(k cacheKey) bool {
	v, ok := c.entries.Load(k)
	if !ok {
		return false
	}
	e := v.(*cacheEntry)
	if e.generation == c.generation.Load() && c.now().UnixNano() < e.until {
		return true
	}
	if c.entries.CompareAndDelete(k, v) {
		c.size.Add(-1)
	}
	return false
}

// put remembers that Redis, asked at asked in generation, answered "not
// revoked" for k.
func (c *notRevokedCache) put(k cacheKey, asked time.Time, generation uint64) {
	if generation != c.generation.Load() {
		return
	}
	if c.size.Load() >= c.maxEntries {
		c.entries.Clear()
		c.size.Store(0)
	}
	e := &cacheEntry{until: asked.Add(c.maxStale).UnixNano(), generation: generation}
	if _, loaded := c.entries.Swap(k, e); !loaded {
		c.size.Add(1)
	}
}

// forget makes every remembered answer unusable: a revocation through the
// Store has just been written. Called after the write, so that no answer
// read before it completed is used.
func (c *notRevokedCache) forget() {
	if c == nil {
		return
	}
	c.generation.Add(1)
	c.entries.Clear()
	c.size.Store(0)
}
