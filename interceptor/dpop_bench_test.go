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

// dpopAuthority is the :authority of the DPoP benchmark's calls.
const dpopAuthority = "api.example.com"

// dpopCalls returns a DPoP call and a bearer call of FieldTop through a
// unary interceptor with a verifier of its own; the DPoP call takes the
// proof to send.
func dpopCalls(tb testing.TB, bb *dpoptest.Bench) (withDPoP func(proof string), withBearer func()) {
	auth, err := interceptor.New(bb.Manager, interceptor.WithDPoP(bb.NewVerifier(tb)))
	if err != nil {
		tb.Fatal(err)
	}
	unary := auth.Unary()
	info := &grpc.UnaryServerInfo{FullMethod: methodFieldTop}
	req := &testpb.FieldTopRequest{Username: "alice"}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	// md is the metadata of a DPoP call, whose proof each call replaces.
	md := metadata.Pairs("authorization", "DPoP "+bb.Bound, "dpop", "", ":authority", dpopAuthority)
	dpopCtx := metadata.NewIncomingContext(context.Background(), md)
	bearerCtx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+bb.Bearer, ":authority", dpopAuthority))
	withDPoP = func(proof string) {
		md["dpop"][0] = proof
		if _, err := unary(dpopCtx, req, info, handler); err != nil {
			tb.Fatal(err)
		}
	}
	withBearer = func() {
		if _, err := unary(bearerCtx, req, info, handler); err != nil {
			tb.Fatal(err)
		}
	}
	return withDPoP, withBearer
}

// BenchmarkDPoP is a warm unary call through the interceptor with a
// DPoP-bound token and a fresh ES256 proof (recorded in the verifier's
// replay cache), next to the same call with a bearer token and to one
// ES256 signature verification: the proof check's cost is the difference
// of the first two, and its target is one verification plus 2µs.
func BenchmarkDPoP(b *testing.B) {
	bb := dpoptest.NewBench(b)
	htu := dpop.MethodURL("http", dpopAuthority, methodFieldTop)
	bb.Run(b, "POST", htu, func(b *testing.B) (func(string), func()) { return dpopCalls(b, bb) })
}

// TestDPoPCallAllocations pins what a warm DPoP call allocates besides a
// bearer call and its proof's signature check: the copies of its dpop and
// :authority metadata and the jti of the proof, nothing more.
func TestDPoPCallAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	bb := dpoptest.NewBench(t)
	htu := dpop.MethodURL("http", dpopAuthority, methodFieldTop)
	proofs := make([]string, 120)
	for i := range proofs {
		proofs[i] = bb.Proof(t, "POST", htu)
	}
	withDPoP, withBearer := dpopCalls(t, bb)
	i := 0
	dpopAllocs := testing.AllocsPerRun(100, func() {
		withDPoP(proofs[i])
		i++
	})
	bearerAllocs := testing.AllocsPerRun(100, withBearer)
	signatureAllocs := testing.AllocsPerRun(100, bb.SignatureCheck(t, proofs[0]))
	if dpopAllocs > bearerAllocs+signatureAllocs+3 {
		t.Fatalf("a DPoP call allocates %v times; a bearer call %v, a signature check %v: want 3 more at most",
			dpopAllocs, bearerAllocs, signatureAllocs)
	}
}
