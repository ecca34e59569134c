package revocation

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultMaxEntries is the number of records a [MemoryStore] holds when
// [WithMaxEntries] is not given.
const DefaultMaxEntries = 100_000

// MemoryStore is a Store in the memory of one process: for a service that
// runs as a single instance, and for tests. Instances that verify each
// other's tokens need a shared Store, such as the one of the redisstore
// module. The zero value is not usable; call [NewMemoryStore].
//
// It holds at most a bounded number of records (see [WithMaxEntries]); one
// record takes about 250 bytes. A login whose refresh token rotates holds
// one record however often it rotates. Records are dropped when their until passes.
// When it is full of records that have not expired, it refuses a new one
// with [ErrFull] rather than forget a revocation. A [MemoryStore] is safe for
// concurrent use.
type MemoryStore struct {
	now        func() time.Time
	maxEntries int

	mu      sync.RWMutex
	records map[recordKey]*record
	expiry  expiryHeap // the same records, soonest until first
}

// recordKind tells the three kinds of records apart.
type recordKind uint8

const (
	revokedID recordKind = iota
	revokedSubject
	loginFamily // id is the family; current names its refresh token
)

// recordKey identifies a record: id is empty for revokedSubject.
type recordKey struct {
	kind    recordKind
	subject string
	id      string
}

// record is one entry of a [MemoryStore].
type record struct {
	key     recordKey
	before  time.Time // revokedSubject only
	current string    // loginFamily only: the refresh token that may be exchanged
	until   time.Time
	index   int // in the expiry heap
}

// A [MemoryOption] changes how [NewMemoryStore] builds a [MemoryStore].
type MemoryOption interface {
	apply(*MemoryStore)
}

// memoryOptionFunc adapts a function to [MemoryOption].
type memoryOptionFunc func(*MemoryStore)

func (f memoryOptionFunc) apply(s *MemoryStore) { f(s) }

// WithMaxEntries bounds the number of records a [MemoryStore] holds: revoked
// ids, revoked subjects and login families together. [NewMemoryStore]
// refuses a bound that is not positive. By default, the bound is
// [DefaultMaxEntries] (100,000 records, about 25 MB).
func WithMaxEntries(n int) MemoryOption {
	return memoryOptionFunc(func(s *MemoryStore) { s.maxEntries = n })
}

// WithClock makes the [MemoryStore] read the current time from now to decide
// which records have expired. Tests use it to let time pass. A nil now is
// ignored. By default, the [MemoryStore] uses [time.Now].
func WithClock(now func() time.Time) MemoryOption {
	return memoryOptionFunc(func(s *MemoryStore) {
		if now != nil {
			s.now = now
		}
	})
}

// NewMemoryStore returns an empty [MemoryStore], or an error for an option
// that can't be used.
func NewMemoryStore(opts ...MemoryOption) (*MemoryStore, error) {
	s := &MemoryStore{
		now:        time.Now,
		maxEntries: DefaultMaxEntries,
		records:    map[recordKey]*record{},
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(s)
		}
	}
	if s.maxEntries <= 0 {
		return nil, errors.New("revocation: WithMaxEntries needs a positive bound")
	}
	return s, nil
}

// Revoke implements Store.
func (s *MemoryStore) Revoke(ctx context.Context, subject, id string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.put(recordKey{revokedID, subject, id}, time.Time{}, until)
}

// RevokeSubject implements Store.
func (s *MemoryStore) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.put(recordKey{revokedSubject, subject, ""}, before, until)
}

// Rotate implements Store.
func (s *MemoryStore) Rotate(ctx context.Context, subject, family, id, next string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if next == id {
		return false, errSameToken
	}
	now := s.now()
	if !until.After(now) {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpired(now)
	key := recordKey{loginFamily, subject, family}
	if r := s.records[key]; r != nil {
		if r.current != id {
			return false, nil
		}
		r.current = next
		if until.After(r.until) {
			r.until = until
			heap.Fix(&s.expiry, r.index)
		}
		return true, nil
	}
	if err := s.add(&record{key: key, current: next, until: until}); err != nil {
		return false, err
	}
	return true, nil
}

// Len returns the number of records the [MemoryStore] holds, to watch against
// its bound (see [WithMaxEntries]). A record that has expired counts until
// the next write drops it.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.records)
}

// Revoked implements Store.
func (s *MemoryStore) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r := s.live(recordKey{revokedSubject, subject, ""}, now); r != nil && issuedAt.Before(r.before) {
		return true, nil
	}
	for _, id := range ids {
		if id != "" && s.live(recordKey{revokedID, subject, id}, now) != nil {
			return true, nil
		}
	}
	return false, nil
}

// live returns the record of key unless it is missing or expired. The
// caller holds s.mu.
func (s *MemoryStore) live(key recordKey, now time.Time) *record {
	if r := s.records[key]; r != nil && r.until.After(now) {
		return r
	}
	return nil
}

// put records key until the time until, keeping the later before and until
// of an existing record. A record whose until has passed is not kept.
func (s *MemoryStore) put(key recordKey, before, until time.Time) error {
	now := s.now()
	if !until.After(now) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpired(now)
	if r := s.records[key]; r != nil {
		if before.After(r.before) {
			r.before = before
		}
		if until.After(r.until) {
			r.until = until
			heap.Fix(&s.expiry, r.index)
		}
		return nil
	}
	return s.add(&record{key: key, before: before, until: until})
}

// add stores the new record r, or refuses it with [ErrFull]. The caller
// holds s.mu for writing and has dropped the expired records.
func (s *MemoryStore) add(r *record) error {
	if len(s.records) >= s.maxEntries {
		return fmt.Errorf("revocation: %d records: %w", len(s.records), ErrFull)
	}
	s.records[r.key] = r
	heap.Push(&s.expiry, r)
	return nil
}

// dropExpired removes the records whose until is not after now. The
// caller holds s.mu for writing.
func (s *MemoryStore) dropExpired(now time.Time) {
	for len(s.expiry) > 0 && !s.expiry[0].until.After(now) {
		r := heap.Pop(&s.expiry).(*record)
		delete(s.records, r.key)
	}
}

// expiryHeap orders records by until, for container/heap.
type expiryHeap []*record

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *expiryHeap) Push(x any) {
	r := x.(*record)
	r.index = len(*h)
	*h = append(*h, r)
}

func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
