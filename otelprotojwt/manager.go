package otelprotojwt

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/protojwt/protojwt/manager"
)

// keyResult is the attribute of the outcome of a fetch or a store call.
const keyResult = attribute.Key("protojwt.result")

// Options of the results, built once.
var (
	resultSuccess  = resultOptions("success")
	resultFailure  = resultOptions("failure")
	resultCanceled = resultOptions("canceled")
)

type resultOption struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

func resultOptions(result string) resultOption {
	set := attribute.NewSet(keyResult.String(result))
	return resultOption{
		add:    []metric.AddOption{metric.WithAttributeSet(set)},
		record: []metric.RecordOption{metric.WithAttributeSet(set)},
	}
}

// ManagerEvents returns the function to give [manager.WithEvents]. It counts
// the fetches of the JWK Set by result (protojwt.jwks.fetches), times those
// the Manager timed (protojwt.jwks.fetch.duration), records the number of keys of each set
// fetched (protojwt.jwks.keys) and the age of the keys in use after each
// fetch (protojwt.jwks.key_age, in seconds: 0 after a success, the time
// since the last good fetch after a failure; alert on it as it nears
// [manager.WithMaxKeyAge]); it counts and times the reads of an
// issuer's metadata by result (protojwt.discovery.reads,
// protojwt.discovery.duration); it counts the calls of the revocation store
// by result (protojwt.revocation.calls), the outages among them
// (protojwt.revocation.failures), and times them
// (protojwt.revocation.duration). A call that failed because its caller
// gave up (the Event's error wraps [context.Canceled] or
// [context.DeadlineExceeded]) has the result "canceled" and is no outage.
// Events of kinds it does not know are ignored. The function is safe for
// concurrent use.
//
//	m, err := manager.New(cfg, manager.WithEvents(tel.ManagerEvents()))
//	stop := tel.ObserveCache(m)
func (t *Telemetry) ManagerEvents() func(manager.Event) {
	return t.managerEvent
}

func (t *Telemetry) managerEvent(e manager.Event) {
	ctx := context.Background() // events carry no context: they are the Manager's, not a call's
	switch e.Kind {
	case manager.EventJWKSFetch:
		r := resultSuccess
		if e.Err != nil {
			r = resultFailure
		}
		t.jwksFetches.Add(ctx, 1, r.add...)
		if e.Duration > 0 { // 0: a fetch the Manager did not time
			t.jwksFetchDuration.Record(ctx, e.Duration.Seconds(), r.record...)
		}
		if e.Err == nil {
			t.jwksKeys.Record(ctx, int64(e.Keys))
		}
		t.jwksKeyAge.Record(ctx, e.KeyAge.Seconds())
	case manager.EventDiscoveryRead:
		r := resultSuccess
		if e.Err != nil {
			r = resultFailure
		}
		t.discoveryReads.Add(ctx, 1, r.add...)
		t.discoveryDuration.Record(ctx, e.Duration.Seconds(), r.record...)
	case manager.EventRevocationCheck:
		r := resultSuccess
		switch {
		case e.Err == nil:
		case errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded):
			r = resultCanceled
		default:
			r = resultFailure
			t.revocationFailures.Add(ctx, 1)
		}
		t.revocationCalls.Add(ctx, 1, r.add...)
		t.revocationDuration.Record(ctx, e.Duration.Seconds(), r.record...)
	}
}

// ObserveCache adds the verification cache of m (see
// [manager.WithVerifyCache]) to the observable counters protojwt.cache.hits,
// protojwt.cache.misses and protojwt.cache.evictions and to
// protojwt.cache.size: each collection reads m.CacheStats, which counts
// exactly and costs Verify nothing. The counts of every Manager observed
// are added up. stop ends the observation of m, whose counts so far stay
// in the totals, so that the counters never go down; call it when m is
// closed. Observe each Manager once. A nil m is ignored.
func (t *Telemetry) ObserveCache(m *manager.Manager) (stop func()) {
	if m == nil {
		return func() {}
	}
	return t.caches.add(m)
}

// caches are the Managers whose caches are observed, and what those no
// longer observed counted.
type caches struct {
	mu      sync.Mutex
	live    map[*observed]struct{}
	retired manager.CacheStats // Hits, Misses and Evictions only
	used    bool               // a Manager was observed: report, zeros included

	hits, misses, evictions metric.Int64ObservableCounter
	size                    metric.Int64ObservableUpDownCounter
}

// observed is one Manager observed; a pointer of its own, so that stop
// removes this observation only.
type observed struct{ m *manager.Manager }

func newCaches() *caches {
	return &caches{live: map[*observed]struct{}{}}
}

// register creates the observable instruments and their callback.
func (c *caches) register(meter metric.Meter) error {
	var errs [5]error
	c.hits, errs[0] = meter.Int64ObservableCounter("protojwt.cache.hits",
		metric.WithUnit("{verification}"),
		metric.WithDescription("Verifications answered from the verified-token cache."))
	c.misses, errs[1] = meter.Int64ObservableCounter("protojwt.cache.misses",
		metric.WithUnit("{verification}"),
		metric.WithDescription("Verifications that found no usable token in the cache and checked it in full."))
	c.evictions, errs[2] = meter.Int64ObservableCounter("protojwt.cache.evictions",
		metric.WithUnit("{token}"),
		metric.WithDescription("Tokens dropped from the cache before their time to make room for others."))
	c.size, errs[3] = meter.Int64ObservableUpDownCounter("protojwt.cache.size",
		metric.WithUnit("{token}"),
		metric.WithDescription("Tokens held in the caches."))
	if err := errors.Join(errs[:4]...); err != nil {
		return err
	}
	_, errs[4] = meter.RegisterCallback(c.observe, c.hits, c.misses, c.evictions, c.size)
	return errs[4]
}

func (c *caches) add(m *manager.Manager) func() {
	o := &observed{m: m}
	c.mu.Lock()
	c.live[o] = struct{}{}
	c.used = true
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s := m.CacheStats()
			c.mu.Lock()
			defer c.mu.Unlock()
			delete(c.live, o)
			c.retired.Hits += s.Hits
			c.retired.Misses += s.Misses
			c.retired.Evictions += s.Evictions
		})
	}
}

// observe reports the totals of every Manager observed.
func (c *caches) observe(_ context.Context, o metric.Observer) error {
	c.mu.Lock()
	if !c.used {
		c.mu.Unlock()
		return nil
	}
	total := c.retired
	for obs := range c.live {
		s := obs.m.CacheStats()
		total.Hits += s.Hits
		total.Misses += s.Misses
		total.Evictions += s.Evictions
		total.Size += s.Size
	}
	c.mu.Unlock()
	o.ObserveInt64(c.hits, int64(total.Hits))
	o.ObserveInt64(c.misses, int64(total.Misses))
	o.ObserveInt64(c.evictions, int64(total.Evictions))
	o.ObserveInt64(c.size, int64(total.Size))
	return nil
}
