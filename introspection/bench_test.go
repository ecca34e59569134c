package introspection_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"testing"

	"github.com/protojwt/protojwt/introspection"
	"github.com/protojwt/protojwt/manager"
)

// BenchmarkWarm compares a warm call of each kind of token: a JWT verified
// before (a Manager's cache) and an opaque token introspected before (the
// Introspector's cache), alone and through a Router. The opaque token is
// 43 characters, as oidc-provider's; the JWT an RS256 auth token with a
// scope and a custom claim. Compare introspected with jwt, and
// router/opaque with router/jwt, over interleaved -count rounds.
func BenchmarkWarm(b *testing.B) {
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	m, err := manager.New(manager.Config{Issuer: "https://jwt.test", Algorithm: "RS256", PrivateKey: key})
	if err != nil {
		b.Fatal(err)
	}
	signed, err := m.AuthToken("alice", "orders:read orders:write", map[string]any{"tenant": "acme"})
	if err != nil {
		b.Fatal(err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	opaque := base64.RawURLEncoding.EncodeToString(raw[:])
	s := newServer(b)
	s.add(opaque, map[string]any{"sub": "alice", "scope": "orders:read orders:write", "tenant": "acme", "client_id": "web"})
	in, err := introspection.New(ctx, introspection.Config{Endpoint: s.endpoint(), ClientID: s.clientID, ClientSecret: s.secret})
	if err != nil {
		b.Fatal(err)
	}
	router, err := introspection.NewRouter(m, in)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		v     manager.Verifier
		token string
	}{
		{"jwt", m, signed.Signed},
		{"introspected", in, opaque},
		{"router/jwt", router, signed.Signed},
		{"router/opaque", router, opaque},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, err := bc.v.Verify(ctx, bc.token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.v.Verify(ctx, bc.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if n := s.calls.Load(); n != 1 {
		b.Fatalf("%d requests to the endpoint, want 1: the warm calls must be cached", n)
	}
}
