package rpctest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/manager"
)

// StreamSettings are the adapter options of a stream lifetime scenario.
type StreamSettings struct {
	// Now is the clock of stream checks (the adapter's WithClock); nil
	// keeps the adapter's default.
	Now func() time.Time
	// Recheck is the interval of WithStreamRecheck; nil keeps the
	// adapter's default.
	Recheck *time.Duration
}

// RunStreamOutlivesToken is the attack of an open stream kept beyond its
// token's life: every message after expiry, and every message after a
// revocation once the recheck interval passed, is refused and the stream
// ends. start returns a Client of a new server whose adapter verifies with
// m and has the settings s; each scenario is a subtest of t.
func RunStreamOutlivesToken(t *testing.T, start func(t *testing.T, m *manager.Manager, s StreamSettings) Client) {
	t.Run("expired", func(t *testing.T) {
		clock := &FakeClock{}
		m := NewManagerWith(t, manager.Config{Issuer: Issuer, Algorithm: "HS256", Secret: []byte(Secret), AuthMaxAge: time.Hour},
			manager.WithClock(clock.Now))
		send := start(t, m, StreamSettings{Now: clock.Now}).Sender(t, []string{Bearer(AuthToken(t, m, "alice", nil, nil))})
		if err := send("alice"); err != nil {
			t.Fatalf("first message: %v", err)
		}
		clock.Advance(59 * time.Minute)
		if err := send("alice"); err != nil {
			t.Fatalf("message before expiry: %v", err)
		}
		clock.Advance(2 * time.Minute)
		CheckDenial(t, send("alice"), codes.Unauthenticated, protojwt.ReasonTokenExpired)
		CheckDenial(t, send("alice"), codes.Unauthenticated, protojwt.ReasonTokenExpired)
	})
	t.Run("revoked subject, rechecked after the interval", func(t *testing.T) {
		clock := &FakeClock{}
		m := NewManager(t, manager.WithClock(clock.Now), manager.WithRevocation(RevocationStore(t)))
		send := start(t, m, StreamSettings{Now: clock.Now, Recheck: new(time.Minute)}).Sender(t, []string{Bearer(AuthToken(t, m, "alice", nil, nil))})
		if err := send("alice"); err != nil {
			t.Fatalf("first message: %v", err)
		}
		clock.Advance(time.Second)
		if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
			t.Fatalf("RevokeSubject: %v", err)
		}
		if err := send("alice"); err != nil {
			t.Fatalf("a message within the recheck interval: %v", err)
		}
		clock.Advance(time.Minute)
		CheckDenial(t, send("alice"), codes.Unauthenticated, protojwt.ReasonTokenRevoked)
	})
	t.Run("revoked token, recheck on every message", func(t *testing.T) {
		m := NewManager(t, manager.WithRevocation(RevocationStore(t)))
		signed := AuthToken(t, m, "alice", nil, nil)
		send := start(t, m, StreamSettings{Recheck: new(time.Duration(0))}).Sender(t, []string{Bearer(signed)})
		if err := send("alice"); err != nil {
			t.Fatalf("first message: %v", err)
		}
		tok, err := m.Verify(context.Background(), signed)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Revoke(context.Background(), tok); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		CheckDenial(t, send("alice"), codes.Unauthenticated, protojwt.ReasonTokenRevoked)
	})
	t.Run("a valid token goes on", func(t *testing.T) {
		m := NewManager(t)
		send := start(t, m, StreamSettings{Recheck: new(time.Duration(0))}).Sender(t, []string{Bearer(AuthToken(t, m, "alice", nil, nil))})
		for i := range 5 {
			if err := send("alice"); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
	})
}
