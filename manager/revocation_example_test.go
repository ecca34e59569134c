package manager_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// newManagerWithStore returns a Manager that consults an in-memory
// revocation store.
func newManagerWithStore() *manager.Manager {
	store, err := revocation.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	}, manager.WithRevocation(store))
	if err != nil {
		log.Fatal(err)
	}
	return m
}

// Exchange a refresh token for new tokens; a second exchange of the same
// token ends the login.
func ExampleManager_RotateRefreshToken() {
	m := newManagerWithStore()
	ctx := context.Background()

	// At login.
	login, err := m.RefreshToken("alice", nil)
	if err != nil {
		log.Fatal(err)
	}

	// The user's authorizations now, as the refresh route reads them.
	grant := func(ctx context.Context, refresh *manager.Token) (any, map[string]any, error) {
		return map[string]any{"admin": refresh.Subject == "alice"}, nil, nil
	}
	auth, refresh, err := m.RotateRefreshToken(ctx, login.Signed, grant)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(auth.Type, auth.Scope, refresh.Type, refresh.Claims["fam"] == login.ID)

	// The login's refresh token again: stolen, or replayed.
	_, _, err = m.RotateRefreshToken(ctx, login.Signed, grant)
	fmt.Println(errors.Is(err, manager.ErrRefreshReuse), errors.Is(err, manager.ErrRevoked))

	// Every token of that login is now refused.
	_, err = m.Verify(ctx, auth.Signed)
	fmt.Println(errors.Is(err, manager.ErrRevoked))
	_, err = m.Verify(ctx, refresh.Signed)
	fmt.Println(errors.Is(err, manager.ErrRevoked))
	// Output:
	// auth map[admin:true] refresh true
	// true true
	// true
	// true
}

// Log out one token, then sign out everywhere.
func ExampleManager_Revoke() {
	m := newManagerWithStore()
	ctx := context.Background()
	laptop, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	phone, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}

	// Logout on the laptop: in a handler, the token of manager.FromContext.
	if err := m.Revoke(ctx, laptop); err != nil {
		log.Fatal(err)
	}
	_, err = m.Verify(ctx, laptop.Signed)
	fmt.Println("laptop:", err)
	_, err = m.Verify(ctx, phone.Signed)
	fmt.Println("phone:", err)

	// Sign out everywhere.
	if err := m.RevokeSubject(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	_, err = m.Verify(ctx, phone.Signed)
	fmt.Println("phone:", errors.Is(err, manager.ErrRevoked))
	// Output:
	// laptop: manager: verify: token is revoked: protojwt: token revoked
	// phone: <nil>
	// phone: true
}
