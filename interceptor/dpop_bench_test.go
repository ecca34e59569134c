package interceptor_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
)

// freshCache is a MemoryReplayCache that records each proof under a new
// id, so that a benchmark can send one proof again and again and still
// pay for recording it, as a fresh proof would.
type freshCache struct {
	c *dpop.MemoryReplayCache
	n atomic.Uint64
}

func (f *freshCache) Seen(ctx context.Context, id string, expires time.Time) (bool, error) {
	return f.c.Seen(ctx, id[:32]+strconv.FormatUint(f.n.Add(1), 36), expires)
}

// BenchmarkDPoP is a warm unary call through the interceptor with a
// DPoP-bound token and its ES256 proof, next to the same call with a bearer
// token and to one ES256 signature verification: the proof check's cost is
// the difference of the first two, and its target is one verification
// plus 2µs.
func BenchmarkDPoP(b *testing.B) {
	m := newManager(b)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := dpop.NewSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	v, err := dpop.NewVerifier(dpop.WithReplayCache(&freshCache{c: dpop.NewMemoryReplayCache(1 << 22)}))
	if err != nil {
		b.Fatal(err)
	}
	auth, err := interceptor.New(m, interceptor.WithDPoP(v))
	if err != nil {
		b.Fatal(err)
	}
	unary := auth.Unary()
	info := &grpc.UnaryServerInfo{FullMethod: methodFieldTop}
	req := &testpb.FieldTopRequest{Username: "alice"}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	const authority = "api.example.com"
	call := func(b *testing.B, md metadata.MD) {
		ctx := metadata.NewIncomingContext(context.Background(), md)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := unary(ctx, req, info, handler); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bearer", func(b *testing.B) {
		signed := authToken(b, m, "alice", nil, nil)
		call(b, metadata.Pairs("authorization", "Bearer "+signed, ":authority", authority))
	})
	b.Run("dpop", func(b *testing.B) {
		signed := authToken(b, m, "alice", nil, map[string]any{"cnf": map[string]any{"jkt": signer.Thumbprint()}})
		proof, err := signer.Proof(dpop.Call{Method: "POST", URL: dpop.MethodURL("http", authority, methodFieldTop), AccessToken: signed}, "")
		if err != nil {
			b.Fatal(err)
		}
		call(b, metadata.Pairs("authorization", "DPoP "+signed, "dpop", proof, ":authority", authority))
	})
	b.Run("es256-verify", func(b *testing.B) {
		digest := sha256.Sum256([]byte("the signing input of a proof"))
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
}
