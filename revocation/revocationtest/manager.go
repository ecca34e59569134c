package revocationtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// newManager returns an HS256 Manager that consults s, on the store's
// clock moved by shift.
func newManager(t *testing.T, h Harness, s revocation.Store, shift *atomic.Int64) *manager.Manager {
	t.Helper()
	m, err := manager.New(manager.Config{
		Issuer:    "https://issuer.test",
		Algorithm: "HS256",
		Secret:    []byte("revocationtest-secret-0123456789"),
	}, manager.WithRevocation(s), manager.WithClock(func() time.Time {
		return h.Now().Add(time.Duration(shift.Load()))
	}))
	if err != nil {
		t.Fatalf("manager.New() error = %v", err)
	}
	return m
}

// grantRead is the GrantFunc of the checks: every subject may read.
func grantRead(context.Context, *manager.Token) (any, map[string]any, error) {
	return "read", nil, nil
}

func testManagerRevocation(t *testing.T, h Harness) {
	s := h.New(t)
	var shift atomic.Int64
	m := newManager(t, h, s, &shift)
	ctx := context.Background()

	// Many goroutines issue, revoke every other token, and verify.
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			tok, err := m.AuthToken(fmt.Sprintf("user-%d", i%10), nil, nil)
			if err != nil {
				t.Errorf("AuthToken() error = %v", err)
				return
			}
			if i%2 == 0 {
				if err := m.Revoke(ctx, tok); err != nil {
					t.Errorf("Revoke() error = %v", err)
					return
				}
			}
			_, err = m.Verify(ctx, tok.Signed)
			if i%2 == 0 && !errors.Is(err, manager.ErrRevoked) {
				t.Errorf("Verify() of a revoked token: error = %v, want ErrRevoked", err)
			}
			if i%2 == 1 && err != nil {
				t.Errorf("Verify() of a token not revoked: error = %v", err)
			}
		})
	}
	wg.Wait()

	// Sign out everywhere: alice's tokens go, bob's stay, a later login works.
	alice, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatalf("RevokeSubject() error = %v", err)
	}
	if _, err := m.Verify(ctx, alice.Signed); !errors.Is(err, manager.ErrRevoked) {
		t.Errorf("Verify() after RevokeSubject: error = %v, want ErrRevoked", err)
	}
	if _, err := m.Verify(ctx, bob.Signed); err != nil {
		t.Errorf("Verify() of another subject's token: error = %v", err)
	}
	shift.Store(int64(2 * time.Second))
	later, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, later.Signed); err != nil {
		t.Errorf("Verify() of a token issued after RevokeSubject: error = %v", err)
	}
}

func testManagerRotationRace(t *testing.T, h Harness) {
	s := h.New(t)
	var shift atomic.Int64
	m := newManager(t, h, s, &shift)
	ctx := context.Background()
	login, err := m.RefreshToken("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Race on a rotated token, which carries the family claim.
	_, refresh, err := m.RotateRefreshToken(ctx, login.Signed, grantRead)
	if err != nil {
		t.Fatalf("RotateRefreshToken() error = %v", err)
	}

	type result struct {
		auth, refresh *manager.Token
		err           error
	}
	results := make(chan result, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			<-start
			auth, next, err := m.RotateRefreshToken(ctx, refresh.Signed, grantRead)
			results <- result{auth, next, err}
		})
	}
	close(start)
	wg.Wait()
	close(results)

	var winners []result
	reuses := 0
	for r := range results {
		switch {
		case r.err == nil:
			winners = append(winners, r)
		case errors.Is(r.err, manager.ErrRefreshReuse):
			reuses++
		case !errors.Is(r.err, manager.ErrRevoked):
			// ErrRefreshReuse wraps ErrRevoked; a loser that verified
			// after the family was revoked sees ErrRevoked alone.
			t.Errorf("RotateRefreshToken() error = %v, want ErrRefreshReuse or ErrRevoked", r.err)
		}
	}
	if len(winners) != 1 || reuses == 0 {
		t.Fatalf("%d of %d concurrent rotations of one token succeeded and %d saw reuse, want exactly 1 and at least 1",
			len(winners), goroutines, reuses)
	}
	// The losers revoked the login: the winner's tokens and every earlier one.
	for name, signed := range map[string]string{
		"winner's auth token":    winners[0].auth.Signed,
		"winner's refresh token": winners[0].refresh.Signed,
		"raced refresh token":    refresh.Signed,
		"login's refresh token":  login.Signed,
	} {
		if _, err := m.Verify(ctx, signed); !errors.Is(err, manager.ErrRevoked) {
			t.Errorf("Verify(%s) error = %v, want ErrRevoked", name, err)
		}
	}
}

// managerRotations is how many times testManagerRotationBounded rotates
// one login through a Manager.
const managerRotations = 300

func testManagerRotationBounded(t *testing.T, h Harness) {
	s := h.New(t)
	var shift atomic.Int64
	m := newManager(t, h, s, &shift)
	ctx := context.Background()
	var before int
	if h.Records != nil {
		before = h.Records(t, s)
	}
	login, err := m.RefreshToken("mallory", nil)
	if err != nil {
		t.Fatal(err)
	}
	refresh := login
	for i := range managerRotations {
		if _, refresh, err = m.RotateRefreshToken(ctx, refresh.Signed, nil); err != nil {
			t.Fatalf("rotation %d: RotateRefreshToken() error = %v", i, err)
		}
	}
	if h.Records != nil {
		if n := h.Records(t, s) - before; n > 1 {
			t.Errorf("%d rotations of one login left %d records, want 1", managerRotations, n)
		}
	}

	// Everyone else is still served: logout, sign-out everywhere, refresh.
	alice, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(ctx, alice); err != nil {
		t.Errorf("Revoke() after many rotations: error = %v", err)
	}
	if _, err := m.Verify(ctx, alice.Signed); !errors.Is(err, manager.ErrRevoked) {
		t.Errorf("Verify() of a logged-out token after many rotations: error = %v, want ErrRevoked", err)
	}
	bob, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeSubject(ctx, "bob"); err != nil {
		t.Errorf("RevokeSubject() after many rotations: error = %v", err)
	}
	if _, err := m.Verify(ctx, bob.Signed); !errors.Is(err, manager.ErrRevoked) {
		t.Errorf("Verify() after RevokeSubject after many rotations: error = %v, want ErrRevoked", err)
	}
	carol, err := m.RefreshToken("carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.RotateRefreshToken(ctx, carol.Signed, nil); err != nil {
		t.Errorf("RotateRefreshToken() of another login after many rotations: error = %v", err)
	}
	// The long login is still guarded: an old token of it is reuse.
	if _, _, err := m.RotateRefreshToken(ctx, login.Signed, nil); !errors.Is(err, manager.ErrRefreshReuse) {
		t.Errorf("RotateRefreshToken() of the login's first token after many rotations: error = %v, want ErrRefreshReuse", err)
	}
	if _, err := m.Verify(ctx, refresh.Signed); !errors.Is(err, manager.ErrRevoked) {
		t.Errorf("Verify() of the current token after reuse: error = %v, want ErrRevoked", err)
	}
}
