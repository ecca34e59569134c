package revocationtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// goroutines is how many goroutines the concurrency checks start at once.
const goroutines = 100

func testConcurrentRotate(t *testing.T, h Harness) {
	s := h.New(t)
	until := h.Now().Add(time.Hour)
	if !rotate(t, s, "alice", "login", "login", "refresh-1", until) {
		t.Fatal("Rotate() of a new login = false")
	}
	// Race from the family's first token (no record yet) and from a
	// rotated one.
	for _, race := range []struct{ family, from string }{{"login-2", "login-2"}, {"login", "refresh-1"}} {
		var errs atomic.Int32
		winners := make(chan string, goroutines)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range goroutines {
			wg.Go(func() {
				<-start
				next := fmt.Sprint(race.from, "-next-", i)
				moved, err := s.Rotate(context.Background(), "alice", race.family, race.from, next, until)
				switch {
				case err != nil:
					errs.Add(1)
					t.Errorf("Rotate() error = %v", err)
				case moved:
					winners <- next
				}
			})
		}
		close(start)
		wg.Wait()
		close(winners)
		var won []string
		for next := range winners {
			won = append(won, next)
		}
		if len(won) != 1 || errs.Load() != 0 {
			t.Fatalf("family %s: %d of %d concurrent Rotate() reported true (%d errors), want exactly 1", race.family, len(won), goroutines, errs.Load())
		}
		// The winner's token is the family's current one; no loser's is.
		loser := fmt.Sprint(race.from, "-next-", 0)
		if loser == won[0] {
			loser = fmt.Sprint(race.from, "-next-", 1)
		}
		if rotate(t, s, "alice", race.family, loser, "after-loser", until) {
			t.Errorf("family %s: Rotate() from a loser's token = true", race.family)
		}
		if !rotate(t, s, "alice", race.family, won[0], "after-winner", until) {
			t.Errorf("family %s: Rotate() from the winner's token = false", race.family)
		}
	}
}

func testConcurrentRevokeAndCheck(t *testing.T, h Harness) {
	s := h.New(t)
	now := h.Now()
	until := now.Add(time.Hour)
	issued := now.Add(-time.Minute).Truncate(time.Second)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			ctx := context.Background()
			subject := fmt.Sprintf("user-%d", i%10)
			revokedID, keptID := fmt.Sprintf("revoked-%d", i), fmt.Sprintf("kept-%d", i)
			if err := s.Revoke(ctx, subject, revokedID, until); err != nil {
				t.Errorf("Revoke() error = %v", err)
				return
			}
			if i%10 == 0 {
				if err := s.RevokeSubject(ctx, "everywhere", now, until); err != nil {
					t.Errorf("RevokeSubject() error = %v", err)
				}
			}
			for _, c := range []struct {
				subject string
				id      string
				want    bool
			}{
				{subject, revokedID, true},
				{subject, keptID, false},
			} {
				got, err := s.Revoked(ctx, c.subject, []string{c.id}, issued)
				if err != nil {
					t.Errorf("Revoked() error = %v", err)
				} else if got != c.want {
					t.Errorf("Revoked(%q, %q) = %v, want %v", c.subject, c.id, got, c.want)
				}
			}
		})
	}
	wg.Wait()
	if !revoked(t, s, "everywhere", nil, issued) {
		t.Error("concurrent RevokeSubject() lost")
	}
}

func testCancelledContext(t *testing.T, h Harness) {
	s := h.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	until := h.Now().Add(time.Hour)
	calls := []struct {
		name string
		call func(revocation.Store) error
	}{
		{"Revoke", func(s revocation.Store) error { return s.Revoke(ctx, "alice", "jti-1", until) }},
		{"RevokeSubject", func(s revocation.Store) error { return s.RevokeSubject(ctx, "alice", h.Now(), until) }},
		{"Revoked", func(s revocation.Store) error {
			_, err := s.Revoked(ctx, "alice", []string{"jti-1"}, h.Now())
			return err
		}},
		{"Rotate", func(s revocation.Store) error {
			_, err := s.Rotate(ctx, "alice", "login", "login", "refresh-1", until)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(s); !errors.Is(err, context.Canceled) {
				t.Errorf("%s() with a cancelled context: error = %v, want context.Canceled", c.name, err)
			}
		})
	}
	// Nothing was recorded.
	if revoked(t, s, "alice", []string{"jti-1"}, h.Now().Add(-time.Minute)) {
		t.Error("Revoke() with a cancelled context recorded the id")
	}
	if !rotate(t, s, "alice", "login", "login", "refresh-2", until) {
		t.Error("Rotate() with a cancelled context recorded the rotation")
	}
}
