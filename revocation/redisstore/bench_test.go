package redisstore

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// benchStore is one revocation setting of the warm-call benchmarks.
type benchStore struct {
	name string
	// store returns the store, or nil for none; b is skipped when it
	// needs a server that is not there.
	store func(b *testing.B) revocation.Store
}

// benchStores are the settings compared: no store, the memory store, and
// Redis on loopback, alone, with the local cache, and as a cluster.
func benchStores() []benchStore {
	redisStore := func(b *testing.B, client redis.UniversalClient, opts ...Option) revocation.Store {
		b.Cleanup(func() { client.Close() })
		s, err := New(context.Background(), client, append([]Option{WithKeyPrefix("protojwt-bench:")}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	single := func(b *testing.B) redis.UniversalClient {
		addr := os.Getenv("REDIS_ADDR")
		if addr == "" {
			b.Skip("REDIS_ADDR is not set")
		}
		return redis.NewClient(&redis.Options{Addr: addr})
	}
	return []benchStore{
		{"store=none", func(*testing.B) revocation.Store { return nil }},
		{"store=memory", func(b *testing.B) revocation.Store {
			s, err := revocation.NewMemoryStore()
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"store=redis", func(b *testing.B) revocation.Store { return redisStore(b, single(b)) }},
		{"store=redis+localcache", func(b *testing.B) revocation.Store {
			return redisStore(b, single(b), WithLocalCache(time.Second))
		}},
		{"store=cluster", func(b *testing.B) revocation.Store {
			addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
			if addrs == "" {
				b.Skip("REDIS_CLUSTER_ADDRS is not set")
			}
			return redisStore(b, redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")}))
		}},
	}
}

// benchManager returns a Manager on store (none when nil) and a warm auth
// token of it: verified once, so that Verify finds it in its cache.
func benchManager(b *testing.B, store revocation.Store) (*manager.Manager, string) {
	b.Helper()
	var opts []manager.Option
	if store != nil {
		opts = append(opts, manager.WithRevocation(store))
	}
	m, err := manager.New(manager.Config{
		Issuer:    "https://bench.test",
		Algorithm: "HS256",
		Secret:    []byte("bench-secret-0123456789abcdefghij"),
	}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := m.AuthToken("alice", "read", nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Verify(context.Background(), tok.Signed); err != nil {
		b.Fatal(err)
	}
	return m, tok.Signed
}

// BenchmarkWarmVerify measures Verify of a token it verified before, with
// each revocation setting: what the store adds to every authenticated call.
func BenchmarkWarmVerify(b *testing.B) {
	for _, bs := range benchStores() {
		b.Run(bs.name, func(b *testing.B) {
			m, token := benchManager(b, bs.store(b))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWarmVerifyParallel is BenchmarkWarmVerify from 16 goroutines
// per CPU at once, as a busy server runs it: a round trip costs latency
// more than CPU, and concurrent calls overlap theirs.
func BenchmarkWarmVerifyParallel(b *testing.B) {
	for _, bs := range benchStores() {
		b.Run(bs.name, func(b *testing.B) {
			m, token := benchManager(b, bs.store(b))
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Verify(ctx, token); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkWarmHTTPCall measures a whole authenticated HTTP call over
// loopback (client, server, httpauth, handler) with each revocation
// setting.
func BenchmarkWarmHTTPCall(b *testing.B) {
	for _, bs := range benchStores() {
		b.Run(bs.name, func(b *testing.B) {
			m, token := benchManager(b, bs.store(b))
			guard := httpauth.New(m)
			server := httptest.NewServer(guard.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			})))
			b.Cleanup(server.Close)
			client := server.Client()
			req, err := http.NewRequest("GET", server.URL+"/me", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
