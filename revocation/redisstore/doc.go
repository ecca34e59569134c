// Package redisstore is a revocation.Store on Redis, shared by every
// instance of a service: a token revoked through one instance is refused by
// all, and a refresh token is exchanged once across all of them.
//
//	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
//	store, err := redisstore.New(client, redisstore.WithKeyPrefix("orders:jwt:"))
//	m, err := manager.New(cfg, manager.WithRevocation(store))
//	tok, err := m.Verify(ctx, signed) // one MGET; errors.Is(err, manager.ErrRevoked)
//
// It takes a redis.UniversalClient: a single server, a Sentinel failover
// client or a Redis Cluster. Each operation touches one subject's
// keys only, and those share a hash tag, so they sit on one cluster slot:
//
//	<prefix>{s:<subject>}:rev:<id>    a revoked jti or login family
//	<prefix>{s:<subject>}:before      Unix milliseconds: tokens issued earlier are revoked
//	<prefix>{s:<subject>}:used:<id>   a used refresh token
//
// where <subject> is the subject in unpadded base64url, so that any subject,
// the empty one included, makes a valid and distinct tag. Every key expires with the tokens it covers
// (a Redis TTL in milliseconds); nothing needs cleaning up. Verify costs one
// MGET round trip; revoking costs one script call; marking a refresh token
// used is one SET NX. The server's clock is not consulted: TTLs are computed
// from the client's clock.
package redisstore
