package manager

import (
	"context"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// tenant is one tenant of a [TenantIssuers]: its Manager once made, or the
// failure to make it. Verify calls count themselves in refs, so that an
// evicted tenant's Manager is closed only after the last call using it.
type tenant struct {
	self  weak.Pointer[tenant] // what the front index holds: no evicted tenant is kept alive by it
	ready chan struct{}        // closed once m or err is set
	m     *Manager             // nil while being made, and after a failure
	err   error                // the Verify error of a failure
	until time.Time            // a failure is refused until then

	used    atomic.Int64 // the TenantIssuers' epoch of the last use
	refs    atomic.Int64 // Verify calls using m
	evicted atomic.Bool
	closing sync.Once
}

// done reports whether the tenant's Manager has been made or failed.
func (t *tenant) done() bool {
	select {
	case <-t.ready:
		return true
	default:
		return false
	}
}

// frontSlots is the size of a [TenantIssuers]' front index.
const frontSlots = 4096

// frontEntry remembers that the token of hash verified with tenant t.
type frontEntry struct {
	hash uint64
	t    weak.Pointer[tenant]
}

// warm returns the token signed, of hash h, when the front index names
// the tenant that verified it and that tenant's cache still holds it, as
// Issuers finds a token in its Managers' caches: the warm path reads no
// payload. found is false otherwise; Verify then takes the full path.
func (ti *TenantIssuers) warm(ctx context.Context, h uint64, signed string, epoch int64) (tok *Token, found bool, err error) {
	e := ti.front[h%frontSlots].Load()
	if e == nil || e.hash != h {
		return nil, false, nil
	}
	t := e.t.Value()
	if t == nil || !t.done() || t.m == nil {
		return nil, false, nil
	}
	t.refs.Add(1)
	defer t.release()
	if t.evicted.Load() {
		return nil, false, nil
	}
	if t.used.Load() != epoch {
		t.used.Store(epoch)
	}
	return t.m.verifier.cached(ctx, h, signed)
}

// remember records in the front index that the token of hash h verified
// with t: a collision only replaces an entry, and a wrong entry only
// costs a cache probe, since t's cache holds only t's tokens.
func (ti *TenantIssuers) remember(h uint64, t *tenant) {
	slot := &ti.front[h%frontSlots]
	if e := slot.Load(); e == nil || e.hash != h || e.t != t.self {
		slot.Store(&frontEntry{hash: h, t: t.self})
	}
}

// failureOver reports whether t is a failure to make a Manager whose
// RetryAfter is over.
func (t *tenant) failureOver() bool {
	return t.done() && t.m == nil && !time.Now().Before(t.until)
}

// verify verifies signed with t's Manager, counted in refs; epoch marks
// the use.
func (t *tenant) verify(ctx context.Context, signed string, epoch int64) (*Token, error) {
	if !t.done() {
		select {
		case <-t.ready:
		case <-ctx.Done():
			return nil, errTenantsPending
		}
	}
	if t.err != nil {
		return nil, t.err
	}
	if t.used.Load() != epoch {
		t.used.Store(epoch)
	}
	t.refs.Add(1)
	if t.evicted.Load() { // closed or about to be: the next token makes it again
		t.release()
		return nil, errTenantsNoKeys
	}
	defer t.release()
	return t.m.Verify(ctx, signed)
}

// release ends a call's use of t, closing its Manager when it was the
// last of an evicted tenant.
func (t *tenant) release() {
	if t.refs.Add(-1) == 0 && t.evicted.Load() {
		t.closeManager()
	}
}

// evict marks t evicted and closes its Manager unless calls still use it
// (the last of them does) or it is still being made (openTenant does).
func (t *tenant) evict() {
	t.evicted.Store(true)
	if t.done() && t.refs.Load() == 0 {
		t.closeManager()
	}
}

func (t *tenant) closeManager() {
	t.closing.Do(func() {
		if t.m != nil {
			t.m.Close()
		}
	})
}

// tenantOf returns the tenant of issuer, making its Manager when it is
// new or its failure is over: one goroutine makes it while the others
// wait in verify. A new tenant needs a turn of the creation limit, and
// room, which the least recently used tenant gives.
func (ti *TenantIssuers) tenantOf(ctx context.Context, issuer string) (*tenant, error) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if ti.closed {
		return nil, errTenantsClosed
	}
	cur := *ti.tenants.Load()
	if t, ok := cur[issuer]; ok && !t.failureOver() {
		return t, nil
	}
	if !ti.create.Allow() {
		return nil, errTenantsBusy
	}
	next := maps.Clone(cur)
	delete(next, issuer) // a failure that is over
	if len(next) >= ti.tc.MaxTenants && !ti.evictOldest(next) {
		return nil, errTenantsBusy
	}
	t := &tenant{ready: make(chan struct{})}
	t.self = weak.Make(t)
	t.used.Store(ti.epoch.Load())
	next[issuer] = t
	ti.tenants.Store(&next)
	go ti.openTenant(context.WithoutCancel(ctx), t, issuer)
	return t, nil
}

// openTenant makes the Manager of t, whose issuer is issuer.
func (ti *TenantIssuers) openTenant(ctx context.Context, t *tenant, issuer string) {
	cfg := ti.tc.Config
	cfg.Issuer = issuer
	cfg.JWKSURL = ti.expand(cfg.JWKSURL, issuer)
	m, err := Open(ctx, cfg, ti.tc.Options...)
	if err != nil {
		t.err, t.until = creationError(err), time.Now().Add(ti.tc.RetryAfter)
	} else {
		t.m = m
	}
	close(t.ready)
	if t.evicted.Load() && t.refs.Load() == 0 { // Close came while it was made
		t.closeManager()
	}
}

// expand returns s with [TenantPlaceholder] replaced by the tenant of issuer.
func (ti *TenantIssuers) expand(s, issuer string) string {
	return strings.ReplaceAll(s, TenantPlaceholder, issuer[len(ti.prefix):len(issuer)-len(ti.suffix)])
}

// evictOldest removes from next, under ti.mu, the tenant used least
// recently that is not being made, and reports whether there was one.
func (ti *TenantIssuers) evictOldest(next map[string]*tenant) bool {
	var oldest string
	var victim *tenant
	for iss, t := range next {
		if !t.done() {
			continue
		}
		if victim == nil || t.used.Load() < victim.used.Load() {
			oldest, victim = iss, t
		}
	}
	if victim == nil {
		return false
	}
	delete(next, oldest)
	victim.evict()
	return true
}

// janitor advances the epoch every IdleAfter/2 and evicts the tenants
// unused for two epochs or more, until Close.
func (ti *TenantIssuers) janitor() {
	defer close(ti.stopped)
	tick := time.NewTicker(max(ti.tc.IdleAfter/2, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ti.stop:
			return
		case <-tick.C:
		}
		epoch := ti.epoch.Add(1)
		ti.sweep(epoch)
	}
}

// sweep evicts the tenants not used since epoch-2, and the failures that
// are over.
func (ti *TenantIssuers) sweep(epoch int64) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	cur := *ti.tenants.Load()
	var next map[string]*tenant
	for iss, t := range cur {
		if !t.done() {
			continue
		}
		idle := epoch-t.used.Load() >= 2
		over := t.failureOver()
		if !idle && !over {
			continue
		}
		if next == nil {
			next = maps.Clone(cur)
		}
		delete(next, iss)
		t.evict()
	}
	if next != nil {
		ti.tenants.Store(&next)
	}
}
