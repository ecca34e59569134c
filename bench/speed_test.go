package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protojwt/protojwt/manager"
)

// BenchmarkJWKSWarm is a warm Verify of the same token by a Manager with
// its own keys (stack=own-key) and by one that fetched them as a JWK Set
// from a loopback server (stack=jwks), as an identity provider's users
// configure it:
//
//	go test -run '^$' -bench JWKSWarm -count 6 .
func BenchmarkJWKSWarm(b *testing.B) {
	ctx := context.Background()
	for _, alg := range Algorithms {
		if alg == "HS256" {
			continue // secrets are not published in JWK Sets
		}
		s := setupOf(b, alg)
		srv := httptest.NewServer(s.Warm.JWKSHandler())
		b.Cleanup(srv.Close)
		remote, err := manager.New(manager.Config{Issuer: Issuer, Algorithm: alg, JWKSURL: srv.URL})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { remote.Close() })
		verify := func(m *manager.Manager) func(int) {
			return func(int) {
				if _, err := m.Verify(ctx, s.Token); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run("alg="+alg, func(b *testing.B) {
			interleave(b, 2000, side{"own-key", verify(s.Warm)}, side{"jwks", verify(remote)})
		})
	}
}

// signatureCheck returns the check of a token's signature alone, the floor
// of a cold Verify: for HMAC a prepared hash state reset between calls, for
// the others the crypto call on a digest computed on the stack.
func signatureCheck(tb testing.TB, s *Setup) func(signingInput, sig []byte) bool {
	switch key := s.Keys.VerifyKey.(type) {
	case []byte:
		mac := hmac.New(sha256.New, key)
		var sum [sha256.Size]byte
		return func(in, sig []byte) bool {
			mac.Reset()
			mac.Write(in)
			return hmac.Equal(mac.Sum(sum[:0]), sig)
		}
	case *rsa.PublicKey:
		return func(in, sig []byte) bool {
			d := sha256.Sum256(in)
			return rsa.VerifyPKCS1v15(key, crypto.SHA256, d[:], sig) == nil
		}
	case *ecdsa.PublicKey:
		return func(in, sig []byte) bool {
			d := sha256.Sum256(in)
			r, t := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(key, d[:], r, t)
		}
	case ed25519.PublicKey:
		return func(in, sig []byte) bool { return ed25519.Verify(key, in, sig) }
	}
	tb.Fatalf("no signature check for %T", s.Keys.VerifyKey)
	return nil
}

// BenchmarkColdVerify is a cold Verify (cache off, a new token each call)
// beside the check of the same tokens' signatures alone (stack=signature)
// and golang-jwt's Parse with the same checks: cold minus signature is
// what Verify costs beyond the crypto.
//
//	go test -run '^$' -bench ColdVerify -count 6 .
func BenchmarkColdVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range Algorithms {
		s := setupOf(b, alg)
		check := signatureCheck(b, s)
		inputs := make([][]byte, len(s.Fresh)) // the signing inputs, as the crypto reads them
		sigs := make([][]byte, len(s.Fresh))
		for i, t := range s.Fresh {
			dot := strings.LastIndexByte(t, '.')
			inputs[i] = []byte(t[:dot])
			sig, err := base64.RawURLEncoding.DecodeString(t[dot+1:])
			if err != nil {
				b.Fatal(err)
			}
			sigs[i] = sig
		}
		must := func(ok bool) {
			if !ok {
				b.Fatal("does not verify")
			}
		}
		batch := 200
		if alg != "HS256" {
			batch = 10
		}
		b.Run("alg="+alg, func(b *testing.B) {
			interleave(b, batch,
				side{"signature", func(i int) { i %= len(s.Fresh); must(check(inputs[i], sigs[i])) }},
				side{"cold", func(i int) { _, err := s.Cold.Verify(ctx, s.Fresh[i%len(s.Fresh)]); must(err == nil) }},
				side{"golang-jwt", func(i int) { _, err := s.Peer.Parse(s.Fresh[i%len(s.Fresh)]); must(err == nil) }},
			)
		})
	}
}

// BenchmarkGarbage is 8 KiB of random base64 in three segments, the
// largest a Manager reads by default (garbageToken(hostileSize) is two
// bytes over it, refused by its length), presented to each adapter and to
// its peer: the gRPC interceptors called directly,
// and the HTTP middlewares serving an in-memory request. (connect's is in
// connectauth's BenchmarkWrapUnary, token=garbage-8KiB: the bench module
// has no connect service.)
//
//	go test -run '^$' -bench Garbage -count 6 .
func BenchmarkGarbage(b *testing.B) {
	s := setupOf(b, "HS256")
	garbage := garbageToken(hostileSize - 2)
	if len(garbage) != hostileSize {
		b.Fatalf("garbage of %d bytes, want %d", len(garbage), hostileSize)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+garbage))
	req := wrapperspb.String(Subject)
	info := &grpc.UnaryServerInfo{FullMethod: EchoMethod}
	noop := func(context.Context, any) (any, error) { return nil, nil }
	var sides [2][]side // by adapter: the peer, then protojwt
	for _, stack := range []string{StackPeer, StackWarm} {
		unary, err := s.UnaryInterceptor(stack)
		if err != nil {
			b.Fatal(err)
		}
		sides[0] = append(sides[0], side{stack, func(int) {
			if _, err := unary(ctx, req, info, noop); err == nil {
				b.Fatal("garbage was accepted")
			}
		}})
		h, err := s.HTTPHandler(stack)
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/users/"+Subject, nil)
		r.Header.Set("Authorization", "Bearer "+garbage)
		w := &statusWriter{header: http.Header{}}
		sides[1] = append(sides[1], side{stack, func(int) {
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != http.StatusUnauthorized {
				b.Fatalf("status %d, want 401", w.code)
			}
		}})
	}
	for k, adapter := range []string{"grpc", "http"} {
		b.Run("adapter="+adapter, func(b *testing.B) { interleave(b, 200, sides[k]...) })
	}
}

// BenchmarkHTTPWarm is a GET over loopback with the same header to a
// server with no authentication and to one whose route the guard protects
// (a warm token), in alternating batches timed with the process's CPU
// clock: the server's work and the client's, whichever threads run them.
//
//	go test -run '^$' -bench HTTPWarm -count 6 .
func BenchmarkHTTPWarm(b *testing.B) {
	for _, alg := range []string{"HS256", "ES256"} {
		s := setupOf(b, alg)
		var sides []side
		for _, stack := range []string{StackNone, StackWarm} {
			srv, reqs := startHTTP(b, s, stack)
			c := srv.Client()
			sides = append(sides, side{stack, func(int) { roundTrip(b, c, reqs[0]) }})
		}
		b.Run("alg="+alg, func(b *testing.B) { interleaveClock(b, processCPU, 50, sides...) })
	}
}

// BenchmarkGRPCWarm is a unary call over bufconn with the same metadata
// to a server with no interceptor and to one with protojwt's (a warm
// token), in alternating batches timed with the process's CPU clock.
//
//	go test -run '^$' -bench GRPCWarm -count 6 .
func BenchmarkGRPCWarm(b *testing.B) {
	for _, alg := range []string{"HS256", "ES256"} {
		s := setupOf(b, alg)
		ctx := outgoing([]string{s.Token})[0]
		req := wrapperspb.String(Subject)
		var sides []side
		for _, stack := range []string{StackNone, StackWarm} {
			srv, err := s.StartGRPC(stack)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(srv.Close)
			sides = append(sides, side{stack, func(int) {
				if err := srv.Echo(ctx, req); err != nil {
					b.Fatal(err)
				}
			}})
		}
		b.Run("alg="+alg, func(b *testing.B) { interleaveClock(b, processCPU, 50, sides...) })
	}
}

// side is one of the calls an interleaved benchmark compares: call makes
// its i-th call.
type side struct {
	name string
	call func(i int)
}

// interleave runs the sides in alternating batches of batch calls, each
// batch timed with the thread's CPU clock (see interleaveClock), and reports for each side its
// CPU time per call (<name>-cpu-ns/call), its allocations per call
// (<name>-allocs/call) and its ratio to the first side (<name>/<first>):
// every side sees the same moments of a busy machine, and CPU time leaves
// out the time others take the processor.
func interleave(b *testing.B, batch int, sides ...side) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	interleaveClock(b, threadCPU, batch, sides...)
}

// interleaveClock is interleave with the given CPU clock.
func interleaveClock(b *testing.B, clock func() (time.Duration, bool), batch int, sides ...side) {
	allocs := make([]float64, len(sides))
	for k, s := range sides {
		i := 0
		allocs[k] = testing.AllocsPerRun(batch, func() { s.call(i); i++ })
	}
	cpu := make([]time.Duration, len(sides))
	calls, n := 0, 0
	for b.Loop() {
		for k, s := range sides {
			start, ok := clock()
			for j := range batch {
				s.call(n + j)
			}
			if end, _ := clock(); ok {
				cpu[k] += end - start
			}
		}
		calls += batch
		n += batch
	}
	for k, s := range sides { // after the loop, which deletes metrics reported before it
		b.ReportMetric(allocs[k], s.name+"-allocs/call")
	}
	if _, ok := clock(); !ok || calls == 0 {
		return
	}
	for k, s := range sides {
		b.ReportMetric(float64(cpu[k].Nanoseconds())/float64(calls), s.name+"-cpu-ns/call")
		if k > 0 && cpu[0] > 0 {
			b.ReportMetric(float64(cpu[k])/float64(cpu[0]), s.name+"/"+sides[0].name)
		}
	}
}
