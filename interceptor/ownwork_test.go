package interceptor

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// BenchmarkOwnWork runs the steps of a unary call other than
// manager.Verify, on an already verified token: method lookup, metadata and
// bearer parsing, request fields, the rule's checks and the context. It
// measures what BenchmarkInterceptor minus its Verify sub-benchmark
// estimates, without the noise of the signature check.
func BenchmarkOwnWork(b *testing.B) {
	m, err := manager.New(manager.Config{Issuer: "bench", Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	i, err := New(m)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := m.AuthToken("alice", nil, map[string]any{"role": "admin"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok.Signed))
	for _, c := range []struct {
		name, method string
		req          any
	}{
		{"LiteralString", testpb.GuardedService_LiteralString_FullMethodName, &testpb.LiteralStringRequest{}},
		{"FieldTop", testpb.GuardedService_FieldTop_FullMethodName, &testpb.FieldTopRequest{Username: "alice"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e := i.core.Table.Lookup(c.method)
				if _, err := bearer.Token(metadata.ValueFromIncomingContext(ctx, i.key), bearer.Limit(m)); err != nil {
					b.Fatal(err)
				}
				if err := e.Rule.Check(tok, e.Vars(c.req)); err != nil {
					b.Fatal(err)
				}
				if manager.NewContext(ctx, tok) == nil {
					b.Fatal("no context")
				}
			}
		})
	}
}
