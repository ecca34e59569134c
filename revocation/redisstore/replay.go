package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/dpop"
)

var _ dpop.ReplayCache = (*Store)(nil)

// Seen implements dpop.ReplayCache, so that one Store shared by every
// instance of a service refuses a DPoP proof replayed against another
// instance (dpop.WithReplayCache): it records id with one command, SET
// <prefix>dpop:<id> 1 NX PXAT <expires>, and reports whether the key was
// already there. The key expires with the proof's window, so nothing needs
// cleaning up; Redis must be 6.2 or later (PXAT). With WithReplicaAcks, a
// new record waits for the replicas as revocations do, and fails when too
// few acknowledged it: a record a failover could lose would let a proof be
// replayed. An error refuses the proof (the verifier fails closed).
func (s *Store) Seen(ctx context.Context, id string, expires time.Time) (bool, error) {
	key := s.prefix + "dpop:" + id
	at := ceilMilli(expires)
	if s.replicas == 0 {
		seen, err := setNX(ctx, s.client, key, at)
		if err != nil {
			s.reloadSlots()
		}
		return seen, err
	}
	node, err := s.master(ctx, key)
	if err != nil {
		return false, err
	}
	conn := node.Conn()
	defer conn.Close()
	seen, err := setNX(ctx, conn, key, at)
	if err != nil {
		s.reloadSlots()
		return false, err
	}
	if seen {
		return true, nil // nothing was written
	}
	acks, err := conn.Wait(ctx, s.replicas, s.replicaTimeout).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: waiting for replicas: %w", err)
	}
	if acks < int64(s.replicas) {
		return false, fmt.Errorf("redisstore: %d of %d replicas of %s acknowledged the DPoP proof's record within %v: %w",
			acks, s.replicas, node.Options().Addr, s.replicaTimeout, ErrTooFewReplicas)
	}
	return false, nil
}

// setNX sets key to 1 unless it exists, expiring at the Unix millisecond
// at, and reports whether it existed.
func setNX(ctx context.Context, c redis.Cmdable, key string, at int64) (bool, error) {
	err := c.SetArgs(ctx, key, "1", redis.SetArgs{Mode: "NX", ExpireAt: time.UnixMilli(at)}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("redisstore: recording a DPoP proof: %w", err)
	}
	return false, nil
}
