package manager

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// eventLog collects the events of a Manager.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) take() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// TestRevocationEvents checks that every call of the revocation store by
// Verify is one EventRevocationCheck with its outcome: an answer, an
// outage (also when failing open), a caller that gave up during the call.
func TestRevocationEvents(t *testing.T) {
	clock := newMovableClock()
	mem, err := revocation.NewMemoryStore(revocation.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	store := &hangingStore{Store: mem}
	var log eventLog
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now),
		WithRevocation(store), WithRevocationFailOpen(nil), WithEvents(log.add))
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	mustVerify(t, m, tok.Signed) // cold
	mustVerify(t, m, tok.Signed) // warm: the store is asked again
	events := log.take()
	if len(events) != 2 {
		t.Fatalf("events = %+v, want 2 revocation checks", events)
	}
	for _, e := range events {
		if e.Kind != EventRevocationCheck || e.Err != nil || e.Duration < 0 || e.Keys != 0 {
			t.Errorf("event = %+v, want a successful revocation check", e)
		}
	}

	store.hang.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	_, err = m.Verify(ctx, tok.Signed)
	cancel()
	if err == nil {
		t.Fatal("Verify() with a caller that gave up: no error")
	}
	events = log.take()
	if len(events) != 1 || events[0].Kind != EventRevocationCheck ||
		!errors.Is(events[0].Err, context.DeadlineExceeded) || !errors.Is(events[0].Err, ErrRevocationUnavailable) {
		t.Fatalf("events = %+v, want one check failed by the caller's deadline", events)
	}

	down := &hangingStore{Store: mem, down: true}
	m2 := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now),
		WithRevocation(down), WithRevocationFailOpen(nil), WithEvents(log.add))
	mustVerify(t, m2, tok.Signed) // fails open
	events = log.take()
	if len(events) != 1 || !errors.Is(events[0].Err, ErrRevocationUnavailable) || errors.Is(events[0].Err, context.Canceled) {
		t.Fatalf("events = %+v, want one failed check", events)
	}
}

// TestEventsCostNothingWarm checks that a Manager with WithEvents still
// verifies a kept token without allocating, and reports no event where
// nothing was fetched or asked.
func TestEventsCostNothingWarm(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	var log eventLog
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithEvents(log.add))
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, m, tok.Signed)
	if allocs := testing.AllocsPerRun(100, func() { mustVerify(t, m, tok.Signed) }); allocs != 0 {
		t.Errorf("warm Verify with WithEvents allocates %v times, want 0", allocs)
	}
	if events := log.take(); len(events) != 0 {
		t.Errorf("events without store or JWK Set: %+v", events)
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{EventJWKSFetch: "jwks_fetch", EventRevocationCheck: "revocation_check", 0: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("EventKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestJWKSFetchEvents checks that each fetch of the JWK Set is one
// EventJWKSFetch: the first with the set's key count, a refresh for an
// unknown kid that fails with its error, one that succeeds with the count.
func TestJWKSFetchEvents(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	if err := publisher.AddKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t, publisher.JWKSHandler())
	var log eventLog
	m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSRefreshUnknownKID(time.Millisecond), WithEvents(log.add))
	if events := log.take(); len(events) != 1 || events[0].Kind != EventJWKSFetch || events[0].Err != nil || events[0].Keys != 2 {
		t.Fatalf("events of Open = %+v, want one fetch of 2 keys", events)
	}

	srv.mode.Store(serveError)
	unknown := craft(t, "ES256", k1, kidHeader("ES256", randomKID()), claimsWith(nil))
	if verifies(m, unknown) {
		t.Fatal("a token with an unknown kid verified")
	}
	if events := log.take(); len(events) != 1 || events[0].Kind != EventJWKSFetch || events[0].Err == nil {
		t.Fatalf("events of a failed refresh = %+v, want one failed fetch", events)
	}

	srv.mode.Store(serveUp)
	time.Sleep(5 * time.Millisecond) // the rate limit's next turn
	if verifies(m, unknown) {
		t.Fatal("a token with an unknown kid verified")
	}
	if events := log.take(); len(events) != 1 || events[0].Err != nil || events[0].Keys != 2 {
		t.Fatalf("events of a refresh = %+v, want one fetch of 2 keys", events)
	}

	// A first fetch that fails is reported too.
	var failed eventLog
	srv.mode.Store(serveError)
	if _, err := openTestRemote(t, context.Background(), srv.URL, "ES256", WithEvents(failed.add)); err == nil {
		t.Fatal("Open() of a failing JWK Set: no error")
	}
	if events := failed.take(); len(events) != 1 || events[0].Kind != EventJWKSFetch || events[0].Err == nil {
		t.Fatalf("events of a failed Open = %+v, want one failed fetch", events)
	}
}
