package manager

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// hangingStore is a revocation.Store whose Revoked, once hang is set,
// waits for the caller's ctx to end and fails as a network store would,
// with an error of its own; before, it asks the wrapped store.
type hangingStore struct {
	revocation.Store
	hang  atomic.Bool
	down  bool // Revoked fails at once: an outage
	calls atomic.Int32
}

func (s *hangingStore) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	s.calls.Add(1)
	if s.down {
		return false, errors.New("connection refused")
	}
	if !s.hang.Load() {
		return s.Store.Revoked(ctx, subject, ids, issuedAt)
	}
	<-ctx.Done()
	return false, errors.New("i/o timeout")
}

// TestCallerCancellationIsNoOutage checks that a caller that gives up
// (a short deadline, a cancelled call) can't make Verify fail open on a
// revoked token, with or without the cache, and is not reported as an
// outage; while a real outage still fails open.
func TestCallerCancellationIsNoOutage(t *testing.T) {
	clock := newMovableClock()
	mem, err := revocation.NewMemoryStore(revocation.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	store := &hangingStore{Store: mem}
	var reported atomic.Int32
	for _, cached := range []bool{true, false} {
		size := 0
		if cached {
			size = DefaultVerifyCacheSize
		}
		m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now), WithVerifyCache(size),
			WithRevocation(store), WithRevocationFailOpen(func(error) { reported.Add(1) }))
		tok, err := m.AuthToken("alice", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		store.hang.Store(false)
		mustVerify(t, m, tok.Signed) // kept, when cached
		if err := m.Revoke(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		store.hang.Store(true)

		short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err = m.Verify(short, tok.Signed)
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrRevocationUnavailable) {
			t.Errorf("cached %v, deadline: Verify(revoked) error = %v, want DeadlineExceeded and ErrRevocationUnavailable", cached, err)
		}

		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		calls := store.calls.Load()
		_, err = m.Verify(cancelled, tok.Signed)
		if err == nil || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrRevocationUnavailable) {
			t.Errorf("cached %v, cancelled: Verify(revoked) error = %v, want Canceled and ErrRevocationUnavailable", cached, err)
		}
		if store.calls.Load() != calls {
			t.Errorf("cached %v: the store was asked for a caller that had given up", cached)
		}
		if n := reported.Load(); n != 0 {
			t.Errorf("cached %v: %d cancellations reported as outages", cached, n)
		}
	}

	// A real outage, with the caller still waiting, fails open as configured.
	outage := &hangingStore{Store: mem, down: true}
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now),
		WithRevocation(outage), WithRevocationFailOpen(func(error) { reported.Add(1) }))
	tok, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(context.Background(), tok.Signed); err != nil || reported.Load() != 1 {
		t.Errorf("outage: Verify() error = %v, reports %d; want fail open, reported once", err, reported.Load())
	}
}

// TestRevokeSubjectHonoursLeeway checks that a sign-out revokes a token
// issued just before it by an instance whose clock runs fast within
// Config.Leeway, which Verify accepts, and still lets tokens issued after
// the leeway verify.
func TestRevokeSubjectHonoursLeeway(t *testing.T) {
	clock := newMovableClock()
	store, err := revocation.NewMemoryStore(revocation.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Algorithm: "HS256", Secret: testSecret, Leeway: 30 * time.Second}
	m := newTestManager(t, cfg, WithClock(clock.now), WithRevocation(store), WithVerifyCache(0))
	fast := newTestManager(t, cfg, WithClock(func() time.Time { return clock.now().Add(20 * time.Second) }), WithRevocation(store))
	early, err := fast.AuthToken("alice", nil, nil) // iat 20 s ahead of m's clock
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, m, early.Signed) // within the leeway: valid before the sign-out
	if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(context.Background(), early.Signed); !errors.Is(err, ErrRevoked) {
		t.Fatalf("token of a fast clock issued before the sign-out: error = %v, want ErrRevoked", err)
	}
	clock.add(32 * time.Second)
	later, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(context.Background(), later.Signed); err != nil {
		t.Fatalf("token issued after the sign-out and its leeway: %v", err)
	}
}
