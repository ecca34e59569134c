package otelprotojwt_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// flakyStore is a revocation store that fails while down is set, and
// waits for the caller to give up while slow is.
type flakyStore struct {
	revocation.Store
	down, slow atomic.Bool
}

var errStoreDown = errors.New("store down")

func (s *flakyStore) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	if s.slow.Load() {
		<-ctx.Done()
		return false, ctx.Err()
	}
	if s.down.Load() {
		return false, errStoreDown
	}
	return s.Store.Revoked(ctx, subject, ids, issuedAt)
}

func result(r string) string { return attrs(attribute.String("protojwt.result", r)) }

// TestRevocationEvents verifies tokens against a store that answers, fails
// and is given up on, and checks the counts of each.
func TestRevocationEvents(t *testing.T) {
	h := newHarness(t)
	mem, err := revocation.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	store := &flakyStore{Store: mem}
	m := newManager(t, manager.WithRevocation(store), manager.WithEvents(h.tel.ManagerEvents()))
	signed := authToken(t, m, "alice", nil)
	verify := func(ctx context.Context, wantErr error) {
		t.Helper()
		_, err := m.Verify(ctx, signed)
		if (wantErr == nil) != (err == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Fatalf("Verify = %v, want %v", err, wantErr)
		}
	}
	for range 3 {
		verify(context.Background(), nil)
	}
	store.down.Store(true)
	for range 2 {
		verify(context.Background(), manager.ErrRevocationUnavailable)
	}
	store.down.Store(false)
	store.slow.Store(true)
	impatient, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	verify(impatient, manager.ErrRevocationUnavailable)
	// A caller that gave up before: the store is not called, nothing counts.
	verify(impatient, manager.ErrRevocationUnavailable)

	want := map[string]int64{result("success"): 3, result("failure"): 2, result("canceled"): 1}
	diffCounts(t, "protojwt.revocation.calls", h.sums(t, "protojwt.revocation.calls"), want)
	diffCounts(t, "protojwt.revocation.duration", h.histogramCounts(t, "protojwt.revocation.duration"), want)
	diffCounts(t, "protojwt.revocation.failures", h.sums(t, "protojwt.revocation.failures"), map[string]int64{"": 2})
}

// TestJWKSEvents hands the events function JWK Set fetches: successes and
// failures are counted and timed, and the key count is that of the last
// set fetched, which a failure leaves alone.
func TestJWKSEvents(t *testing.T) {
	h := newHarness(t)
	events := h.tel.ManagerEvents()
	for _, e := range []manager.Event{
		{Kind: manager.EventJWKSFetch, Keys: 2, Duration: 3 * time.Millisecond},
		{Kind: manager.EventJWKSFetch, Keys: 3, Duration: 2 * time.Millisecond},
		{Kind: manager.EventJWKSFetch, Err: manager.ErrJWKS, Duration: time.Second},
		{Kind: manager.EventJWKSFetch, Keys: 3}, // not timed
		{Kind: 200, Err: errors.New("a kind of a later release")},
	} {
		events(e)
	}
	diffCounts(t, "protojwt.jwks.fetches", h.sums(t, "protojwt.jwks.fetches"), map[string]int64{result("success"): 3, result("failure"): 1})
	diffCounts(t, "protojwt.jwks.fetch.duration", h.histogramCounts(t, "protojwt.jwks.fetch.duration"), map[string]int64{result("success"): 2, result("failure"): 1})
	keys := h.metric(t, "protojwt.jwks.keys")
	if keys == nil {
		t.Fatal("no protojwt.jwks.keys")
	}
	g, ok := keys.Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) != 1 || g.DataPoints[0].Value != 3 {
		t.Errorf("protojwt.jwks.keys = %+v, want one point of 3", keys.Data)
	}
	if m := h.metric(t, "protojwt.revocation.calls"); m != nil {
		t.Errorf("an event of an unknown kind was counted: %+v", m)
	}
}

// cacheCounts returns the observed cache metrics, by name.
func (h *harness) cacheCounts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, name := range []string{"protojwt.cache.hits", "protojwt.cache.misses", "protojwt.cache.evictions", "protojwt.cache.size"} {
		m := h.metric(t, name)
		if m == nil {
			continue
		}
		sum, ok := m.Data.(metricdata.Sum[int64])
		if !ok || len(sum.DataPoints) != 1 || sum.IsMonotonic == (name == "protojwt.cache.size") {
			t.Fatalf("%s = %+v", name, m.Data)
		}
		out[name] = sum.DataPoints[0].Value
	}
	return out
}

// statsCounts sums the CacheStats of ms as the metrics should read them.
func statsCounts(ms ...*manager.Manager) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		s := m.CacheStats()
		out["protojwt.cache.hits"] += int64(s.Hits)
		out["protojwt.cache.misses"] += int64(s.Misses)
		out["protojwt.cache.evictions"] += int64(s.Evictions)
		out["protojwt.cache.size"] += int64(s.Size)
	}
	return out
}

// TestObserveCache checks that the cache metrics are the CacheStats of the
// Managers observed, added up, and that they never go down when one is no
// longer observed.
func TestObserveCache(t *testing.T) {
	h := newHarness(t)
	if got := h.cacheCounts(t); len(got) != 0 {
		t.Fatalf("cache metrics before any Manager: %v", got)
	}
	a := newManager(t, manager.WithVerifyCache(1))
	b := newManager(t)
	stopA := h.tel.ObserveCache(a)
	stopB := h.tel.ObserveCache(b)
	h.tel.ObserveCache(nil)()

	alice, bob := authToken(t, a, "alice", nil), authToken(t, a, "bob", nil)
	for _, tok := range []string{alice, alice, bob, alice, alice, bob, bob} {
		if _, err := a.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	want := statsCounts(a, b)
	if want["protojwt.cache.hits"] == 0 || want["protojwt.cache.misses"] == 0 || want["protojwt.cache.evictions"] == 0 {
		t.Fatalf("the script should hit, miss and evict: %v", want)
	}
	diffCounts(t, "cache", h.cacheCounts(t), want)

	stopA()
	stopA() // once only
	final := statsCounts(a)
	want = statsCounts(b)
	for _, name := range []string{"protojwt.cache.hits", "protojwt.cache.misses", "protojwt.cache.evictions"} {
		want[name] += final[name] // kept: counters never go down
	}
	if _, err := a.Verify(context.Background(), alice); err != nil { // a is no longer observed
		t.Fatal(err)
	}
	diffCounts(t, "cache after stop", h.cacheCounts(t), want)
	stopB()
	if got := h.cacheCounts(t); got["protojwt.cache.size"] != 0 || got["protojwt.cache.hits"] == 0 {
		t.Errorf("with no Manager observed: %v, want the totals kept and size 0", got)
	}
}

// TestDiscoveryEvents counts and times the reads of an issuer's metadata
// by result.
func TestDiscoveryEvents(t *testing.T) {
	h := newHarness(t)
	events := h.tel.ManagerEvents()
	for _, e := range []manager.Event{
		{Kind: manager.EventDiscoveryRead, Duration: 4 * time.Millisecond},
		{Kind: manager.EventDiscoveryRead, Duration: 5 * time.Millisecond},
		{Kind: manager.EventDiscoveryRead, Err: manager.ErrJWKS, Duration: time.Second},
	} {
		events(e)
	}
	diffCounts(t, "protojwt.discovery.reads", h.sums(t, "protojwt.discovery.reads"), map[string]int64{result("success"): 2, result("failure"): 1})
	diffCounts(t, "protojwt.discovery.duration", h.histogramCounts(t, "protojwt.discovery.duration"), map[string]int64{result("success"): 2, result("failure"): 1})
}
