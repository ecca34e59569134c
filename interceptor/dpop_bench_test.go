package interceptor_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/dpoptest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// BenchmarkDPoP is a warm unary call through the interceptor with a
// DPoP-bound token and a fresh ES256 proof (recorded in the verifier's
// replay cache), next to the same call with a bearer token and to one
// ES256 signature verification: the proof check's cost is the difference
// of the first two, and its target is one verification plus 2µs.
func BenchmarkDPoP(b *testing.B) {
	bb := dpoptest.NewBench(b)
	const authority = "api.example.com"
	htu := dpop.MethodURL("http", authority, methodFieldTop)
	next := func() string { return bb.Proof(b, "POST", htu) }
	// calls returns a DPoP call and a bearer call through an interceptor
	// with a verifier of its own.
	calls := func(b *testing.B) (withDPoP func(proof string), withBearer func()) {
		auth, err := interceptor.New(bb.Manager, interceptor.WithDPoP(bb.NewVerifier(b)))
		if err != nil {
			b.Fatal(err)
		}
		unary := auth.Unary()
		info := &grpc.UnaryServerInfo{FullMethod: methodFieldTop}
		req := &testpb.FieldTopRequest{Username: "alice"}
		handler := func(context.Context, any) (any, error) { return nil, nil }
		// md is the metadata of a DPoP call, whose proof each call replaces.
		md := metadata.Pairs("authorization", "DPoP "+bb.Bound, "dpop", "", ":authority", authority)
		dpopCtx := metadata.NewIncomingContext(context.Background(), md)
		bearerCtx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+bb.Bearer, ":authority", authority))
		withDPoP = func(proof string) {
			md["dpop"][0] = proof
			if _, err := unary(dpopCtx, req, info, handler); err != nil {
				b.Fatal(err)
			}
		}
		withBearer = func() {
			if _, err := unary(bearerCtx, req, info, handler); err != nil {
				b.Fatal(err)
			}
		}
		return withDPoP, withBearer
	}
	b.Run("bearer", func(b *testing.B) {
		_, withBearer := calls(b)
		b.ReportAllocs()
		for b.Loop() {
			withBearer()
		}
	})
	b.Run("dpop", func(b *testing.B) {
		withDPoP, _ := calls(b)
		bb.Calls(b, next, withDPoP)
	})
	b.Run("interleaved", func(b *testing.B) {
		withDPoP, withBearer := calls(b)
		bb.Interleaved(b, next, withDPoP, withBearer)
	})
	b.Run("es256-verify", bb.Verification)
}
