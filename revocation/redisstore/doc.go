// Package redisstore is a revocation.Store on Redis, shared by every
// instance of a service: a token revoked through one instance is refused by
// all, and a refresh token is exchanged once across all of them.
//
//	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
//	store, err := redisstore.New(ctx, client, redisstore.WithKeyPrefix("orders:jwt:"))
//	m, err := manager.New(cfg, manager.WithRevocation(store))
//	tok, err := m.Verify(ctx, signed) // one MGET; errors.Is(err, manager.ErrRevoked)
//
// A Store is also a dpop.ReplayCache: given to dpop.WithReplayCache, it
// makes every instance refuse a DPoP proof that another instance accepted
// (Seen: one SET NX PXAT per proof, under <prefix>dpop:<id>, expiring with
// the proof's window).
//
// It takes a redis.UniversalClient: a single server, a Sentinel failover
// client or a Redis Cluster. Each operation touches one subject's
// keys only, and those share a hash tag, so they sit on one cluster slot:
//
//	<prefix>{s:<subject>}:rev:<id>        a revoked jti or login family
//	<prefix>{s:<subject>}:before          Unix milliseconds: tokens issued earlier are revoked
//	<prefix>{s:<subject>}:fam:<family>    the refresh token of the login that may be exchanged next
//
// where <subject> is the subject in unpadded base64url, so that any subject,
// the empty one included, makes a valid and distinct tag. Every key expires
// with the tokens it covers (a Redis TTL in milliseconds); nothing needs
// cleaning up. A login holds one key however often its refresh token
// rotates: a client that refreshes without end does not fill Redis.
//
// Verify costs one MGET round trip; revoking costs one script call;
// exchanging a refresh token is one script call, a compare-and-set of the
// family's key. The server's clock is not consulted: TTLs are computed from
// the client's clock.
//
// A round trip is most of a warm authenticated call (a warm Verify without
// a store takes about a microsecond; one on loopback Redis, tens to hundreds
// of microseconds). WithLocalCache(d) trades it for a stated delay: an
// instance answers "not revoked" from memory for up to d after it asked
// Redis, so a revocation made through another instance is refused by this
// one at most d later; its own revocations at once. It is off by default.
//
// # What Redis must promise
//
// New refuses a Redis that may lose revocations without saying so:
//
//   - maxmemory-policy must be noeviction on every node (ErrEvictionPolicy;
//     WithEvictionPolicyAllowed accepts another). Every key has a TTL, so
//     the volatile-* policies evict them as the allkeys-* ones do. With
//     noeviction a full Redis refuses writes: a logout then fails loudly
//     (manager.ErrRevocationUnavailable) instead of being forgotten.
//   - With WithReplicaAcks, every write waits (WAIT) until that many
//     replicas of its master have it, and each master must have them
//     connected (ErrTooFewReplicas). Only then does a revocation survive a
//     failover: Redis replicates asynchronously, and a master that dies
//     right after a write takes it along unless a replica had it.
//
// For restarts of the whole deployment, run Redis with appendonly yes; for
// a Cluster, cluster-require-full-coverage yes (the default), so that while
// a master's slots have no owner every node refuses, and Verify fails
// closed with manager.ErrRevocationUnavailable. Don't read from replicas
// (the ReadOnly, RouteByLatency and RouteRandomly cluster options): a
// replica a write has not reached yet answers "not revoked".
package redisstore
