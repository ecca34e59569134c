// Package revocation defines the Store a manager.Manager consults to refuse
// revoked tokens and to rotate refresh tokens, and [MemoryStore], a Store for
// one process. The module github.com/protojwt/protojwt/revocation/redisstore
// has a Store that many instances share.
//
//	store, err := revocation.NewMemoryStore() // or redisstore.New(ctx, redisClient)
//	m, err := manager.New(cfg, manager.WithRevocation(store))
//
//	tok, err := m.Verify(ctx, signed)   // errors.Is(err, manager.ErrRevoked)
//	err = m.Revoke(ctx, tok)            // logout; a refresh token ends its login
//	err = m.RevokeSubject(ctx, "alice") // sign out everywhere
//	auth, refresh, err := m.RotateRefreshToken(ctx, oldRefresh, grant)
//
// A Store holds only the exceptions: revoked token ids, per-subject cut-off
// times and the current refresh token of each rotating login (one record per
// login, however often it rotates), each until the tokens it covers expire.
// Tokens nobody revoked cost one lookup and no write.
package revocation
