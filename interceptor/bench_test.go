package interceptor_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// benchManagers returns a manager per algorithm benchmarked.
func benchManagers(tb testing.TB) []struct {
	alg string
	m   *manager.Manager
} {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return []struct {
		alg string
		m   *manager.Manager
	}{
		{"HS256", newManager(tb)},
		{"RS256", newManagerWith(tb, manager.Config{Issuer: testIssuer, Algorithm: "RS256", PrivateKey: key})},
	}
}

// BenchmarkUnaryCall is an authenticated unary call over bufconn, through
// the interceptor and, for comparison, with no interceptor at all (the same
// metadata sent).
func BenchmarkUnaryCall(b *testing.B) {
	req := &testpb.FieldTopRequest{Username: "alice"}
	for _, bm := range benchManagers(b) {
		signed := authToken(b, bm.m, "alice", nil, nil)
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", bearer(signed))
		for _, variant := range []struct {
			name string
			ts   func() *testServer
		}{
			{"none", func() *testServer { return serve(b) }},
			{"interceptor", func() *testServer { return startServer(b, bm.m) }},
		} {
			b.Run(bm.alg+"/"+variant.name, func(b *testing.B) {
				ts := variant.ts()
				client := testpb.NewGuardedServiceClient(ts.conn)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := client.FieldTop(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkInterceptor calls the unary interceptor directly with a no-op
// handler, next to manager.Verify alone on the same token: the difference is
// the interceptor's own work (metadata, lookup, request fields, rule,
// context).
func BenchmarkInterceptor(b *testing.B) {
	for _, bm := range benchManagers(b) {
		signed := authToken(b, bm.m, "alice", nil, map[string]any{"role": "admin"})
		b.Run(bm.alg+"/Verify", func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.m.Verify(ctx, signed); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, c := range interceptorCalls() {
			b.Run(bm.alg+"/"+c.name, func(b *testing.B) {
				call := directCall(b, bm.m, signed, c.method, c.req)
				b.ReportAllocs()
				for b.Loop() {
					call()
				}
			})
		}
	}
}

// interceptorCalls are the calls of BenchmarkInterceptor: a literal claim
// and a claim bound to a request field.
func interceptorCalls() []struct {
	name, method string
	req          any
} {
	return []struct {
		name, method string
		req          any
	}{
		{"LiteralString", methodLiteralString, &testpb.LiteralStringRequest{}},
		{"FieldTop", methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}},
	}
}

// directCall returns a function that runs the unary interceptor once on
// method with a no-op handler, failing tb when the call is denied.
func directCall(tb testing.TB, m *manager.Manager, signed, method string, req any, opts ...interceptor.Option) func() {
	tb.Helper()
	auth, err := interceptor.New(m, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	unary := auth.Unary()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", bearer(signed)))
	info := &grpc.UnaryServerInfo{FullMethod: method}
	noop := func(context.Context, any) (any, error) { return nil, nil }
	return func() {
		if _, err := unary(ctx, req, info, noop); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkRuleCheck is the rule engine alone on a verified token: a claim
// equal to a literal and a claim equal to a request variable.
func BenchmarkRuleCheck(b *testing.B) {
	r, err := rules.Compile(rules.Spec{Claims: map[string]rules.Match{
		"role": {Value: "admin"},
		"sub":  {Var: "username"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	tok := &manager.Token{Type: manager.Auth, Subject: "alice", Claims: map[string]any{"role": "admin", "sub": "alice"}}
	vars := rules.VarFunc(func(int) (rules.Value, bool) { return rules.String("alice"), true })
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Check(tok, vars); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInterceptorAllocs pins the interceptor's own allocations on top of
// manager.Verify's.
func TestInterceptorAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := newManager(t)
	signed := authToken(t, m, "alice", nil, map[string]any{"role": "admin"})
	verify := testing.AllocsPerRun(100, func() {
		if _, err := m.Verify(context.Background(), signed); err != nil {
			t.Fatal(err)
		}
	})
	byName := map[string]float64{}
	for _, c := range interceptorCalls() {
		got := testing.AllocsPerRun(100, directCall(t, m, signed, c.method, c.req))
		byName[c.name] = got
		if own := got - verify; own > 5 {
			t.Errorf("%s: interceptor allocates %.0f times on top of Verify's %.0f, want at most 5", c.name, own, verify)
		} else {
			t.Logf("%s: %.0f allocations on top of Verify's %.0f", c.name, own, verify)
		}
	}
	// Reading a request field costs no allocation: the request variables
	// are a value, not an interface over a new struct.
	if field, literal := byName["FieldTop"], byName["LiteralString"]; field != literal {
		t.Errorf("a claim bound to a request field: %.0f allocations, one bound to a literal: %.0f; want the same", field, literal)
	}

	// A denial costs no allocation of its own either.
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	unary := auth.Unary()
	info := &grpc.UnaryServerInfo{FullMethod: methodUndeclared}
	req := &testpb.UndeclaredRequest{}
	denied := testing.AllocsPerRun(100, func() {
		if _, err := unary(context.Background(), req, info, nil); err == nil {
			t.Fatal("undeclared method allowed")
		}
	})
	if denied != 0 {
		t.Errorf("denying an undeclared method allocates %.0f times, want 0", denied)
	}
}
