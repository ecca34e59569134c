package rpctest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

const (
	// Issuer is the issuer of NewManager's tokens.
	Issuer = "protojwt-test"
	// Secret is NewManager's HS256 key.
	Secret = "0123456789abcdef0123456789abcdef-test-secret"
)

// NewManager returns the manager the tables' tokens come from: HS256 with
// Secret, issuer Issuer, and opts.
func NewManager(tb testing.TB, opts ...manager.Option) *manager.Manager {
	tb.Helper()
	return NewManagerWith(tb, manager.Config{Issuer: Issuer, Algorithm: "HS256", Secret: []byte(Secret)}, opts...)
}

// NewManagerWith returns a manager of cfg and opts, failing tb on error.
func NewManagerWith(tb testing.TB, cfg manager.Config, opts ...manager.Option) *manager.Manager {
	tb.Helper()
	m, err := manager.New(cfg, opts...)
	if err != nil {
		tb.Fatalf("manager.New: %v", err)
	}
	return m
}

// AuthToken returns a signed auth token of sub from m.
func AuthToken(tb testing.TB, m *manager.Manager, sub string, scope any, claims map[string]any) string {
	tb.Helper()
	tok, err := m.AuthToken(sub, scope, claims)
	if err != nil {
		tb.Fatalf("AuthToken: %v", err)
	}
	return tok.Signed
}

// RefreshToken returns a signed refresh token of sub from m.
func RefreshToken(tb testing.TB, m *manager.Manager, sub string, claims map[string]any) string {
	tb.Helper()
	tok, err := m.RefreshToken(sub, claims)
	if err != nil {
		tb.Fatalf("RefreshToken: %v", err)
	}
	return tok.Signed
}

// ClockAt is a manager clock fixed at now+d.
func ClockAt(d time.Duration) manager.Option {
	return manager.WithClock(func() time.Time { return time.Now().Add(d) })
}

// RevocationStore returns a memory store for a manager that revokes.
func RevocationStore(tb testing.TB) revocation.Store {
	tb.Helper()
	s, err := revocation.NewMemoryStore()
	if err != nil {
		tb.Fatalf("NewMemoryStore: %v", err)
	}
	return s
}

// Bearer returns the Authorization value of a signed token.
func Bearer(signed string) string { return "Bearer " + signed }

// DownStore is a revocation store that can't answer: every Revoked fails
// with ErrStoreDown.
type DownStore struct{ revocation.Store }

// ErrStoreDown is DownStore's error, which no denial may quote.
var ErrStoreDown = errors.New("dial tcp 127.0.0.1:6379: connection refused")

// Revoked fails with ErrStoreDown.
func (DownStore) Revoked(context.Context, string, []string, time.Time) (bool, error) {
	return false, ErrStoreDown
}

// FakeClock is a clock that tests move forward from the real time.
type FakeClock struct{ offset atomic.Int64 }

// Now returns the real time moved forward by every Advance.
func (c *FakeClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Reply is the answer of every test handler: who it saw in its context.
func Reply(ctx context.Context) *testpb.Reply {
	tok, ok := manager.FromContext(ctx)
	if !ok {
		return &testpb.Reply{}
	}
	return &testpb.Reply{Subject: tok.Subject, HasToken: true}
}

// Decisions records what a decision hook is told.
type Decisions struct {
	mu  sync.Mutex
	all []protojwt.Decision
}

// Hook records dec: give it to an adapter's WithDecisionHook.
func (d *Decisions) Hook(_ context.Context, dec protojwt.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.all = append(d.all, dec)
}

// Take returns the decisions recorded since the last Take.
func (d *Decisions) Take() []protojwt.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.all
	d.all = nil
	return out
}
