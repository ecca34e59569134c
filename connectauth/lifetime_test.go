package connectauth_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// fakeClock is a clock that tests move forward.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// openChat opens a Chat stream under p with the signed token and returns a
// function that sends one message from sender and returns the error of
// its reply: the denial that ended the stream, or nil.
func openChat(t *testing.T, p protocol, ts *testServer, signed string) func(sender string) error {
	t.Helper()
	stream := p.openChat(t, ts, []string{bearer(signed)})
	return func(sender string) error {
		if err := stream.Send(&testpb.ChatRequest{Sender: sender, Text: "hi"}); err != nil {
			_, err = stream.Recv() // the error that ended the stream
			return err
		}
		_, err := stream.Recv()
		return err
	}
}

// TestStreamOutlivesToken is the attack of an open stream kept beyond its
// token's life: every message after expiry, and every message after a
// revocation once the recheck interval passed, is refused and the stream
// ends, under every protocol.
func TestStreamOutlivesToken(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			t.Run("expired", func(t *testing.T) {
				clock := &fakeClock{}
				m := newManagerWith(t, manager.Config{Issuer: testIssuer, Algorithm: "HS256", Secret: []byte(testSecret), AuthMaxAge: time.Hour},
					manager.WithClock(clock.now))
				ts := startServer(t, m, connectauth.WithClock(clock.now))
				send := openChat(t, p, ts, authToken(t, m, "alice", nil, nil))
				if err := send("alice"); err != nil {
					t.Fatalf("first message: %v", err)
				}
				clock.advance(59 * time.Minute)
				if err := send("alice"); err != nil {
					t.Fatalf("message before expiry: %v", err)
				}
				clock.advance(2 * time.Minute)
				checkDenial(t, send("alice"), connect.CodeUnauthenticated, protojwt.ReasonTokenExpired)
				checkDenial(t, send("alice"), connect.CodeUnauthenticated, protojwt.ReasonTokenExpired)
			})
			t.Run("revoked subject, rechecked after the interval", func(t *testing.T) {
				clock := &fakeClock{}
				m := newManager(t, manager.WithClock(clock.now), manager.WithRevocation(revocationStore(t)))
				ts := startServer(t, m, connectauth.WithClock(clock.now), connectauth.WithStreamRecheck(time.Minute))
				send := openChat(t, p, ts, authToken(t, m, "alice", nil, nil))
				if err := send("alice"); err != nil {
					t.Fatalf("first message: %v", err)
				}
				clock.advance(time.Second)
				if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
					t.Fatalf("RevokeSubject: %v", err)
				}
				if err := send("alice"); err != nil {
					t.Fatalf("a message within the recheck interval: %v", err)
				}
				clock.advance(time.Minute)
				checkDenial(t, send("alice"), connect.CodeUnauthenticated, protojwt.ReasonTokenRevoked)
			})
			t.Run("revoked token, recheck on every message", func(t *testing.T) {
				m := newManager(t, manager.WithRevocation(revocationStore(t)))
				ts := startServer(t, m, connectauth.WithStreamRecheck(0))
				signed := authToken(t, m, "alice", nil, nil)
				send := openChat(t, p, ts, signed)
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
				checkDenial(t, send("alice"), connect.CodeUnauthenticated, protojwt.ReasonTokenRevoked)
			})
			t.Run("a valid token goes on", func(t *testing.T) {
				m := newManager(t)
				ts := startServer(t, m, connectauth.WithStreamRecheck(0))
				send := openChat(t, p, ts, authToken(t, m, "alice", nil, nil))
				for i := range 5 {
					if err := send("alice"); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
				}
			})
		})
	}
}
