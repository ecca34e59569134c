package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/revocation"
	"github.com/protojwt/protojwt/revocation/revocationtest"
)

// redisClient returns a client of the redis-server at $REDIS_ADDR. Without
// REDIS_ADDR the test is skipped, unless $CI is set: CI must run these.
func redisClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("REDIS_ADDR is not set, and CI is: start a redis-server and export REDIS_ADDR=host:port")
		}
		t.Skip("REDIS_ADDR is not set: skipping the tests that need a redis-server (export REDIS_ADDR=127.0.0.1:6379 to run them)")
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}})
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis-server at REDIS_ADDR=%s: %v", addr, err)
	}
	return client
}

// clusterClient returns a client of the Redis Cluster whose nodes
// $REDIS_CLUSTER_ADDRS lists, comma separated. Without REDIS_CLUSTER_ADDRS
// the test is skipped, unless $CI is set: CI must run these.
func clusterClient(t *testing.T) *redis.ClusterClient {
	t.Helper()
	addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("REDIS_CLUSTER_ADDRS is not set, and CI is: start a cluster with scripts/redis-cluster and export REDIS_CLUSTER_ADDRS")
		}
		t.Skip("REDIS_CLUSTER_ADDRS is not set: skipping the tests that need a Redis Cluster (scripts/redis-cluster starts one)")
	}
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis Cluster at REDIS_CLUSTER_ADDRS=%s: %v", addrs, err)
	}
	return client
}

// uniquePrefix returns a key prefix no other test uses, and deletes its keys
// when t ends.
func uniquePrefix(t *testing.T, client redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "protojwt-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() { deleteKeys(t, client, prefix) })
	return prefix
}

// deleteKeys deletes every key that starts with prefix, on every master.
func deleteKeys(t *testing.T, client redis.UniversalClient, prefix string) {
	ctx := context.Background()
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	switch c := client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *redis.Client:
		err = del(ctx, c)
	}
	if err != nil {
		t.Errorf("deleting the test's keys: %v", err)
	}
}

func newTestStore(t *testing.T, client redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	s, err := New(context.Background(), client, append([]Option{WithKeyPrefix(uniquePrefix(t, client))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countKeys returns the number of keys that start with prefix, on every
// master.
func countKeys(t *testing.T, client redis.UniversalClient, prefix string) int {
	t.Helper()
	var n atomic.Int64
	count := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			n.Add(1)
		}
		return iter.Err()
	}
	var err error
	switch c := client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(context.Background(), count)
	case *redis.Client:
		err = count(context.Background(), c)
	}
	if err != nil {
		t.Fatalf("counting keys: %v", err)
	}
	return int(n.Load())
}

// harness returns the conformance harness of the stores on client.
func harness(client redis.UniversalClient, opts ...Option) revocationtest.Harness {
	return revocationtest.Harness{
		New: func(t *testing.T) revocation.Store { return newTestStore(t, client, opts...) },
		Records: func(t *testing.T, s revocation.Store) int {
			return countKeys(t, client, s.(*Store).prefix)
		},
	}
}

func TestConformance(t *testing.T) {
	revocationtest.TestStore(t, harness(redisClient(t)))
}

func TestConformanceCluster(t *testing.T) {
	revocationtest.TestStore(t, harness(clusterClient(t)))
}

func TestConformanceClusterReplicaAcks(t *testing.T) {
	revocationtest.TestStore(t, harness(clusterClient(t), WithReplicaAcks(1, 2*time.Second)))
}

func TestNewRefuses(t *testing.T) {
	var nilClient *redis.Client // a nil client in a non-nil interface
	someClient := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { someClient.Close() })
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	t.Cleanup(func() { ring.Close() })
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   []Option
	}{
		{"nil client", nil, nil},
		{"nil *redis.Client", nilClient, nil},
		{"no replicas to wait for", someClient, []Option{WithReplicaAcks(0, time.Second)}},
		{"negative replicas", someClient, []Option{WithReplicaAcks(-1, time.Second)}},
		{"no replica timeout", someClient, []Option{WithReplicaAcks(1, 0)}},
		{"negative replica timeout", someClient, []Option{WithReplicaAcks(1, -time.Second)}},
		{"replica acks on a Ring", ring, []Option{WithReplicaAcks(1, time.Second)}},
		{"no server", someClient, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := New(context.Background(), tt.client, tt.opts...); err == nil || s != nil {
				t.Errorf("New() = %v, %v; want an error", s, err)
			}
		})
	}
}

// hashTag returns the part of key that Redis Cluster hashes: the text
// between the first "{" and the next "}" when not empty, else the key.
func hashTag(key string) string {
	if start := strings.IndexByte(key, '{'); start >= 0 {
		if end := strings.IndexByte(key[start+1:], '}'); end > 0 {
			return key[start+1 : start+1+end]
		}
	}
	return key
}

func TestKeysOfASubjectShareASlot(t *testing.T) {
	subjects := []string{"alice", "", "{", "}", "{}", "a}b{c", "ü", strings.Repeat("x", 300), "alice:rev:x"}
	for _, prefix := range []string{DefaultKeyPrefix, "", "svc{a}:", "{", "}"} {
		s, err := newStore(redis.NewClient(&redis.Options{}), WithKeyPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, subject := range subjects {
			keys := []string{s.beforeKey(subject), s.revokedKey(subject, "jti-1"), s.revokedKey(subject, "{x}"),
				s.familyKey(subject, "jti-1"), s.familyKey(subject, "{x}")}
			for _, key := range keys[1:] {
				if hashTag(key) != hashTag(keys[0]) {
					t.Errorf("prefix %q, subject %q: keys %q and %q hash apart", prefix, subject, keys[0], key)
				}
			}
			for _, key := range keys {
				if !strings.HasPrefix(key, prefix) {
					t.Errorf("key %q lacks the prefix %q", key, prefix)
				}
				if other, ok := seen[key]; ok {
					t.Errorf("subjects %q and %q share the key %q", other, subject, key)
				}
				seen[key] = subject
			}
		}
	}
}

func TestKeyLayoutAndTTL(t *testing.T) {
	client := redisClient(t)
	ctx := context.Background()
	s := newTestStore(t, client)
	prefix := s.prefix
	until := time.Now().Add(time.Hour)
	if err := s.Revoke(ctx, "alice", "jti-1", until); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSubject(ctx, "alice", time.UnixMilli(1_800_000_000_123), until); err != nil {
		t.Fatal(err)
	}
	for _, step := range [][2]string{{"login", "jti-2"}, {"jti-2", "jti-3"}} {
		if moved, err := s.Rotate(ctx, "alice", "login", step[0], step[1], until); err != nil || !moved {
			t.Fatalf("Rotate(%s → %s) = %v, %v", step[0], step[1], moved, err)
		}
	}
	// base64url("alice") = YWxpY2U
	for key, want := range map[string]string{
		prefix + "{s:YWxpY2U}:rev:jti-1": "1",
		prefix + "{s:YWxpY2U}:before":    "1800000000123",
		prefix + "{s:YWxpY2U}:fam:login": "jti-3",
	} {
		got, err := client.Get(ctx, key).Result()
		if err != nil || got != want {
			t.Errorf("GET %s = %q, %v; want %q", key, got, err, want)
		}
		ttl, err := client.PTTL(ctx, key).Result()
		if err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
			t.Errorf("PTTL %s = %v, %v; want about an hour", key, ttl, err)
		}
	}
}

func TestDefaultPrefixAndIsolation(t *testing.T) {
	client := redisClient(t)
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	subject := "isolation-" + hex.EncodeToString(b)
	byDefault, err := New(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestStore(t, client)
	if err := byDefault.Revoke(ctx, subject, "jti-1", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	key := byDefault.revokedKey(subject, "jti-1")
	t.Cleanup(func() { client.Del(context.Background(), key) })
	if !strings.HasPrefix(key, "protojwt:{") {
		t.Errorf("default key %q does not start with protojwt:", key)
	}
	if n, err := client.Exists(ctx, key).Result(); err != nil || n != 1 {
		t.Errorf("EXISTS %s = %d, %v", key, n, err)
	}
	if revoked, err := other.Revoked(ctx, subject, []string{"jti-1"}, time.Now()); err != nil || revoked {
		t.Errorf("a store with another prefix sees the revocation: %v, %v", revoked, err)
	}
}

func TestServerDown(t *testing.T) {
	// A port nothing listens on: every call fails, none panics or hangs.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	ctx := context.Background()
	if s, err := New(ctx, client); err == nil || s != nil {
		t.Errorf("New() without a server = %v, %v; want an error", s, err)
	}
	s, err := newStore(client)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := s.Revoke(ctx, "alice", "jti-1", until); err == nil {
		t.Error("Revoke() succeeded without a server")
	}
	if err := s.RevokeSubject(ctx, "alice", time.Now(), until); err == nil {
		t.Error("RevokeSubject() succeeded without a server")
	}
	if revoked, err := s.Revoked(ctx, "alice", []string{"jti-1"}, time.Now()); err == nil {
		t.Errorf("Revoked() = %v without a server, want an error", revoked)
	}
	if moved, err := s.Rotate(ctx, "alice", "login", "login", "jti-1", until); err == nil || moved {
		t.Errorf("Rotate() = %v, %v without a server, want an error", moved, err)
	}
}

func BenchmarkRevoked(b *testing.B) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		b.Skip("REDIS_ADDR is not set")
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	s, err := New(context.Background(), client, WithKeyPrefix("protojwt-bench:"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ids := []string{"jti-1", "family-1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Revoked(ctx, "alice", ids, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
