package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// setups holds the Setup of each algorithm, made once per process: RSA key
// generation is slow.
var setups sync.Map // alg -> *Setup

func setupOf(tb testing.TB, alg string) *Setup {
	tb.Helper()
	if s, ok := setups.Load(alg); ok {
		return s.(*Setup)
	}
	s, err := NewSetup(alg)
	if err != nil {
		tb.Fatal(err)
	}
	actual, _ := setups.LoadOrStore(alg, s)
	return actual.(*Setup)
}

// tokensOf returns the tokens a stack's run presents in turn: a new one
// each call for a cold run, the same one otherwise.
func tokensOf(s *Setup, stack string) []string {
	if stack == StackCold {
		return s.Fresh
	}
	return []string{s.Token}
}

// outgoing returns a client context carrying each token.
func outgoing(tokens []string) []context.Context {
	out := make([]context.Context, len(tokens))
	for i, t := range tokens {
		out[i] = metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+t)
	}
	return out
}

// forEachStack runs f for every algorithm and stack as sub-benchmarks
// alg=.../stack=..., the layout benchstat -col /stack compares.
func forEachStack(b *testing.B, f func(b *testing.B, s *Setup, stack string)) {
	for _, alg := range Algorithms {
		s := setupOf(b, alg)
		for _, stack := range Stacks {
			b.Run("alg="+alg+"/stack="+stack, func(b *testing.B) { f(b, s, stack) })
		}
	}
}

// BenchmarkGRPC is a unary call over bufconn, one at a time.
func BenchmarkGRPC(b *testing.B) {
	forEachStack(b, func(b *testing.B, s *Setup, stack string) {
		srv, err := s.StartGRPC(stack)
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		ctxs := outgoing(tokensOf(s, stack))
		req := wrapperspb.String(Subject)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := srv.Echo(ctxs[i%len(ctxs)], req); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkGRPCParallel is BenchmarkGRPC from GOMAXPROCS goroutines.
func BenchmarkGRPCParallel(b *testing.B) {
	forEachStack(b, func(b *testing.B, s *Setup, stack string) {
		srv, err := s.StartGRPC(stack)
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		ctxs := outgoing(tokensOf(s, stack))
		var next atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			req := wrapperspb.String(Subject)
			i := int(next.Add(97))
			for pb.Next() {
				if err := srv.Echo(ctxs[i%len(ctxs)], req); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkHTTP is a GET over loopback to an httptest server, one at a
// time, with keep-alive.
func BenchmarkHTTP(b *testing.B) {
	forEachStack(b, func(b *testing.B, s *Setup, stack string) {
		srv, reqs := startHTTP(b, s, stack)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			roundTrip(b, srv.Client(), reqs[i%len(reqs)])
			i++
		}
	})
}

// BenchmarkHTTPParallel is BenchmarkHTTP from GOMAXPROCS goroutines.
func BenchmarkHTTPParallel(b *testing.B) {
	forEachStack(b, func(b *testing.B, s *Setup, stack string) {
		srv, reqs := startHTTP(b, s, stack)
		var next atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(97))
			for pb.Next() {
				roundTrip(b, srv.Client(), reqs[i%len(reqs)])
				i++
			}
		})
	})
}

// startHTTP serves stack's handler on loopback and returns the requests of
// its tokens.
func startHTTP(b *testing.B, s *Setup, stack string) (*httptest.Server, []*http.Request) {
	h, err := s.HTTPHandler(stack)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var reqs []*http.Request
	for _, t := range tokensOf(s, stack) {
		r, err := http.NewRequest(http.MethodGet, srv.URL+"/users/"+Subject, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+t)
		reqs = append(reqs, r)
	}
	return srv, reqs
}

// roundTrip sends r and checks for 204.
func roundTrip(b *testing.B, c *http.Client, r *http.Request) {
	resp, err := c.Do(r)
	if err != nil {
		b.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b.Errorf("status %d", resp.StatusCode)
	}
}

// BenchmarkHTTPHandler calls the handler in memory, with no network: the
// cost of the middleware alone next to a handler that does nothing.
func BenchmarkHTTPHandler(b *testing.B) {
	forEachStack(b, func(b *testing.B, s *Setup, stack string) {
		h, err := s.HTTPHandler(stack)
		if err != nil {
			b.Fatal(err)
		}
		var reqs []*http.Request
		for _, t := range tokensOf(s, stack) {
			r := httptest.NewRequest(http.MethodGet, "/users/"+Subject, nil)
			r.Header.Set("Authorization", "Bearer "+t)
			reqs = append(reqs, r)
		}
		w := &statusWriter{header: http.Header{}}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			w.code = 0
			h.ServeHTTP(w, reqs[i%len(reqs)])
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
			i++
		}
	})
}

// statusWriter is a ResponseWriter that keeps only the status.
type statusWriter struct {
	header http.Header
	code   int
}

func (w *statusWriter) Header() http.Header         { return w.header }
func (w *statusWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *statusWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkVerify is token verification alone: golang-jwt's Parse with the
// same checks (a new parser per call, as jwt.Parse does, and one reused),
// and protojwt's Manager.Verify cold (cache off, a new token each call) and
// warm (the same token).
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range Algorithms {
		s := setupOf(b, alg)
		for _, v := range []struct {
			stack  string
			tokens []string
			verify func(string) error
		}{
			{"golang-jwt", s.Fresh, func(t string) error { _, err := s.Peer.Parse(t); return err }},
			{"golang-jwt-reused", s.Fresh, func(t string) error { _, err := s.Peer.ParseReused(t); return err }},
			{StackCold, s.Fresh, func(t string) error { _, err := s.Cold.Verify(ctx, t); return err }},
			{StackWarm, []string{s.Token}, func(t string) error { _, err := s.Warm.Verify(ctx, t); return err }},
		} {
			b.Run("alg="+alg+"/stack="+v.stack, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := v.verify(v.tokens[i%len(v.tokens)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkInterceptor calls the unary interceptors directly with a handler
// that does nothing: "verify" is Manager.Verify alone on the same token, so
// protojwt's work beyond Verify is protojwt-warm minus verify (metadata,
// method lookup, request field, rule, context).
func BenchmarkInterceptor(b *testing.B) {
	for _, alg := range Algorithms {
		s := setupOf(b, alg)
		md := metadata.Pairs("authorization", "Bearer "+s.Token)
		ctx := metadata.NewIncomingContext(context.Background(), md)
		req := wrapperspb.String(Subject)
		info := &grpc.UnaryServerInfo{FullMethod: EchoMethod}
		noop := func(context.Context, any) (any, error) { return nil, nil }
		b.Run("alg="+alg+"/stack=verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Warm.Verify(ctx, s.Token); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, stack := range []string{StackPeer, StackWarm} {
			unary, err := s.UnaryInterceptor(stack)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("alg="+alg+"/stack="+stack, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := unary(ctx, req, info, noop); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
