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
// instruments; DecisionHook and ManagerEvents plug it in. It is safe for
// concurrent use, and one Telemetry serves any number of adapters and
// Managers.
type Telemetry struct {
	procedures *procedures

	decisions metric.Int64Counter
	duration  metric.Float64Histogram

	jwksFetches    metric.Int64Counter
	jwksKeys       metric.Int64Gauge
	discoveryReads metric.Int64Counter
	revocation     metric.Int64Counter
	revocationFail metric.Int64Counter
	cacheHits      metric.Int64Counter
	cacheMisses    metric.Int64Counter
	cacheEvictions metric.Int64Counter

	recordings    atomic.Pointer[map[decisionKey]*recording] // copy on write, under mu
	mu            sync.Mutex
	maxRecordings int
}

// New creates the instruments of protojwt's metrics (see the package
// documentation for the list) with the meter of scope ScopeName. It fails
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
	t := &Telemetry{procedures: newProcedures(&c), maxRecordings: maxRecordings}
	empty := map[decisionKey]*recording{}
	t.recordings.Store(&empty)

	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		inst, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return inst
	}
	t.decisions = counter("protojwt.decisions", "{decision}",
		"Decisions of the protojwt adapters: calls opened and stream messages checked.")
	var err error
	t.duration, err = meter.Float64Histogram("protojwt.decision.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time spent deciding a call or a stream message, token verification included."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	t.jwksFetches = counter("protojwt.jwks.fetches", "{fetch}",
		"Fetches of a JWK Set, by result.")
	t.jwksKeys, err = meter.Int64Gauge("protojwt.jwks.keys",
		metric.WithUnit("{key}"),
		metric.WithDescription("Keys of the JWK Set last fetched successfully."))
	errs = append(errs, err)
	t.discoveryReads = counter("protojwt.discovery.reads", "{read}",
		"Reads of an issuer's metadata for its jwks_uri, by result.")
	t.revocation = counter("protojwt.revocation.calls", "{call}",
		"Calls to the revocation store.")
	t.revocationFail = counter("protojwt.revocation.failures", "{call}",
		"Calls to the revocation store that failed.")
	t.cacheHits = counter("protojwt.cache.hits", "{token}",
		"Verifications answered from the verified-token cache.")
	t.cacheMisses = counter("protojwt.cache.misses", "{token}",
		"Verifications that found no usable token in the cache.")
	t.cacheEvictions = counter("protojwt.cache.evictions", "{token}",
		"Tokens dropped from the cache to make room for others.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}
