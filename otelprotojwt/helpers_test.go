package otelprotojwt_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/otelprotojwt"
)

const testIssuer = "https://auth.test"

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// harness is a Telemetry recording into a manual reader, and a tracer
// whose spans a recorder keeps.
type harness struct {
	tel    *otelprotojwt.Telemetry
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tracer trace.Tracer
}

func newHarness(t *testing.T, opts ...otelprotojwt.Option) *harness {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	tel, err := otelprotojwt.New(append([]otelprotojwt.Option{otelprotojwt.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{tel: tel, reader: reader, spans: spans, tracer: tp.Tracer("test")}
}

// metric returns the metric called name, or nil.
func (h *harness) metric(t *testing.T, name string) *metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelprotojwt.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for i := range sm.Metrics {
			if sm.Metrics[i].Name == name {
				return &sm.Metrics[i]
			}
		}
	}
	return nil
}

// sums returns the points of the counter name by their encoded attributes.
func (h *harness) sums(t *testing.T, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m := h.metric(t, name)
	if m == nil {
		return out
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok || !sum.IsMonotonic || sum.Temporality != metricdata.CumulativeTemporality {
		t.Fatalf("%s is %T, not a cumulative monotonic int64 sum", name, m.Data)
	}
	for _, p := range sum.DataPoints {
		out[p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Value
	}
	return out
}

// histogramCounts returns the counts of the histogram name by attributes.
func (h *harness) histogramCounts(t *testing.T, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m := h.metric(t, name)
	if m == nil {
		return out
	}
	hist, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is %T, not a float64 histogram", name, m.Data)
	}
	if m.Unit != "s" {
		t.Errorf("%s unit %q, want s", name, m.Unit)
	}
	for _, p := range hist.DataPoints {
		out[p.Attributes.Encoded(attribute.DefaultEncoder())] += int64(p.Count)
	}
	return out
}

// attrs encodes attributes as the SDK does, sorted by key.
func attrs(kvs ...attribute.KeyValue) string {
	set := attribute.NewSet(kvs...)
	return set.Encoded(attribute.DefaultEncoder())
}

// rpcDecision is the encoded attribute set of a gRPC or connect decision;
// reason "" for an allowed one.
func rpcDecision(method, reason, stage string) string {
	return decisionAttrs(attribute.String("rpc.method", method), reason, stage)
}

func decisionAttrs(proc attribute.KeyValue, reason, stage string) string {
	kvs := []attribute.KeyValue{attribute.String("protojwt.stage", stage)}
	if proc.Valid() {
		kvs = append(kvs, proc)
	}
	if reason == "" {
		kvs = append(kvs, attribute.String("protojwt.outcome", "allowed"))
	} else {
		kvs = append(kvs, attribute.String("protojwt.outcome", "denied"), attribute.String("protojwt.reason", reason))
	}
	return attrs(kvs...)
}

// diffCounts reports the differences between got and want.
func diffCounts(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		if got[k] != want[k] {
			t.Errorf("%s {%s} = %d, want %d", what, k, got[k], want[k])
		}
	}
}

// events returns the protojwt.decision events of the ended spans, as
// "outcome reason" strings in order, and fails on an attribute that is not
// one of the few a decision event may carry.
func (h *harness) events(t *testing.T) []string {
	t.Helper()
	allowed := map[attribute.Key]bool{
		"protojwt.outcome": true, "protojwt.reason": true, "protojwt.stage": true,
		"rpc.method": true, "http.route": true, "http.request.method": true,
	}
	var out []string
	for _, s := range h.spans.Ended() {
		for _, e := range s.Events() {
			if e.Name != "protojwt.decision" {
				continue
			}
			var outcome, reason string
			for _, kv := range e.Attributes {
				if !allowed[kv.Key] {
					t.Errorf("event attribute %s=%s", kv.Key, kv.Value.String())
				}
				switch kv.Key {
				case "protojwt.outcome":
					outcome = kv.Value.AsString()
				case "protojwt.reason":
					reason = kv.Value.AsString()
				}
			}
			out = append(out, strings.TrimSpace(outcome+" "+reason))
		}
	}
	return out
}

func newManager(t testing.TB, opts ...manager.Option) *manager.Manager {
	t.Helper()
	m, err := manager.New(manager.Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func authToken(t testing.TB, m *manager.Manager, sub string, claims map[string]any) string {
	t.Helper()
	tok, err := m.AuthToken(sub, nil, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Signed
}

// expiredToken returns an auth token of testIssuer that expired an hour ago.
func expiredToken(t testing.TB, sub string) string {
	t.Helper()
	past := newManager(t, manager.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }))
	return authToken(t, past, sub, nil)
}
