package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// setConfig sets a redis-server setting for the test and restores it when
// the test ends.
func setConfig(t *testing.T, client *redis.Client, name, value string) {
	t.Helper()
	ctx := context.Background()
	old, err := client.ConfigGet(ctx, name).Result()
	if err != nil || old[name] == "" {
		t.Fatalf("CONFIG GET %s = %v, %v", name, old, err)
	}
	t.Cleanup(func() {
		if err := client.ConfigSet(context.Background(), name, old[name]).Err(); err != nil {
			t.Errorf("restoring %s: %v", name, err)
		}
	})
	if err := client.ConfigSet(ctx, name, value).Err(); err != nil {
		t.Fatalf("CONFIG SET %s %s: %v", name, value, err)
	}
}

func TestNewRefusesEvictionPolicy(t *testing.T) {
	client := redisClient(t).(*redis.Client)
	ctx := context.Background()
	evicting := []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}
	for _, policy := range evicting {
		t.Run(policy, func(t *testing.T) {
			setConfig(t, client, "maxmemory-policy", policy)
			s, err := New(ctx, client)
			if !errors.Is(err, ErrEvictionPolicy) || s != nil {
				t.Fatalf("New() with maxmemory-policy %s = %v, %v; want ErrEvictionPolicy", policy, s, err)
			}
			for _, want := range []string{policy, "noeviction", "WithEvictionPolicyAllowed", client.Options().Addr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			if s, err := New(ctx, client, WithEvictionPolicyAllowed()); err != nil || s == nil {
				t.Errorf("New(WithEvictionPolicyAllowed()) with maxmemory-policy %s = %v, %v; want a store", policy, s, err)
			}
		})
	}
	t.Run("noeviction", func(t *testing.T) {
		setConfig(t, client, "maxmemory-policy", "noeviction")
		s, err := New(ctx, client)
		if err != nil {
			t.Fatalf("New() with noeviction: error = %v", err)
		}
		// A policy changed while the store runs is seen by Check.
		setConfig(t, client, "maxmemory-policy", "allkeys-lru")
		if err := s.Check(ctx); !errors.Is(err, ErrEvictionPolicy) {
			t.Errorf("Check() after the policy changed: error = %v, want ErrEvictionPolicy", err)
		}
	})
}

func TestNewRefusesTooFewReplicas(t *testing.T) {
	// A lone redis-server has no replica to wait for.
	client := redisClient(t)
	s, err := New(context.Background(), client, WithReplicaAcks(1, 100*time.Millisecond))
	if !errors.Is(err, ErrTooFewReplicas) || s != nil {
		t.Fatalf("New(WithReplicaAcks(1)) without replicas = %v, %v; want ErrTooFewReplicas", s, err)
	}
	// Without the check, the writes themselves fail: not acknowledged.
	s, err = newStore(client, WithKeyPrefix(uniquePrefix(t, client)), WithReplicaAcks(1, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	if err := s.Revoke(ctx, "alice", "jti-1", until); !errors.Is(err, ErrTooFewReplicas) {
		t.Errorf("Revoke() without a replica: error = %v, want ErrTooFewReplicas", err)
	}
	if err := s.RevokeSubject(ctx, "alice", time.Now(), until); !errors.Is(err, ErrTooFewReplicas) {
		t.Errorf("RevokeSubject() without a replica: error = %v, want ErrTooFewReplicas", err)
	}
	if moved, err := s.Rotate(ctx, "alice", "login", "login", "next", until); !errors.Is(err, ErrTooFewReplicas) || moved {
		t.Errorf("Rotate() without a replica = %v, %v; want ErrTooFewReplicas", moved, err)
	}
}

func TestInfoFields(t *testing.T) {
	info := "# Memory\r\nused_memory:1024\r\nmaxmemory_policy:allkeys-lru\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.0.0.1,port=7004,state=online\r\n"
	got := infoFields(info)
	for name, want := range map[string]string{
		"maxmemory_policy": "allkeys-lru", "role": "master", "connected_slaves": "1",
		"slave0": "ip=127.0.0.1,port=7004,state=online",
	} {
		if got[name] != want {
			t.Errorf("field %s = %q, want %q", name, got[name], want)
		}
	}
	if _, ok := got["# Memory"]; ok {
		t.Error("a section header was read as a field")
	}
}
