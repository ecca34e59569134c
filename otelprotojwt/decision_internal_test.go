package otelprotojwt

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt"
	_ "github.com/protojwt/protojwt/otelprotojwt/internal/testpb" // GuardedService in protoregistry.GlobalFiles
	_ "google.golang.org/protobuf/types/known/emptypb"            // google.protobuf.Empty, for a service of the test's own
)

const fieldTop = "/protojwt.otel.test.v1.GuardedService/FieldTop"

func newTestTelemetry(t *testing.T, opts ...Option) (*Telemetry, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	tel, err := New(append([]Option{WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tel, reader
}

// decisionPoints returns the points of protojwt.decisions by attributes.
func decisionPoints(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "protojwt.decisions" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				out[p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Value
			}
		}
	}
	return out
}

func TestProcedureAttributes(t *testing.T) {
	files := new(protoregistry.Files)
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    new("own.proto"),
		Package: new("own.v1"),
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:   new("Own"),
			Method: []*descriptorpb.MethodDescriptorProto{{Name: new("Do"), InputType: new(".google.protobuf.Empty"), OutputType: new(".google.protobuf.Empty")}},
		}},
		Dependency: []string{"google/protobuf/empty.proto"},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		opts       []Option
		procedure  string
		want       string // encoded attributes
		wantUnrecg unrecognized
	}{
		{name: "registered method", procedure: fieldTop, want: "rpc.method=protojwt.otel.test.v1.GuardedService/FieldTop"},
		{name: "unknown method of a known service", procedure: "/protojwt.otel.test.v1.GuardedService/Nope", want: "rpc.method=_OTHER", wantUnrecg: otherRPC},
		{name: "unknown service", procedure: "/evil.Svc/Probe", want: "rpc.method=_OTHER", wantUnrecg: otherRPC},
		{name: "a message, not a service", procedure: "/protojwt.otel.test.v1.FieldTopRequest/Username", want: "rpc.method=_OTHER", wantUnrecg: otherRPC},
		{name: "malformed method", procedure: "/a/b/c", want: "rpc.method=_OTHER", wantUnrecg: otherRPC},
		{name: "empty", procedure: "", want: "", wantUnrecg: otherHTTP},
		{name: "WithMethods", opts: []Option{WithMethods("/evil.Svc/Probe")}, procedure: "/evil.Svc/Probe", want: "rpc.method=evil.Svc/Probe"},
		{name: "WithResolver", opts: []Option{WithResolver(files)}, procedure: "/own.v1.Own/Do", want: "rpc.method=own.v1.Own/Do"},
		{name: "WithResolver replaces the global files", opts: []Option{WithResolver(files)}, procedure: fieldTop, want: "rpc.method=_OTHER", wantUnrecg: otherRPC},
		{name: "route with method", opts: []Option{WithRoutes("GET /users/{id}")}, procedure: "GET /users/{id}", want: "http.request.method=GET,http.route=/users/{id}"},
		{name: "route with host", opts: []Option{WithRoutes("POST  api.example/orders/")}, procedure: "POST  api.example/orders/", want: "http.request.method=POST,http.route=/orders/"},
		{name: "route without method", opts: []Option{WithRoutes("/static/")}, procedure: "/static/", want: "http.route=/static/"},
		{name: "raw request path", opts: []Option{WithRoutes("GET /users/{id}")}, procedure: "GET /users/123", want: "", wantUnrecg: otherHTTP},
		{name: "path without method, not listed", procedure: "/static/", want: "rpc.method=_OTHER", wantUnrecg: otherRPC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			for _, o := range tt.opts {
				o.apply(&c)
			}
			kvs, unrecg := newProcedures(&c).attributes(tt.procedure)
			set := attribute.NewSet(kvs...)
			if got := set.Encoded(attribute.DefaultEncoder()); got != tt.want || unrecg != tt.wantUnrecg {
				t.Errorf("attributes(%q) = %q, %v; want %q, %v", tt.procedure, got, unrecg, tt.want, tt.wantUnrecg)
			}
		})
	}
}

// TestCardinalityBounded calls the hook with many method names, reasons and
// paths a caller could choose: they make a few series, and the cache of
// attribute sets stays as small.
func TestCardinalityBounded(t *testing.T) {
	tel, reader := newTestTelemetry(t, WithRoutes("GET /users/{id}"))
	hook := tel.DecisionHook()
	ctx := context.Background()
	for i := range 1000 {
		hook(ctx, protojwt.Decision{Procedure: fmt.Sprintf("/evil.Svc/M%d", i), Reason: protojwt.ReasonMethodNotDeclared})
		hook(ctx, protojwt.Decision{Procedure: fmt.Sprintf("GET /users/%d", i), Reason: protojwt.ReasonTokenMissing})
		hook(ctx, protojwt.Decision{Procedure: fieldTop, Reason: fmt.Sprintf("MADE_UP_%d", i)})
		hook(ctx, protojwt.Decision{Procedure: fieldTop, Allowed: true, Reason: fmt.Sprintf("IGNORED_%d", i)})
	}
	want := map[string]int64{
		"protojwt.outcome=denied,protojwt.reason=METHOD_NOT_DECLARED,protojwt.stage=call,rpc.method=_OTHER":                           1000,
		"protojwt.outcome=denied,protojwt.reason=TOKEN_MISSING,protojwt.stage=call":                                                   1000,
		"protojwt.outcome=denied,protojwt.reason=_OTHER,protojwt.stage=call,rpc.method=protojwt.otel.test.v1.GuardedService/FieldTop": 1000,
		"protojwt.outcome=allowed,protojwt.stage=call,rpc.method=protojwt.otel.test.v1.GuardedService/FieldTop":                       1000,
	}
	got := decisionPoints(t, reader)
	if len(got) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("{%s} = %d, want %d", k, got[k], v)
		}
	}
	if n := len(*tel.recordings.Load()); n != len(want) {
		t.Errorf("%d attribute sets kept, want %d", n, len(want))
	}
}

// TestRecordingsLimit checks that beyond the limit, decisions are still
// recorded, with sets that are not kept.
func TestRecordingsLimit(t *testing.T) {
	var methods []string
	for i := range 10 {
		methods = append(methods, fmt.Sprintf("/own.Svc/M%d", i))
	}
	tel, reader := newTestTelemetry(t, WithMethods(methods...))
	tel.maxRecordings = 4
	hook := tel.DecisionHook()
	for range 3 {
		for _, m := range methods {
			hook(context.Background(), protojwt.Decision{Procedure: m, Allowed: true})
		}
	}
	if n := len(*tel.recordings.Load()); n != 4 {
		t.Errorf("%d attribute sets kept, want 4", n)
	}
	got := decisionPoints(t, reader)
	for _, m := range methods {
		k := "protojwt.outcome=allowed,protojwt.stage=call,rpc.method=" + strings.TrimPrefix(m, "/")
		if got[k] != 3 {
			t.Errorf("{%s} = %d, want 3", k, got[k])
		}
	}
}

// TestConcurrentDecisions records from 100 goroutines at once, with new
// and known keys mixed, and checks every count.
func TestConcurrentDecisions(t *testing.T) {
	tel, reader := newTestTelemetry(t)
	hook := tel.DecisionHook()
	reasons := []string{"", protojwt.ReasonTokenMissing, protojwt.ReasonClaimMismatch, protojwt.ReasonTokenExpired}
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 50 {
				r := reasons[(g+i)%len(reasons)]
				hook(context.Background(), protojwt.Decision{Procedure: fieldTop, Allowed: r == "", Reason: r, Message: i%2 == 0, Duration: time.Microsecond})
			}
		})
	}
	wg.Wait()
	var total int64
	got := decisionPoints(t, reader)
	for _, v := range got {
		total += v
	}
	if total != 100*50 || len(got) != len(reasons)*2 {
		t.Errorf("%d decisions in %d series, want %d in %d", total, len(got), 100*50, len(reasons)*2)
	}
	if n := len(*tel.recordings.Load()); n != len(reasons)*2 {
		t.Errorf("%d attribute sets kept, want %d", n, len(reasons)*2)
	}
}

// TestWarmDecisionAllocations pins the warm path: with a no-op provider it
// returns at once; with the SDK's, the attribute sets are kept and the
// hook allocates nothing either.
func TestWarmDecisionAllocations(t *testing.T) {
	sdk, _ := newTestTelemetry(t)
	noopTel, err := New(WithMeterProvider(noop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := protojwt.Decision{Procedure: fieldTop, Reason: protojwt.ReasonClaimMismatch, Duration: time.Microsecond}
	for name, tel := range map[string]*Telemetry{"noop": noopTel, "sdk": sdk} {
		hook := tel.DecisionHook()
		hook(ctx, d)
		if n := testing.AllocsPerRun(1000, func() { hook(ctx, d) }); n != 0 {
			t.Errorf("%s: warm decision allocates %v times, want 0", name, n)
		}
	}
}

// TestSpanEventWithoutMetrics checks that a no-op meter provider does not
// stop the span event.
func TestSpanEventWithoutMetrics(t *testing.T) {
	tel, err := New(WithMeterProvider(noop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	tel.DecisionHook()(ctx, protojwt.Decision{Procedure: fieldTop, Reason: protojwt.ReasonTokenExpired})
	span.End()
	ended := spans.Ended()
	if len(ended) != 1 || len(ended[0].Events()) != 1 {
		t.Fatalf("spans %v", ended)
	}
	e := ended[0].Events()[0]
	set := attribute.NewSet(e.Attributes...)
	got := set.Encoded(attribute.DefaultEncoder())
	want := "protojwt.outcome=denied,protojwt.reason=TOKEN_EXPIRED,protojwt.stage=call,rpc.method=protojwt.otel.test.v1.GuardedService/FieldTop"
	if e.Name != "protojwt.decision" || got != want {
		t.Errorf("event %s {%s}, want protojwt.decision {%s}", e.Name, got, want)
	}
}
