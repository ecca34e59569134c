package manager

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/protojwt/protojwt/internal/jws"
)

// benchAlgorithms are the algorithms the Verify benchmarks compare.
var benchAlgorithms = []string{"HS256", "RS256", "ES256", "EdDSA"}

// benchTokens returns n distinct auth tokens of m, with a scope and a
// custom claim like a real service's.
func benchTokens(tb testing.TB, m *Manager, n int) []string {
	tb.Helper()
	out := make([]string, n)
	for i := range out {
		tok, err := m.AuthToken(fmt.Sprintf("user-%d", i), "read write", map[string]any{"tenant": "acme"})
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = tok.Signed
	}
	return out
}

// BenchmarkVerify is Verify of a token seen for the first time (cold: the
// cache off, a new token each call from a set of 256) and of a token
// verified before (warm: the cache on, the same token), for each algorithm.
func BenchmarkVerify(b *testing.B) {
	cfgs := algorithmConfigs(b)
	ctx := context.Background()
	for _, alg := range benchAlgorithms {
		b.Run(alg+"/cold", func(b *testing.B) {
			m := newTestManager(b, cfgs[alg], WithVerifyCache(0))
			tokens := benchTokens(b, m, 256)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := m.Verify(ctx, tokens[i%len(tokens)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(alg+"/warm", func(b *testing.B) {
			m := newTestManager(b, cfgs[alg])
			signed := benchTokens(b, m, 1)[0]
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(ctx, signed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyParallel is BenchmarkVerify's warm case from every
// processor at once, each goroutine with tokens of its own and one shared
// by all, to show that hits don't contend: run with -cpu=1,2 and compare.
func BenchmarkVerifyParallel(b *testing.B) {
	m := newTestManager(b, algorithmConfigs(b)["HS256"])
	tokens := benchTokens(b, m, 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Verify(ctx, tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkVerifyParallelSameToken is BenchmarkVerifyParallel with every
// goroutine presenting one token: the case where counters kept per token,
// or per set of the cache, would be shared by every processor.
func BenchmarkVerifyParallelSameToken(b *testing.B) {
	m := newTestManager(b, algorithmConfigs(b)["HS256"])
	signed := benchTokens(b, m, 1)[0]
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Verify(ctx, signed); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyCacheMemory fills a cache of DefaultVerifyCacheSize
// tokens and reports the heap it holds: bytes per token without the token's
// text and with it (the cache keeps the caller's string alive), and the
// total. The measurement is made once, whatever -benchtime says.
func BenchmarkVerifyCacheMemory(b *testing.B) {
	const n = DefaultVerifyCacheSize
	m := newTestManager(b, algorithmConfigs(b)["HS256"], WithVerifyCache(n))
	tokens := benchTokens(b, m, n)
	tokenBytes := 0
	for _, s := range tokens {
		tokenBytes += len(s)
	}
	before := heapInUse()
	for _, s := range tokens {
		if _, err := m.Verify(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	after := heapInUse()
	runtime.KeepAlive(tokens)
	size := m.CacheStats().Size
	held := float64(after-before) / float64(size)
	for b.Loop() {
	}
	b.ReportMetric(held, "B/entry")
	b.ReportMetric(held+float64(tokenBytes)/float64(n), "B/entry+token")
	b.ReportMetric(float64(after-before+uint64(tokenBytes))/(1<<20), "MiB/full")
	b.ReportMetric(float64(size), "entries")
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkColdVerifyParts is a cold Verify in its parts, for each
// algorithm, each sub-benchmark doing the one before it and one part more,
// over the same 256 tokens of nine claims: signature (split the token,
// read its header, select the key, check the signature), payload (then
// decode the claims into the map Token.Claims is, the least a Verify that
// returns them must do), verify (all of it: the claims' checks, the
// private view, the Token). The differences are what each part costs:
//
//	go test -run '^$' -bench ColdVerifyParts -count 6 ./manager
func BenchmarkColdVerifyParts(b *testing.B) {
	ctx := context.Background()
	for _, alg := range benchAlgorithms {
		m := newTestManager(b, algorithmConfigs(b)[alg], WithVerifyCache(0))
		tokens := benchTokens(b, m, 256)
		v := &m.verifier
		parts := []struct {
			name string
			run  func(signed string) error
		}{
			{"signature", func(signed string) error {
				_, err := v.checkSignature(ctx, signed)
				return err
			}},
			{"payload", func(signed string) error {
				_, err := decodeVerified(ctx, v, signed)
				return err
			}},
			{"verify", func(signed string) error {
				_, err := m.Verify(ctx, signed)
				return err
			}},
		}
		for _, p := range parts {
			b.Run(alg+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := p.run(tokens[i%len(tokens)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// decodeVerified checks the signature of signed and decodes its claims
// into the map Token.Claims is: the least a cold Verify does.
func decodeVerified(ctx context.Context, v *verifier, signed string) (map[string]any, error) {
	st, err := v.checkSignature(ctx, signed)
	if err != nil {
		return nil, err
	}
	var p jws.Payload
	if err := jws.DecodePayload(st.parts.Payload, &p); err != nil {
		return nil, err
	}
	return p.Claims, nil
}
