package redisstore_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation/redisstore"
)

// Share revocations between every instance of a service.
func ExampleNew() {
	// A single server; list the nodes of a Redis Cluster in Addrs the same way.
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
	defer client.Close()
	// New checks that every node answers and keeps what it is given.
	store, err := redisstore.New(context.Background(), client, redisstore.WithKeyPrefix("orders:jwt:"))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := manager.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	m, err := manager.New(cfg, manager.WithRevocation(store))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	tok, err := m.Verify(ctx, "the bearer token of a request")
	switch {
	case errors.Is(err, manager.ErrRevocationUnavailable):
		// Redis did not answer: 503, try again later.
	case err != nil:
		// Refused, revoked tokens included: 401.
	default:
		_ = m.Revoke(ctx, tok) // logout, seen at once by every instance
	}
}

// Several instances on a Redis Cluster, each write kept by a replica, and
// warm calls answered from memory for at most 2 seconds: a logout through
// one instance is refused by every other at most 2 seconds later.
func ExampleWithLocalCache() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
	})
	defer client.Close()
	store, err := redisstore.New(context.Background(), client,
		redisstore.WithKeyPrefix("orders:jwt:"),
		redisstore.WithReplicaAcks(1, time.Second),
		redisstore.WithLocalCache(2*time.Second))
	if errors.Is(err, redisstore.ErrEvictionPolicy) {
		log.Fatal(err) // set maxmemory-policy noeviction on every node
	}
	if err != nil {
		log.Fatal(err)
	}
	_ = store // manager.WithRevocation(store) on every instance
}
