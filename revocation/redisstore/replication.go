package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// run runs script on key with args and returns its integer result. With
// WithReplicaAcks, it runs on the master of key, then WAIT on the same
// connection (WAIT counts the writes of its connection), and fails when
// fewer replicas than asked acknowledged in time.
func (s *Store) run(ctx context.Context, script *redis.Script, key string, args ...any) (int64, error) {
	if s.replicas == 0 {
		return script.Run(ctx, s.client, []string{key}, args...).Int64()
	}
	node, err := s.master(ctx, key)
	if err != nil {
		return 0, err
	}
	conn := node.Conn()
	defer conn.Close()
	n, err := script.Run(ctx, conn, []string{key}, args...).Int64()
	if err != nil {
		if c, ok := s.client.(*redis.ClusterClient); ok {
			// The master may have moved: a failover, or resharding.
			c.ReloadState(ctx)
		}
		return 0, err
	}
	acks, err := conn.Wait(ctx, s.replicas, s.replicaTimeout).Result()
	if err != nil {
		return 0, fmt.Errorf("waiting for replicas: %w", err)
	}
	if acks < int64(s.replicas) {
		return 0, fmt.Errorf("%d of %d replicas of %s acknowledged the write within %v: %w",
			acks, s.replicas, node.Options().Addr, s.replicaTimeout, ErrTooFewReplicas)
	}
	return n, nil
}

// master returns the client of the master that holds key.
func (s *Store) master(ctx context.Context, key string) (*redis.Client, error) {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	case *redis.Client:
		return c, nil
	}
	return nil, fmt.Errorf("redisstore: no master for a %T", s.client) // refused by New
}
