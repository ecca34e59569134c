package connectauth_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
)

// BenchmarkUnaryCall is a warm unary call of FieldTop over a loopback
// server, the Connect protocol over HTTP/1.1 and gRPC over HTTP/2: through
// the interceptor (a valid HS256 token, the rule sub = username) and, for
// comparison, with no interceptor at all, the same header sent. Compare
// the two in one run:
//
//	go test -run '^$' -bench UnaryCall -count 6 ./connectauth
func BenchmarkUnaryCall(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", nil, nil)
	auth, err := connectauth.New(m)
	if err != nil {
		b.Fatal(err)
	}
	servers := map[string]*testServer{
		"none":        serve(b, upload{}),
		"interceptor": serve(b, upload{}, connect.WithInterceptors(auth)),
	}
	for _, proto := range []struct {
		name string
		opts []connect.ClientOption
		h2   bool
	}{
		{"connect", nil, false},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}, true},
	} {
		for _, variant := range []string{"none", "interceptor"} {
			b.Run(proto.name+"/"+variant, func(b *testing.B) {
				ts := servers[variant]
				client := testpbconnect.NewGuardedServiceClient(ts.client(proto.h2), ts.url, proto.opts...)
				req := connect.NewRequest(&testpb.FieldTopRequest{Username: "alice"})
				req.Header().Set("Authorization", bearer(signed))
				ctx := context.Background()
				if _, err := client.FieldTop(ctx, req); err != nil { // warm: connection, token cache
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					resp, err := client.FieldTop(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					if variant == "interceptor" && resp.Msg.GetReply().GetSubject() != "alice" {
						b.Fatal("handler saw no token")
					}
				}
			})
		}
	}
}

// BenchmarkUnaryCallPaired makes the comparison robust on a busy machine:
// each iteration calls the server without the interceptor and the one with
// it, one after the other, and the benchmark reports the median duration
// of each kind of call and their ratio (auth/none), which the 1.10 bound of
// the connect work is about:
//
//	go test -run '^$' -bench UnaryCallPaired -benchtime 3000x ./connectauth
func BenchmarkUnaryCallPaired(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", nil, nil)
	auth, err := connectauth.New(m)
	if err != nil {
		b.Fatal(err)
	}
	none, guarded := serve(b, upload{}), serve(b, upload{}, connect.WithInterceptors(auth))
	for _, proto := range []struct {
		name string
		opts []connect.ClientOption
		h2   bool
	}{
		{"connect", nil, false},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}, true},
	} {
		b.Run(proto.name, func(b *testing.B) {
			clients := []testpbconnect.GuardedServiceClient{
				testpbconnect.NewGuardedServiceClient(none.client(proto.h2), none.url, proto.opts...),
				testpbconnect.NewGuardedServiceClient(guarded.client(proto.h2), guarded.url, proto.opts...),
			}
			req := connect.NewRequest(&testpb.FieldTopRequest{Username: "alice"})
			req.Header().Set("Authorization", bearer(signed))
			ctx := context.Background()
			var took [2][]time.Duration
			call := func(i int) {
				start := time.Now()
				resp, err := clients[i].FieldTop(ctx, req)
				took[i] = append(took[i], time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if i == 1 && resp.Msg.GetReply().GetSubject() != "alice" {
					b.Fatal("handler saw no token")
				}
			}
			call(0) // warm: connections, the token cache
			call(1)
			took = [2][]time.Duration{}
			for n := 0; b.Loop(); n++ {
				// Alternate which goes first, so that neither always
				// follows the other.
				call(n % 2)
				call(1 - n%2)
			}
			med := func(d []time.Duration) float64 {
				slices.Sort(d)
				return float64(d[len(d)/2])
			}
			noneMed, authMed := med(took[0]), med(took[1])
			b.ReportMetric(noneMed, "none-ns/call")
			b.ReportMetric(authMed, "auth-ns/call")
			b.ReportMetric(authMed/noneMed, "ratio")
		})
	}
}

// BenchmarkWrapUnary is the interceptor alone, without a network: what an
// authenticated call adds, and what a refusal costs.
func BenchmarkWrapUnary(b *testing.B) {
	m := newManager(b)
	auth, err := connectauth.New(m)
	if err != nil {
		b.Fatal(err)
	}
	call := unaryDirect(b, auth)
	for _, bm := range []struct {
		name  string
		value string
	}{
		{"allowed", bearer(authToken(b, m, "alice", nil, nil))},
		{"claim mismatch", bearer(authToken(b, m, "bob", nil, nil))},
		{"no token", ""},
		{"invalid token", "Bearer x.y.z"},
		// 8 KiB of random base64 in three segments, at the size bound.
		{"garbage 8KiB", bearer(garbage8KiB())},
	} {
		b.Run(bm.name, func(b *testing.B) {
			h := map[string][]string{}
			if bm.value != "" {
				h["Authorization"] = []string{bm.value}
			}
			b.ReportAllocs()
			for b.Loop() {
				ran, _ := call(h)
				if ran != (bm.name == "allowed") {
					b.Fatal("wrong outcome")
				}
			}
		})
	}
}

// garbage8KiB returns 8 KiB of random base64url in three segments: what a
// scanner or a broken client sends, the most a Manager reads by default.
func garbage8KiB() string {
	raw := make([]byte, 6144)
	rand.Read(raw)
	s := base64.RawURLEncoding.EncodeToString(raw)[:8<<10-2]
	return s[:2730] + "." + s[2730:5460] + "." + s[5460:]
}
