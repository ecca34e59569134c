package manager

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// grantFrom returns a GrantFunc that hands out scope and claims, and
// records the refresh tokens it was asked about.
func grantFrom(scope any, claims map[string]any, asked *[]*Token) GrantFunc {
	return func(_ context.Context, refresh *Token) (any, map[string]any, error) {
		if asked != nil {
			*asked = append(*asked, refresh)
		}
		return scope, claims, nil
	}
}

func TestRotateRefreshToken(t *testing.T) {
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{AuthMaxAge: time.Minute, RefreshMaxAge: time.Hour})
	ctx := context.Background()
	login, err := m.RefreshToken("alice", map[string]any{"device": "laptop"})
	if err != nil {
		t.Fatal(err)
	}

	clock.add(10 * time.Minute)
	var asked []*Token
	scope := map[string]any{"admin": true}
	auth, refresh, err := m.RotateRefreshToken(ctx, login.Signed, grantFrom(scope, map[string]any{"tenant": "acme"}, &asked))
	if err != nil {
		t.Fatalf("RotateRefreshToken() error = %v", err)
	}
	if len(asked) != 1 || asked[0].ID != login.ID || asked[0].Subject != "alice" {
		t.Errorf("grant asked about %v, want the verified login refresh token", asked)
	}
	now := clock.now()
	if auth.Type != Auth || auth.Subject != "alice" || !auth.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Errorf("auth token = %+v", auth)
	}
	assertJSONEqual(t, auth.Scope, scope)
	if auth.Claims["tenant"] != "acme" || auth.Claims["fam"] != login.ID {
		t.Errorf("auth claims = %v, want tenant acme and fam %s", auth.Claims, login.ID)
	}
	if _, ok := auth.Claims["device"]; ok {
		t.Error("the refresh token's custom claim was put in the auth token")
	}
	if refresh.Type != Refresh || refresh.Subject != "alice" || refresh.ID == login.ID ||
		!refresh.ExpiresAt.Equal(now.Add(time.Hour)) || refresh.Scope != nil {
		t.Errorf("refresh token = %+v", refresh)
	}
	if refresh.Claims["device"] != "laptop" || refresh.Claims["fam"] != login.ID {
		t.Errorf("refresh claims = %v, want device laptop and fam %s", refresh.Claims, login.ID)
	}
	for _, tok := range []*Token{auth, refresh} {
		if got, err := m.Verify(ctx, tok.Signed); err != nil {
			t.Fatalf("Verify(new %s token) error = %v", tok.Type, err)
		} else {
			assertSameToken(t, got, tok)
		}
	}

	// The next rotation keeps the family.
	auth2, refresh2, err := m.RotateRefreshToken(ctx, refresh.Signed, nil)
	if err != nil {
		t.Fatalf("second RotateRefreshToken() error = %v", err)
	}
	if auth2.Claims["fam"] != login.ID || refresh2.Claims["fam"] != login.ID || auth2.Scope != nil {
		t.Errorf("second rotation: auth %v, refresh %v; want fam %s and no scope", auth2.Claims, refresh2.Claims, login.ID)
	}
}

func TestRotateRefreshTokenReuse(t *testing.T) {
	// Reuse of the login's token and of a rotated one: both end the login.
	for _, reuseRotated := range []bool{false, true} {
		name := map[bool]string{false: "first refresh token", true: "rotated refresh token"}[reuseRotated]
		t.Run(name, func(t *testing.T) {
			clock := newMovableClock()
			m, _ := newRevocationManager(t, clock, Config{})
			ctx := context.Background()
			login, err := m.RefreshToken("alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			other, err := m.RefreshToken("alice", nil) // another login of alice
			if err != nil {
				t.Fatal(err)
			}
			stolen := login
			sibling, current, err := m.RotateRefreshToken(ctx, login.Signed, nil)
			if err != nil {
				t.Fatal(err)
			}
			if reuseRotated {
				stolen = current
				if sibling, current, err = m.RotateRefreshToken(ctx, current.Signed, nil); err != nil {
					t.Fatal(err)
				}
			}

			auth, next, err := m.RotateRefreshToken(ctx, stolen.Signed, nil)
			if !errors.Is(err, ErrRefreshReuse) || !errors.Is(err, ErrRevoked) || auth != nil || next != nil {
				t.Fatalf("RotateRefreshToken() of a used token = %v, %v, %v; want ErrRefreshReuse", auth, next, err)
			}
			assertNoTokenText(t, err, stolen.Signed)

			for name, tok := range map[string]*Token{
				"sibling auth token": sibling, "new refresh token": current, "used refresh token": stolen, "login refresh token": login,
			} {
				if _, err := m.Verify(ctx, tok.Signed); !errors.Is(err, ErrRevoked) {
					t.Errorf("Verify(%s) error = %v, want ErrRevoked", name, err)
				}
			}
			if _, _, err := m.RotateRefreshToken(ctx, current.Signed, nil); !errors.Is(err, ErrRevoked) {
				t.Errorf("RotateRefreshToken(new refresh token) error = %v, want ErrRevoked", err)
			}
			if _, err := m.Verify(ctx, other.Signed); err != nil {
				t.Errorf("Verify(token of another login) error = %v", err)
			}
		})
	}
}

func TestRotateRefreshTokenRefusals(t *testing.T) {
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{})
	ctx := context.Background()
	authTok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	errGrant := errors.New("account disabled")
	verifyOnly := newTestManager(t, Config{Algorithm: "ES256", PublicKey: testKey(t, "p256").Public()},
		WithRevocation(newStubStore(t, clock)))
	markFails := newStubStore(t, clock)
	markFails.markErr = errStoreDown
	withMarkFails := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now),
		WithRevocation(markFails), WithRevocationFailOpen(nil))
	reuseRevokeFails := newStubStore(t, clock)
	withReuseRevokeFails := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now),
		WithRevocation(reuseRevokeFails))
	usedOnce := mustRefresh(t, withReuseRevokeFails)
	if _, _, err := withReuseRevokeFails.RotateRefreshToken(ctx, usedOnce, nil); err != nil {
		t.Fatal(err)
	}
	reuseRevokeFails.revokeErr = errStoreDown

	tests := []struct {
		name     string
		m        *Manager
		refresh  string
		grant    GrantFunc
		wantErrs []error
	}{
		{"auth token", m, authTok.Signed, nil, []error{ErrTokenType}},
		{"empty", m, "", nil, []error{ErrNoToken}},
		{"garbage", m, "a.b.c", nil, []error{ErrMalformed}},
		{"bad signature", m, flipSignatureBit(t, mustRefresh(t, m)), nil, []error{ErrSignature}},
		{"expired", m, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": "refresh", "exp": testNow.Unix() - 1})), nil, []error{ErrExpired}},
		{"no jti", m, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": "refresh"}, "jti")), nil, []error{ErrMalformed}},
		{"grant refuses", m, mustRefresh(t, m), func(context.Context, *Token) (any, map[string]any, error) {
			return nil, nil, errGrant
		}, []error{errGrant}},
		{"grant returns a reserved claim", m, mustRefresh(t, m), grantFrom(nil, map[string]any{"sub": "root"}, nil), []error{ErrReservedClaim}},
		{"grant returns a fam claim", m, mustRefresh(t, m), grantFrom(nil, map[string]any{"fam": "other"}, nil), []error{ErrReservedClaim}},
		{"grant returns a scope that is not JSON", m, mustRefresh(t, m), grantFrom(make(chan int), nil, nil), nil},
		{"verify-only manager", verifyOnly, craft(t, "ES256", testKey(t, "p256"), nil, claimsWith(map[string]any{"type": "refresh"})), nil, []error{ErrConfig}},
		{"store fails to mark, even failing open", withMarkFails, mustRefresh(t, withMarkFails), nil, []error{ErrRevocationUnavailable, errStoreDown}},
		{"reuse, store fails to revoke", withReuseRevokeFails, usedOnce, nil, []error{ErrRefreshReuse, ErrRevocationUnavailable, errStoreDown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, next, err := tt.m.RotateRefreshToken(ctx, tt.refresh, tt.grant)
			if err == nil || auth != nil || next != nil {
				t.Fatalf("RotateRefreshToken() = %v, %v, %v; want an error", auth, next, err)
			}
			for _, want := range tt.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("error = %v, want %v", err, want)
				}
			}
			if tt.refresh != "" {
				assertNoTokenText(t, err, tt.refresh)
			}
		})
	}
}

func TestRotateRefreshTokenRefusalLeavesTokenUnused(t *testing.T) {
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{})
	ctx := context.Background()
	refresh := mustRefresh(t, m)
	errGrant := errors.New("user table unavailable")
	refusals := []GrantFunc{
		func(context.Context, *Token) (any, map[string]any, error) { return nil, nil, errGrant },
		grantFrom(nil, map[string]any{"iss": "x"}, nil),
	}
	for _, grant := range refusals {
		if _, _, err := m.RotateRefreshToken(ctx, refresh, grant); err == nil {
			t.Fatal("RotateRefreshToken() with a refusing grant succeeded")
		}
	}
	if _, _, err := m.RotateRefreshToken(ctx, refresh, nil); err != nil {
		t.Errorf("RotateRefreshToken() after refused grants: error = %v, want the token still unused", err)
	}
}

func TestRotateRefreshTokenConcurrent(t *testing.T) {
	const goroutines = 100
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{})
	ctx := context.Background()
	// Each goroutine rotates its own login twice; half of them also race a
	// second exchange of the same token.
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			login, err := m.RefreshToken("alice", nil)
			if err != nil {
				t.Error(err)
				return
			}
			_, next, err := m.RotateRefreshToken(ctx, login.Signed, nil)
			if err != nil {
				t.Errorf("RotateRefreshToken() error = %v", err)
				return
			}
			if i%2 == 1 {
				if _, _, err := m.RotateRefreshToken(ctx, next.Signed, nil); err != nil {
					t.Errorf("RotateRefreshToken() error = %v", err)
				}
				return
			}
			results := make(chan error, 2)
			for range 2 {
				wg.Go(func() {
					_, _, err := m.RotateRefreshToken(ctx, next.Signed, nil)
					results <- err
				})
			}
			var wins int
			for range 2 {
				err := <-results
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, ErrRevoked):
					t.Errorf("racing RotateRefreshToken() error = %v", err)
				}
			}
			if wins != 1 {
				t.Errorf("%d of 2 racing rotations won, want 1", wins)
			}
		})
	}
	wg.Wait()
}

func TestRotateRefreshTokenBoundedRecords(t *testing.T) {
	// One client refreshing without end used to write a record per
	// rotation, until the store was full and refused every other user's
	// logout and refresh. Under the race detector, fewer rotations fill a
	// smaller store.
	rotations, bound := 100_000, revocation.DefaultMaxEntries
	if raceEnabled {
		rotations, bound = 3_000, 1_000
	}
	clock := newMovableClock()
	store, err := revocation.NewMemoryStore(revocation.WithClock(clock.now), revocation.WithMaxEntries(bound))
	if err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now), WithRevocation(store))
	ctx := context.Background()
	login, err := m.RefreshToken("mallory", nil)
	if err != nil {
		t.Fatal(err)
	}
	refresh := login
	for i := range rotations {
		if _, refresh, err = m.RotateRefreshToken(ctx, refresh.Signed, nil); err != nil {
			t.Fatalf("rotation %d: RotateRefreshToken() error = %v", i, err)
		}
	}
	if n := store.Len(); n != 1 {
		t.Errorf("%d rotations of one login left %d records, want 1", rotations, n)
	}

	alice, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(ctx, alice); err != nil {
		t.Errorf("Revoke() of another user's token: error = %v", err)
	}
	if _, err := m.Verify(ctx, alice.Signed); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify() after logout: error = %v, want ErrRevoked", err)
	}
	bob, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeSubject(ctx, "bob"); err != nil {
		t.Errorf("RevokeSubject() of another user: error = %v", err)
	}
	if _, err := m.Verify(ctx, bob.Signed); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify() after RevokeSubject: error = %v, want ErrRevoked", err)
	}
	carol, err := m.RefreshToken("carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.RotateRefreshToken(ctx, carol.Signed, nil); err != nil {
		t.Errorf("RotateRefreshToken() of another user: error = %v", err)
	}
	// Every earlier token of the long login is still reuse.
	if _, _, err := m.RotateRefreshToken(ctx, login.Signed, nil); !errors.Is(err, ErrRefreshReuse) {
		t.Errorf("RotateRefreshToken() of the first token after %d rotations: error = %v, want ErrRefreshReuse", rotations, err)
	}
	if _, err := m.Verify(ctx, refresh.Signed); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify() of the current token after reuse: error = %v, want ErrRevoked", err)
	}
	if n := store.Len(); n > 5 {
		t.Errorf("%d records after the checks, want at most 5", n)
	}
}
