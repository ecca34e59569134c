package otelprotojwt

import (
	"errors"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the name of the instrumentation scope of every metric:
// the import path of this package.
const ScopeName = "github.com/protojwt/protojwt/otelprotojwt"

// durationBuckets are the bounds, in seconds, of the histogram of decision
// times: a cached token decides in microseconds, a signature check in tens
// of microseconds, a JWK Set fetch for an unknown key in milliseconds.
var durationBuckets = []float64{
	0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
}

// Telemetry records the decisions of protojwt's adapters and the events of
// its Managers as OpenTelemetry metrics and span events. New creates its
// instruments; DecisionHook, ManagerEvents and ObserveCache plug it in. It
// is safe for concurrent use, and one Telemetry serves any number of
// adapters and Managers.
type Telemetry struct {
	procedures *procedures

	decisions metric.Int64Counter
	duration  metric.Float64Histogram

	jwksFetches        metric.Int64Counter
	jwksFetchDuration  metric.Float64Histogram
	jwksKeys           metric.Int64Gauge
	jwksKeyAge         metric.Float64Gauge
	discoveryReads     metric.Int64Counter
	discoveryDuration  metric.Float64Histogram
	revocationCalls    metric.Int64Counter
	revocationFailures metric.Int64Counter
	revocationDuration metric.Float64Histogram

	caches *caches

	recordings    atomic.Pointer[map[decisionKey]*recording] // copy on write, under mu
	mu            sync.Mutex
	maxRecordings int
}

// New creates the instruments of protojwt's metrics (see the package
// documentation for the list) with the meter of scope [ScopeName]. It fails
// only when the meter provider refuses an instrument.
func New(opts ...Option) (*Telemetry, error) {
	var c config
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&c)
		}
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	meter := c.meterProvider.Meter(ScopeName)
	t := &Telemetry{procedures: newProcedures(&c), maxRecordings: maxRecordings, caches: newCaches()}
	empty := map[decisionKey]*recording{}
	t.recordings.Store(&empty)

	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		inst, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return inst
	}
	seconds := func(name, desc string) metric.Float64Histogram {
		inst, err := meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		errs = append(errs, err)
		return inst
	}
	t.decisions = counter("protojwt.decisions", "{decision}",
		"Decisions of the protojwt adapters: calls opened and stream messages checked.")
	t.duration = seconds("protojwt.decision.duration",
		"Time spent deciding a call or a stream message, token verification included.")
	t.jwksFetches = counter("protojwt.jwks.fetches", "{fetch}",
		"Fetches of a Manager's JWK Set, by result.")
	t.jwksFetchDuration = seconds("protojwt.jwks.fetch.duration",
		"Time spent fetching a JWK Set.")
	var err error
	t.jwksKeys, err = meter.Int64Gauge("protojwt.jwks.keys",
		metric.WithUnit("{key}"),
		metric.WithDescription("Keys of the JWK Set last fetched successfully."))
	errs = append(errs, err)
	t.jwksKeyAge, err = meter.Float64Gauge("protojwt.jwks.key_age",
		metric.WithUnit("s"),
		metric.WithDescription("Age of the keys a Manager verifies with, as of its last fetch: 0 after a success, the time since the last good fetch after a failure."))
	errs = append(errs, err)
	t.discoveryReads = counter("protojwt.discovery.reads", "{read}",
		"Reads of an issuer's metadata by a Manager with discovery, by result.")
	t.discoveryDuration = seconds("protojwt.discovery.duration",
		"Time spent reading an issuer's metadata.")
	t.revocationCalls = counter("protojwt.revocation.calls", "{call}",
		"Calls of the revocation store by Verify, by result.")
	t.revocationFailures = counter("protojwt.revocation.failures", "{call}",
		"Calls of the revocation store that failed while the caller still waited: outages.")
	t.revocationDuration = seconds("protojwt.revocation.duration",
		"Time spent in the revocation store by Verify.")
	errs = append(errs, t.caches.register(meter))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}
