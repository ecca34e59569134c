package otelprotojwt_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/otelprotojwt"
	"github.com/protojwt/protojwt/otelprotojwt/internal/testpb"
)

// hookVariant is a way of observing decisions, benchmarked side by side.
type hookVariant struct {
	name string
	hook func(testing.TB) func(context.Context, protojwt.Decision) // nil: no hook
	span bool                                                      // a recording SDK span in the context
}

var hookVariants = []hookVariant{
	{name: "hook=none"},
	{name: "hook=otel-noop", hook: func(tb testing.TB) func(context.Context, protojwt.Decision) {
		return mustNew(tb, otelprotojwt.WithMeterProvider(noop.NewMeterProvider()), otelprotojwt.WithRoutes("GET /users/{username}")).DecisionHook()
	}},
	{name: "hook=otel-sdk", hook: func(tb testing.TB) func(context.Context, protojwt.Decision) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		return mustNew(tb, otelprotojwt.WithMeterProvider(mp), otelprotojwt.WithRoutes("GET /users/{username}")).DecisionHook()
	}},
	{name: "hook=otel-sdk-span", span: true, hook: func(tb testing.TB) func(context.Context, protojwt.Decision) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		return mustNew(tb, otelprotojwt.WithMeterProvider(mp), otelprotojwt.WithRoutes("GET /users/{username}")).DecisionHook()
	}},
}

func mustNew(tb testing.TB, opts ...otelprotojwt.Option) *otelprotojwt.Telemetry {
	tel, err := otelprotojwt.New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return tel
}

// withSpan returns ctx with a recording span of the SDK, as a server's
// instrumentation gives the interceptor.
func withSpan(b *testing.B, ctx context.Context) context.Context {
	tp := sdktrace.NewTracerProvider() // samples every span, exports none
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("bench").Start(ctx, "call")
	b.Cleanup(func() { span.End() })
	return ctx
}

// BenchmarkUnaryWarm calls the unary interceptor directly with a token
// already in the verification cache and a handler that does nothing: the
// cost of each way of observing decisions over the interceptor's own.
func BenchmarkUnaryWarm(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", nil)
	req := &testpb.FieldTopRequest{Username: "alice"}
	info := &grpc.UnaryServerInfo{FullMethod: testpb.GuardedService_FieldTop_FullMethodName}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	for _, v := range hookVariants {
		b.Run(v.name, func(b *testing.B) {
			var opts []interceptor.Option
			if v.hook != nil {
				opts = append(opts, interceptor.WithDecisionHook(v.hook(b)))
			}
			auth, err := interceptor.New(m, opts...)
			if err != nil {
				b.Fatal(err)
			}
			unary := auth.Unary()
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+signed))
			if v.span {
				ctx = withSpan(b, ctx)
			}
			if _, err := unary(ctx, req, info, handler); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unary(ctx, req, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHTTPWarm serves a guarded ServeMux route directly with a token
// already in the verification cache.
func BenchmarkHTTPWarm(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", nil)
	for _, v := range hookVariants {
		b.Run(v.name, func(b *testing.B) {
			var opts []httpauth.Option
			if v.hook != nil {
				opts = append(opts, httpauth.WithDecisionHook(v.hook(b)))
			}
			guard := httpauth.New(m, opts...)
			mux := http.NewServeMux()
			mux.Handle("GET /users/{username}", guard.Require(httpauth.ClaimFromPath("sub", "username"))(
				http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
			req := httptest.NewRequest(http.MethodGet, "/users/alice", nil)
			req.Header.Set("Authorization", "Bearer "+signed)
			if v.span {
				req = req.WithContext(withSpan(b, req.Context()))
			}
			w := &discardWriter{header: http.Header{}}
			mux.ServeHTTP(w, req)
			if w.status != http.StatusNoContent {
				b.Fatalf("status %d", w.status)
			}
			b.ReportAllocs()
			for b.Loop() {
				mux.ServeHTTP(w, req)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

// BenchmarkDecisionHook calls the hook alone with a warm decision: what it
// adds to every call, without the noise of the call around it.
func BenchmarkDecisionHook(b *testing.B) {
	d := protojwt.Decision{Procedure: testpb.GuardedService_FieldTop_FullMethodName, Allowed: true, Duration: 3 * time.Microsecond}
	for _, v := range hookVariants[1:] {
		b.Run(v.name, func(b *testing.B) {
			hook := v.hook(b)
			ctx := context.Background()
			if v.span {
				ctx = withSpan(b, ctx)
			}
			hook(ctx, d)
			b.ReportAllocs()
			for b.Loop() {
				hook(ctx, d)
			}
		})
	}
}
