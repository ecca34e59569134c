package manager

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
)

// Refusals of keys missing or too old: the provider is down, not the token
// bad. Their texts are fixed.
var (
	errNoKeysYet = &keyError{"no usable keys fetched yet from the identity provider", ErrKeysUnavailable}
	errKeysOld   = &keyError{"the keys' last good fetch is older than WithMaxKeyAge", ErrKeysUnavailable}
)

// fetchRecord is what a remote key source knows of its fetches, shared by
// its storage (which sees each good fetch), its refresh loop and Verify.
type fetchRecord struct {
	last  atomic.Int64 // UnixNano of the last good fetch, by the Manager's clock; 0 before one
	ready atomic.Bool  // a fetch has brought a key usable with the accepted algorithms
}

// fetched records a good fetch at now.
func (f *fetchRecord) fetched(now time.Time) { f.last.Store(now.UnixNano()) }

// age returns how old the keys are at now: the time since their last good
// fetch, 0 before one.
func (f *fetchRecord) age(now time.Time) time.Duration {
	last := f.last.Load()
	if last == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, last))
}

// freshness judges whether the keys of a fetchRecord may verify: they must
// have come, and, with [WithMaxKeyAge], not be older than maxAge.
type freshness struct {
	record *fetchRecord
	maxAge time.Duration // 0: no limit
	now    func() time.Time
}

// check returns nil when the keys may verify, and otherwise the keyError
// that refuses them with [ErrKeysUnavailable].
func (f freshness) check() error {
	if !f.record.ready.Load() {
		return errNoKeysYet
	}
	if f.maxAge > 0 && f.record.age(f.now()) > f.maxAge {
		return errKeysOld
	}
	return nil
}

// backoff spaces the retries of a failing fetch: the first after about
// min, each one about twice the last, never more than max. Each wait is
// drawn at random from its upper half (jitter), so that the replicas of a
// service that lost the provider at the same moment don't all come back
// to it at the same moment.
type backoff struct {
	min, max time.Duration
	cur      time.Duration // the last bound; 0 after reset
}

// newBackoff returns the backoff of a source refreshed every interval:
// from a second (or the interval, when shorter) up to the interval.
func newBackoff(interval time.Duration) backoff {
	return backoff{min: min(time.Second, interval), max: interval}
}

// next returns how long to wait before the next retry.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1)
}

// reset starts the backoff again, after a success.
func (b *backoff) reset() { b.cur = 0 }

// schedule runs attempt until ctx ends: every interval after a success,
// and after a failure sooner, by b (newBackoff(interval) but in tests), so that a provider that comes back is
// found before the next interval (and before [WithMaxKeyAge] runs out). When
// ready is false, the last attempt failed: the first wait is a retry's.
func schedule(ctx context.Context, interval time.Duration, b backoff, ready bool, attempt func(context.Context) bool) {
	wait := interval
	if !ready {
		wait = b.next()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if attempt(ctx) {
			b.reset()
			wait = interval
		} else {
			wait = b.next()
		}
		t.Reset(wait)
	}
}

// refetch fetches the JWK Set at rawURL into storage, the set of r, once,
// and reports whether it succeeded with a usable key.
func (f fetcher) refetch(ctx context.Context, rawURL string, storage fetchedStorage, r *remoteKeys) bool {
	s := f.settings
	// A storage built without a refresh interval fetches once, into ours.
	_, err := jwkset.NewStorageFromHTTP(rawURL, jwkset.HTTPClientStorageOptions{
		Client:      fetchClient(s.client, rawURL),
		Ctx:         ctx,
		HTTPTimeout: s.timeout,
		Storage:     storage,
	})
	if err != nil {
		// jwkset calls every fetch of a storage it makes its first.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		err = fmt.Errorf("manager: refresh of the JWK Set: %w: %w", ErrJWKS, err)
	}
	if err == nil && !storage.record.ready.Load() {
		if !r.hasUsableKey() {
			err = fmt.Errorf("manager: the JWK Set has no key usable with %s: %w", algorithmList(f.algs), ErrJWKS)
		} else {
			storage.record.ready.Store(true)
		}
	}
	if err != nil {
		if ctx.Err() == nil { // not a fetch cut short by Close
			f.fetchFailed(err, storage.record)
		}
		return false
	}
	return true
}

// fetchFailed reports a failed fetch of a set whose fetches record keeps,
// with the age of the keys that go on verifying.
func (f fetcher) fetchFailed(err error, record *fetchRecord) {
	f.events.emit(Event{Kind: EventJWKSFetch, Err: err, KeyAge: record.age(f.now())})
	f.settings.onError(err)
}
