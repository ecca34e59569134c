package tokensource

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRefreshAheadKeepsTheValidToken(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	login.gate = make(chan struct{})
	old := tokenExpiring(t, clock.Now().Add(time.Hour), 0)
	r, err := New(old, "refresh-0", login.refresh, WithClock(clock.Now), WithRefreshMargin(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(55 * time.Minute)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got, err := r.Token(context.Background()); err != nil || got != old {
				t.Errorf("Token during the refresh = %.20q, %v; want the valid token", got, err)
			}
		})
	}
	wg.Wait() // nobody waited for the gated refresh
	close(login.gate)
	waitIdle(r)
	got, err := r.Token(context.Background())
	if err != nil || got == old {
		t.Fatalf("Token after the refresh = %.20q, %v; want a new token", got, err)
	}
	if n := login.calls.Load(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

func TestExpiredCallersShareOneRefresh(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	login.gate = make(chan struct{})
	r, err := New(tokenExpiring(t, clock.Now().Add(time.Minute), 0), "refresh-0", login.refresh,
		WithClock(clock.Now), WithRefreshMargin(0))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // now == exp: expired
	const callers = 100
	got := make(chan string, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			tok, err := r.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- tok
		})
	}
	select {
	case tok := <-got:
		t.Fatalf("a caller got %.20q before the refresh ended", tok)
	case <-time.After(50 * time.Millisecond):
	}
	close(login.gate)
	wg.Wait()
	close(got)
	want := ""
	for tok := range got {
		exp, err := expiryOf(tok)
		if err != nil || !clock.Now().Before(exp) {
			t.Fatalf("a caller got a token expiring at %v, now %v (%v)", exp, clock.Now(), err)
		}
		if want == "" {
			want = tok
		} else if tok != want {
			t.Fatal("callers got different tokens from one refresh")
		}
	}
	if n := login.calls.Load(); n != 1 {
		t.Fatalf("%d refreshes for %d callers, want 1", n, callers)
	}
}

func TestManyCallersAcrossExpiries(t *testing.T) {
	for _, tt := range []struct {
		name          string
		margin        time.Duration
		wantRefreshes int32
	}{
		// 60 s tokens, steps of 5 s over 300 s.
		{"refresh ahead", 15 * time.Second, 6},         // at 45, 90, ..., 270
		{"refresh at expiry", 0, 5},                    // at 60, 120, ..., 300
		{"margin of a whole step", 5 * time.Second, 5}, // at 55, 110, ..., 275
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			login := newFakeLogin(t, clock, time.Minute)
			r, err := New(tokenExpiring(t, clock.Now().Add(time.Minute), 0), "refresh-0", login.refresh,
				WithClock(clock.Now), WithRefreshMargin(tt.margin))
			if err != nil {
				t.Fatal(err)
			}
			for step := 0; step <= 60; step++ {
				var wg sync.WaitGroup
				for range 20 {
					wg.Go(func() {
						tok, err := r.Token(context.Background())
						if err != nil {
							t.Errorf("step %d: %v", step, err)
							return
						}
						if exp, _ := expiryOf(tok); !clock.Now().Before(exp) {
							t.Errorf("step %d: handed out a token expired at %v", step, exp)
						}
					})
				}
				wg.Wait()
				waitIdle(r)
				clock.Advance(5 * time.Second)
			}
			if n := login.calls.Load(); n != tt.wantRefreshes {
				t.Errorf("%d refreshes, want %d", n, tt.wantRefreshes)
			}
			if login.reuses != 0 {
				t.Errorf("%d refresh tokens presented twice", login.reuses)
			}
		})
	}
}

func TestCallerGivingUpDoesNotCancelTheRefresh(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	login.gate = make(chan struct{})
	var refreshCtx context.Context
	fn := func(ctx context.Context, rt string) (string, string, error) {
		refreshCtx = ctx
		return login.refresh(ctx, rt)
	}
	r, err := New("", "refresh-0", fn, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Token(ctx)
		done <- err
	}()
	for login.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Token after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled caller kept waiting")
	}
	if refreshCtx.Err() != nil {
		t.Fatal("the refresh was cancelled with its caller")
	}
	close(login.gate)
	if tok, err := r.Token(context.Background()); err != nil || tok == "" {
		t.Fatalf("Token after the refresh = %.20q, %v", tok, err)
	}
	if n := login.calls.Load(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

func TestDeadlineWhileWaiting(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	login.gate = make(chan struct{})
	defer close(login.gate)
	r, err := New("", "refresh-0", login.refresh, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token = %v, want context.DeadlineExceeded", err)
	}
}

func TestRefreshTimeout(t *testing.T) {
	clock := newFakeClock()
	login := newFakeLogin(t, clock, time.Hour)
	login.gate = make(chan struct{}) // never opened: only the timeout ends the refresh
	r, err := New("", "refresh-0", login.refresh, WithClock(clock.Now), WithRefreshTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Token(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrLoginEnded) {
		t.Fatalf("Token = %v, want a passing refresh failure", err)
	}
}
