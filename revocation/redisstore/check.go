package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrEvictionPolicy means a Redis node may evict the Store's keys to make
// room: its maxmemory-policy is not noeviction. Every record the Store
// writes has a time to live, so the volatile-* policies evict them as
// surely as the allkeys-* ones, and an evicted revocation is forgotten.
var ErrEvictionPolicy = errors.New("redisstore: Redis may evict revocations")

// ErrTooFewReplicas means a Redis master has fewer connected replicas than
// WithReplicaAcks asks to wait for: its writes would fail.
var ErrTooFewReplicas = errors.New("redisstore: too few replicas")

// Check asks every Redis node the client knows (each master and replica of
// a Cluster) how it is configured, and returns an error when one does not
// answer, when one may evict keys (wrapping ErrEvictionPolicy, unless
// WithEvictionPolicyAllowed), or when a master has fewer connected
// replicas than WithReplicaAcks needs (wrapping ErrTooFewReplicas). New
// calls it; a readiness probe may call it too, since a node's settings can
// change while it runs. Checking costs one INFO per node.
func (s *Store) Check(ctx context.Context) error {
	check := func(ctx context.Context, node *redis.Client) error {
		addr := node.Options().Addr
		info, err := node.Info(ctx, "memory", "replication").Result()
		if err != nil {
			return fmt.Errorf("redisstore: check %s: %w", addr, err)
		}
		fields := infoFields(info)
		policy, ok := fields["maxmemory_policy"]
		switch {
		case !ok:
			return fmt.Errorf("redisstore: check %s: INFO reports no maxmemory_policy", addr)
		case policy != "noeviction" && !s.allowEviction:
			return fmt.Errorf("redisstore: %s has maxmemory-policy %s, which may evict revocation records, so that a logged-out token verifies again: set maxmemory-policy noeviction, or pass WithEvictionPolicyAllowed to accept it: %w",
				addr, policy, ErrEvictionPolicy)
		}
		if s.replicas > 0 && fields["role"] == "master" {
			connected, _ := strconv.Atoi(fields["connected_slaves"])
			if connected < s.replicas {
				return fmt.Errorf("redisstore: master %s has %d connected replicas, WithReplicaAcks waits for %d: %w",
					addr, connected, s.replicas, ErrTooFewReplicas)
			}
		}
		return nil
	}
	switch c := s.client.(type) {
	case *redis.Client:
		return check(ctx, c)
	case interface {
		ForEachShard(context.Context, func(context.Context, *redis.Client) error) error
	}: // *redis.ClusterClient, *redis.Ring
		return c.ForEachShard(ctx, check)
	default:
		return fmt.Errorf("redisstore: check: can't reach the nodes of a %T", s.client)
	}
}

// infoFields returns the name:value lines of an INFO reply.
func infoFields(info string) map[string]string {
	fields := map[string]string{}
	for line := range strings.Lines(info) {
		if name, value, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(name, "#") {
			fields[name] = value
		}
	}
	return fields
}
