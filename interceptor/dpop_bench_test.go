package interceptor_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"strconv"
	"strings"
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
	b.Run("interleaved", func(b *testing.B) {
		// Per iteration: a DPoP call, the same call with a bearer token,
		// and one ES256 verification of the proof's signing input (digest
		// included), so that a busy machine slows all three alike. extra-ns
		// is the median of DPoP - bearer - verification: what the proof
		// check adds to one signature verification.
		bound := authToken(b, m, "alice", nil, map[string]any{"cnf": map[string]any{"jkt": signer.Thumbprint()}})
		proof, err := signer.Proof(dpop.Call{Method: "POST", URL: dpop.MethodURL("http", authority, methodFieldTop), AccessToken: bound}, "")
		if err != nil {
			b.Fatal(err)
		}
		dpopCtx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "DPoP "+bound, "dpop", proof, ":authority", authority))
		bearerCtx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+authToken(b, m, "alice", nil, nil), ":authority", authority))
		input := []byte(proof[:strings.LastIndexByte(proof, '.')])
		digest := sha256.Sum256(input)
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		var dpopNS, bearerNS, sigNS, extraNS []float64
		b.ReportAllocs()
		for b.Loop() {
			t0 := time.Now()
			if _, err := unary(dpopCtx, req, info, handler); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := unary(bearerCtx, req, info, handler); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			d := sha256.Sum256(input)
			if !ecdsa.VerifyASN1(&key.PublicKey, d[:], sig) {
				b.Fatal("signature does not verify")
			}
			t3 := time.Now()
			dn, bn, sn := float64(t1.Sub(t0)), float64(t2.Sub(t1)), float64(t3.Sub(t2))
			dpopNS, bearerNS, sigNS, extraNS = append(dpopNS, dn), append(bearerNS, bn), append(sigNS, sn), append(extraNS, dn-bn-sn)
		}
		b.ReportMetric(median(dpopNS), "dpop-ns")
		b.ReportMetric(median(bearerNS), "bearer-ns")
		b.ReportMetric(median(sigNS), "sig-ns")
		b.ReportMetric(median(extraNS), "extra-ns")
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

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
