package tokensource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// fakeLogin is a login service that rotates refresh tokens and treats
// reuse as theft, as manager.RotateRefreshToken does.
type fakeLogin struct {
	t     testing.TB
	clock *fakeClock
	ttl   time.Duration
	calls atomic.Int32
	gate  chan struct{} // when non-nil, each refresh takes a value first

	mu      sync.Mutex
	current string // the refresh token that may be exchanged now
	used    map[string]bool
	reuses  int
	n       int
	err     error // when set, refreshes fail with it
}

func newFakeLogin(t testing.TB, clock *fakeClock, ttl time.Duration) *fakeLogin {
	return &fakeLogin{t: t, clock: clock, ttl: ttl, current: "refresh-0", used: map[string]bool{}}
}

func (l *fakeLogin) setErr(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

func (l *fakeLogin) refresh(ctx context.Context, refreshToken string) (string, string, error) {
	l.calls.Add(1)
	if l.gate != nil {
		select {
		case <-l.gate:
		case <-ctx.Done():
			return "", "", ctx.Err()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return "", "", l.err
	}
	if l.used[refreshToken] {
		l.reuses++
		return "", "", fmt.Errorf("rotating: %w", manager.ErrRefreshReuse)
	}
	if refreshToken != l.current {
		return "", "", manager.ErrRevoked
	}
	l.used[refreshToken] = true
	l.n++
	l.current = fmt.Sprintf("refresh-%d", l.n)
	return tokenExpiring(l.t, l.clock.Now().Add(l.ttl), l.n), l.current, nil
}

func TestNewRefuses(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Minute)
	valid := tokenExpiring(t, clock.Now().Add(time.Minute), 0)
	tests := []struct {
		name string
		auth string
		fn   RefreshFunc
		opts []Option
	}{
		{"no RefreshFunc", valid, nil, nil},
		{"negative margin", valid, login.refresh, []Option{WithRefreshMargin(-time.Second)}},
		{"zero timeout", valid, login.refresh, []Option{WithRefreshTimeout(0)}},
		{"nil clock", valid, login.refresh, []Option{WithClock(nil)}},
		{"opaque auth token", "opaque", login.refresh, nil},
		{"auth token without exp", jwt(t, map[string]any{"sub": "alice"}), login.refresh, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := New(tt.auth, "refresh-0", tt.fn, tt.opts...); err == nil {
				t.Fatalf("New = %v, want an error", r)
			}
		})
	}
	if _, err := New(valid, "refresh-0", login.refresh, WithRefreshMargin(0), WithClock(clock.Now)); err != nil {
		t.Fatalf("New with a valid token: %v", err)
	}
}

func TestFreshTokenNeedsNoRefresh(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	auth := tokenExpiring(t, clock.Now().Add(time.Hour), 0)
	r, err := New(auth, "refresh-0", login.refresh, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(58*time.Minute + 59*time.Second) // one second before the default margin
	for range 10 {
		if got, err := r.Token(context.Background()); err != nil || got != auth {
			t.Fatalf("Token = %q, %v", got, err)
		}
	}
	if n := login.calls.Load(); n != 0 {
		t.Fatalf("%d refreshes of a token outside its margin", n)
	}
}

func TestMarginIsAtMostHalfTheLife(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, 10*time.Second)
	auth := tokenExpiring(t, clock.Now().Add(10*time.Second), 0)
	// A one-hour margin on a 10 s token would refresh on every call.
	r, err := New(auth, "refresh-0", login.refresh, WithClock(clock.Now), WithRefreshMargin(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(4 * time.Second)
	r.Token(context.Background())
	waitIdle(r)
	if n := login.calls.Load(); n != 0 {
		t.Fatalf("refreshed %d times 4 s into a 10 s token", n)
	}
	clock.Advance(time.Second)
	r.Token(context.Background())
	waitIdle(r)
	for range 5 {
		r.Token(context.Background())
	}
	waitIdle(r)
	if n := login.calls.Load(); n != 1 {
		t.Fatalf("refreshed %d times at half life, want 1", n)
	}
}

// TestRefreshAheadKeepsTheValidToken: inside the margin, callers never
// wait; one refresh runs in the background.
// TestExpiredCallersShareOneRefresh: once the token has expired, callers
// wait for a single refresh.
// TestManyCallersAcrossExpiries walks the clock through several token
// lifetimes with concurrent callers at each step: one refresh per
// lifetime, no expired token handed out, no refresh token presented twice.
func TestOwnRefreshCarriesNoToken(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	var r *Refresher
	var inner string
	var innerErr error
	fn := func(ctx context.Context, rt string) (string, string, error) {
		inner, innerErr = r.Token(ctx) // what a transport of r asks during the refresh
		return login.refresh(ctx, rt)
	}
	r, err := New("", "refresh-0", fn, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := r.Token(context.Background()); err != nil || tok == "" {
		t.Fatalf("Token = %.20q, %v", tok, err)
	}
	if inner != "" || innerErr != nil {
		t.Fatalf("Token inside the refresh = %.20q, %v; want none and no error", inner, innerErr)
	}
	// Another Refresher's refresh context is no exemption.
	other, err := New("", "refresh-0", newFakeLogin(t, clock, time.Hour).refresh, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), refreshKey{}, r)
	if tok, err := other.Token(ctx); err != nil || tok == "" {
		t.Fatalf("other.Token in r's refresh = %.20q, %v; want a token", tok, err)
	}
}

func TestSaveRefreshToken(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Minute)
	var saved []string
	var r *Refresher
	save := func(ctx context.Context, rt string) error {
		// The new auth token is not handed out before it is saved.
		if cur := r.current.Load(); cur != nil && clock.Now().Before(cur.exp) {
			t.Errorf("the new auth token was in use before its refresh token was saved")
		}
		saved = append(saved, rt)
		return nil
	}
	r, err := New("", "refresh-0", login.refresh, WithClock(clock.Now), WithSaveRefreshToken(save), WithRefreshMargin(0))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := r.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	if want := []string{"refresh-1", "refresh-2", "refresh-3"}; strings.Join(saved, ",") != strings.Join(want, ",") {
		t.Fatalf("saved %q, want %q", saved, want)
	}

	// A restarted client resumes with the last saved refresh token.
	resumed, err := New("", saved[len(saved)-1], login.refresh, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resumed.Token(context.Background()); err != nil {
		t.Fatalf("resuming from the saved refresh token: %v", err)
	}
	if login.reuses != 0 {
		t.Fatalf("%d reuses", login.reuses)
	}
}

func TestSaveFailureKeepsTheSession(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Minute)
	errDisk := errors.New("disk full")
	fail := true
	save := func(context.Context, string) error {
		if fail {
			fail = false
			return errDisk
		}
		return nil
	}
	r, err := New("", "refresh-0", login.refresh, WithClock(clock.Now), WithSaveRefreshToken(save), WithRefreshMargin(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(context.Background()); !errors.Is(err, errDisk) || errors.Is(err, ErrLoginEnded) {
		t.Fatalf("Token = %v, want the save error", err)
	}
	if tok, err := r.Token(context.Background()); err != nil || tok == "" {
		t.Fatalf("Token after a failed save = %.20q, %v; want the new token", tok, err)
	}
	clock.Advance(time.Minute)
	// The next refresh presents the rotated token, not the spent one.
	if _, err := r.Token(context.Background()); err != nil {
		t.Fatalf("refresh after a failed save: %v", err)
	}
	if login.reuses != 0 || login.calls.Load() != 2 {
		t.Fatalf("%d refreshes, %d reuses; want 2, 0", login.calls.Load(), login.reuses)
	}
}

func TestEmptyRefreshKeepsTheCurrentOne(t *testing.T) {
	clock := newFakeClock()
	var presented []string
	saves := 0
	fn := func(_ context.Context, rt string) (string, string, error) {
		presented = append(presented, rt)
		return tokenExpiring(t, clock.Now().Add(time.Minute), len(presented)), "", nil
	}
	r, err := New("", "long-lived", fn, WithClock(clock.Now), WithRefreshMargin(0),
		WithSaveRefreshToken(func(context.Context, string) error { saves++; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	if strings.Join(presented, ",") != "long-lived,long-lived" || saves != 0 {
		t.Fatalf("presented %q, saved %d times", presented, saves)
	}
}

func TestRefreshBringingAnUnusableToken(t *testing.T) {
	clock := newFakeClock()
	var presented []string
	answers := []string{"opaque", tokenExpiring(t, clock.Now().Add(-time.Second), 1), tokenExpiring(t, clock.Now().Add(time.Minute), 2)}
	fn := func(_ context.Context, rt string) (string, string, error) {
		presented = append(presented, rt)
		return answers[len(presented)-1], fmt.Sprintf("refresh-%d", len(presented)), nil
	}
	r, err := New("", "refresh-0", fn, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(context.Background()); !errors.Is(err, errNoExpiry) {
		t.Fatalf("Token with an opaque answer = %v, want errNoExpiry", err)
	}
	if _, err := r.Token(context.Background()); !errors.Is(err, errExpiredOnArrival) {
		t.Fatalf("Token with an expired answer = %v, want errExpiredOnArrival", err)
	}
	if tok, err := r.Token(context.Background()); err != nil || tok != answers[2] {
		t.Fatalf("Token = %.20q, %v", tok, err)
	}
	// Each refresh presented the token the one before it brought.
	if strings.Join(presented, ",") != "refresh-0,refresh-1,refresh-2" {
		t.Fatalf("presented %q", presented)
	}
}

func TestStatic(t *testing.T) {
	for _, tok := range []string{"a.b.c", ""} {
		got, err := Static(tok).Token(context.Background())
		if got != tok || err != nil {
			t.Fatalf("Static(%q).Token = %q, %v", tok, got, err)
		}
	}
}
