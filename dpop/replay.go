package dpop

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
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
// [Verifier] makes when it is given none: under 6 MB.
const DefaultReplayEntries = 100_000

// MemoryReplayCache is an in-memory [ReplayCache] of bounded size for a
// single server instance. Each entry holds 16 bytes of a proof's digest
// and its expiry (under 60 bytes with the map's overhead); expired
// entries are dropped as it fills and at least once a minute. When it
// holds its maximum of unexpired entries, Seen refuses new ones with
// [ErrReplayCacheFull] rather than forget one that could then be replayed.
type MemoryReplayCache struct {
	now    func() time.Time // nil: time.Now
	shards [replayShards]replayShard
	// private is set on the cache a Verifier makes for itself, which no
	// one else reaches: its entries are keyed by privateKey, not by the
	// digests callers of Seen give.
	private bool
	seeds   [2]maphash.Seed
}

type replayShard struct {
	mu        sync.Mutex
	entries   map[entryKey]int64 // expiry, Unix nanoseconds
	max       int
	nextSweep int64
}

// NewMemoryReplayCache returns a cache holding at most maxEntries unexpired
// proofs; maxEntries below 1 means [DefaultReplayEntries].
func NewMemoryReplayCache(maxEntries int) *MemoryReplayCache {
	if maxEntries < 1 {
		maxEntries = DefaultReplayEntries
	}
	c := &MemoryReplayCache{}
	per := (maxEntries + replayShards - 1) / replayShards
	for i := range c.shards {
		c.shards[i].entries = make(map[entryKey]int64)
		c.shards[i].max = per
	}
	return c
}

// Seen implements [ReplayCache].
func (c *MemoryReplayCache) Seen(_ context.Context, id string, expires time.Time) (bool, error) {
	if len(id) == 0 || len(id) > 128 {
		return false, fmt.Errorf("dpop: replay cache id of %d bytes", len(id))
	}
	k := keyOf(id)
	return c.seenKey(entryKey(k[:len(entryKey{})]), expires, c.clock())
}

// newPrivateReplayCache returns the cache of a Verifier given none.
func newPrivateReplayCache() *MemoryReplayCache {
	c := NewMemoryReplayCache(DefaultReplayEntries)
	c.private = true
	c.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	return c
}

// privateKey is the entry key of a proof of key jkt with jti in a private
// cache: two 64-bit hashes of jkt and jti under the cache's own random
// seeds, rather than the SHA-256 digest other caches need, which costs
// several times more. Only the one Verifier of the cache makes its keys,
// so the same proof always has the same key, and a replay is refused.
// Two proofs share a key by chance with a probability under 10^-26 for
// two of even a million live entries (128 bits); on purpose, it would take
// the seeds, which never leave the process, and the jti of a proof its
// client has not sent yet, which is random. Either way the later proof
// would only be refused as seen.
func (c *MemoryReplayCache) privateKey(jkt, jti string) entryKey {
	var k entryKey
	for i, seed := range c.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(jkt)
		h.WriteByte(0)
		h.WriteString(jti)
		binary.LittleEndian.PutUint64(k[8*i:], h.Sum64())
	}
	return k
}

// clock returns the cache's time.
func (c *MemoryReplayCache) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

// replayKey is what a [MemoryReplayCache] keeps of an id: a fixed-size
// digest, so that recording one allocates nothing but the map's room.
type replayKey [sha256.Size]byte

// keyOf returns the key of an id: the digest it encodes when it is the
// base64url of one, as the ids of a [Verifier] are, else its SHA-256.
// Two ids share a key only if SHA-256 collides, or an id hashes to the
// digest another encodes (a preimage): neither can be found. Should it
// happen, the second id would be refused as seen; a replayed proof can
// never pass, since the same id always has the same key.
func keyOf(id string) replayKey {
	var k replayKey
	if len(id) == b64.EncodedLen(len(k)) {
		if n, err := b64.Decode(k[:], jws.StringBytes(id)); err == nil && n == len(k) {
			return k
		}
	}
	return sha256.Sum256(jws.StringBytes(id))
}

// entryKey is what an entry keeps of a replay key: its first 128 bits,
// half the room of the whole digest, so that more of the cache stays in
// the CPU's caches. Two proofs share an entry only if their digests agree
// on 128 bits: chance does that for two of even a million live entries
// with a probability under 10^-26, and no one can bring it about (it takes
// a second preimage of 128 bits of SHA-256 to hit another client's entry,
// and 2^64 hashes for a pair of one's own proofs, which only refuses one's
// own). Should it happen, the later proof is refused as seen: the same
// proof always has the same key, so a replay is never let through.
type entryKey [16]byte

// seenKey is Seen for an entry key, which a [Verifier] gives directly, at
// the time at.
func (c *MemoryReplayCache) seenKey(ek entryKey, expires, at time.Time) (bool, error) {
	now := at.UnixNano()
	exp := expires.UnixNano()
	sh := &c.shards[ek[0]%replayShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.entries[ek]; ok && e > now {
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
	sh.entries[ek] = exp
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
