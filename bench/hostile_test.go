package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protojwt/protojwt/manager"
)

// hostileSize is the size of the hostile tokens: just under the 8 KiB a
// Manager accepts by default, where their cost is highest.
const hostileSize = 8 << 10

// forgedToken returns a token of about size bytes whose payload is many
// small JSON values (the costliest shape to decode) and whose signature is
// another token's: it verifies under no key.
func forgedToken(valid string, size int) string {
	parts := strings.Split(valid, ".")
	var b strings.Builder
	b.WriteString(`{"iss":"` + Issuer + `","sub":"` + Subject + `","type":"auth","exp":4102444800,"iat":1700000000,"x":[`)
	for i := 0; b.Len()*4/3+len(parts[0])+len(parts[2]) < size-16; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i % 10))
	}
	b.WriteString("]}")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(b.String())) + "." + parts[2]
}

// largeValidToken returns a token of about size bytes that verifies: the
// same many small values, signed.
func largeValidToken(tb testing.TB, m *manager.Manager, size int) string {
	tb.Helper()
	values := make([]any, 0, size/2)
	for tok := ""; ; {
		values = append(values, len(values)%10)
		t, err := m.AuthToken(Subject, "read", map[string]any{"x": values})
		if err != nil {
			tb.Fatal(err)
		}
		if len(t.Signed) >= size-64 {
			return tok
		}
		tok = t.Signed
		if len(values) > size {
			tb.Fatal("token does not grow")
		}
		if len(t.Signed) < size-600 {
			values = append(values, make([]any, (size-600-len(t.Signed))/3)...)
			for i := range values {
				values[i] = i % 10
			}
		}
	}
}

// garbageToken returns size characters of random base64url in three
// segments: what a scanner or a broken client sends.
func garbageToken(size int) string {
	raw := make([]byte, size*3/4)
	rand.Read(raw)
	s := base64.RawURLEncoding.EncodeToString(raw)
	return s[:size/3] + "." + s[size/3:2*size/3] + "." + s[2*size/3:]
}

// BenchmarkHostile is what an attacker's tokens cost each stack, next to a
// valid token of the same size verified cold and warm: a forged token (valid
// header, 8 KiB of small JSON values, a signature that does not verify) and
// 8 KiB of random base64. golang-jwt decodes a forged token's claims before
// it checks the signature; protojwt checks the signature first.
func BenchmarkHostile(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{"HS256", "ES256"} {
		s := setupOf(b, alg)
		large := largeValidToken(b, s.Warm, hostileSize)
		cases := []struct {
			name, token string
			valid       bool
		}{
			{"forged-8KiB", forgedToken(large, hostileSize), false},
			{"garbage-8KiB", garbageToken(hostileSize), false},
			{"valid-8KiB", large, true},
		}
		for _, c := range cases {
			for _, v := range []struct {
				stack  string
				verify func(string) error
			}{
				{StackPeer, func(t string) error { _, err := s.Peer.ParseReused(t); return err }},
				{StackCold, func(t string) error { _, err := s.Cold.Verify(ctx, t); return err }},
				{StackWarm, func(t string) error { _, err := s.Warm.Verify(ctx, t); return err }},
			} {
				if v.stack == StackWarm && !c.valid {
					continue // the cache keeps only tokens that verified
				}
				b.Run("alg="+alg+"/token="+c.name+"/stack="+v.stack, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := v.verify(c.token); (err == nil) != c.valid {
							b.Fatalf("verify: %v", err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkHostileInterceptor is the same hostile tokens through each
// stack's gRPC interceptor, called directly: the bearer parsing in front of
// verification included.
func BenchmarkHostileInterceptor(b *testing.B) {
	s := setupOf(b, "HS256")
	req := wrapperspb.String(Subject)
	info := &grpc.UnaryServerInfo{FullMethod: EchoMethod}
	noop := func(context.Context, any) (any, error) { return nil, nil }
	large := largeValidToken(b, s.Warm, hostileSize)
	for _, c := range []struct{ name, token string }{
		{"forged-8KiB", forgedToken(large, hostileSize)},
		{"garbage-8KiB", garbageToken(hostileSize)},
	} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+c.token))
		for _, stack := range []string{StackPeer, StackWarm} {
			unary, err := s.UnaryInterceptor(stack)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("token="+c.name+"/stack="+stack, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := unary(ctx, req, info, noop); err == nil {
						b.Fatal("a hostile token was accepted")
					}
				}
			})
		}
	}
}

// BenchmarkVerifyParallel is a warm Verify from every core at once: run
// with -cpu 1,2 to see whether it scales.
func BenchmarkVerifyParallel(b *testing.B) {
	s := setupOf(b, "HS256")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Warm.Verify(ctx, s.Token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
