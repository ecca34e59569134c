package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// run runs script on key with args and returns its integer result. With
// WithReplicaAcks, it runs on the master of key, then WAIT on the same
// connection (WAIT counts the writes of its connection), and fails when
// fewer replicas than asked acknowledged in time.
func (s *Store) run(ctx context.Context, script *redis.Script, key string, args ...any) (int64, error) {
	if s.replicas == 0 {
		n, err := script.Run(ctx, s.client, []string{key}, args...).Int64()
		if err != nil {
			s.reloadSlots()
		}
		return n, err
	}
	node, err := s.master(ctx, key)
	if err != nil {
		return 0, err
	}
	conn := node.Conn()
	defer conn.Close()
	n, err := script.Run(ctx, conn, []string{key}, args...).Int64()
	if err != nil {
		s.reloadSlots()
		return 0, err
	}
	if n == 0 && script == rotate {
		return 0, nil // refused: nothing was written
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

// slotReloadInterval is how often, at most, a failing Store asks a Cluster
// which node serves which slots.
const slotReloadInterval = 250 * time.Millisecond

// reloadSlots makes a Cluster client learn the cluster's slots again, in
// the background and at most every slotReloadInterval, after an error:
// the client follows a slot that moved (MOVED), but keeps sending to a
// master that died, and learns of its replica's promotion only at its
// periodic reload (a minute by default), so that the slots of a failed
// master would stay unavailable that long.
func (s *Store) reloadSlots() {
	c, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastSlotReload.Load()
	if now-last < int64(slotReloadInterval) || !s.lastSlotReload.CompareAndSwap(last, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.ReloadState(ctx)
	}()
}
