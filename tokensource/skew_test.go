package tokensource

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestClockSkew: a client whose clock is 5 or 15 minutes off the server's,
// either way, calls over gRPC, connect and HTTP while the server's clock
// crosses five token lifetimes (60 s tokens, no leeway). A client that
// trusted its own clock sent expired tokens when slow and refreshed on
// every call when fast; the Refresher counts each token's life (exp - iat)
// from when it asked for it.
func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{-15 * time.Minute, -5 * time.Minute, 5 * time.Minute, 15 * time.Minute} {
		t.Run(fmt.Sprintf("client %v off", skew), func(t *testing.T) {
			clock := newFakeClock()
			s := startServices(t, clock)
			auth, refresh := s.login(t)
			clientClock := func() time.Time { return clock.Now().Add(skew) }
			r, err := New(auth, refresh, s.refreshOverGRPC, WithClock(clientClock), WithRefreshMargin(15*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			c := s.clients(r)
			const callers = 6
			for step := 0; step <= 60; step++ {
				var wg sync.WaitGroup
				for i := range callers {
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						if sub, err := c.call(ctx, i); err != nil || sub != subject {
							t.Errorf("step %d, transport %d: %q, %v", step, i%3, sub, err)
						}
					})
				}
				wg.Wait()
				waitIdle(r)
				if t.Failed() {
					t.FailNow()
				}
				clock.Advance(5 * time.Second)
			}
			// In step with the server: 6 refreshes (at 45, 90, ..., 270 s).
			// A fast client takes the first token, of unknown age, as expired
			// and refreshes once more at the start; never more.
			want := int32(6)
			if skew > 0 {
				want++
			}
			if n := s.rotations.Load(); n != want {
				t.Errorf("%d refreshes, want %d", n, want)
			}
			if n := s.reuses.Load(); n != 0 {
				t.Errorf("the Manager detected %d reused refresh tokens", n)
			}
		})
	}
}

func TestLocalExpiry(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	life := time.Minute
	tests := []struct {
		name     string
		times    tokenTimes
		obtained time.Time
		fresh    bool
		want     time.Time
	}{
		{"fresh, clocks agree", tokenTimes{exp: at.Add(life), iat: at}, at, true, at.Add(life)},
		{"fresh, client 15 min fast", tokenTimes{exp: at.Add(life), iat: at}, at.Add(15 * time.Minute), true, at.Add(15*time.Minute + life)},
		{"fresh, client 5 min slow", tokenTimes{exp: at.Add(life), iat: at}, at.Add(-5 * time.Minute), true, at.Add(-5*time.Minute + life)},
		{"given, clocks agree, new", tokenTimes{exp: at.Add(life), iat: at}, at, false, at.Add(life)},
		{"given, clocks agree, 30 s old", tokenTimes{exp: at.Add(life), iat: at}, at.Add(30 * time.Second), false, at.Add(life)},
		{"given, client 5 min slow", tokenTimes{exp: at.Add(life), iat: at}, at.Add(-5 * time.Minute), false, at.Add(-5*time.Minute + life)},
		{"given, client 15 min fast", tokenTimes{exp: at.Add(life), iat: at}, at.Add(15 * time.Minute), false, at.Add(life)},
		{"no iat", tokenTimes{exp: at.Add(life)}, at.Add(-5 * time.Minute), true, at.Add(life)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localExpiry(tt.times, tt.obtained, tt.fresh); !got.Equal(tt.want) {
				t.Fatalf("localExpiry = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimesOfIat(t *testing.T) {
	exp := time.Unix(1_800_000_060, 0)
	tests := []struct {
		name    string
		claims  map[string]any
		wantIat time.Time
	}{
		{"iat", map[string]any{"exp": exp.Unix(), "iat": exp.Unix() - 60}, exp.Add(-time.Minute)},
		{"no iat", map[string]any{"exp": exp.Unix()}, time.Time{}},
		{"iat a string", map[string]any{"exp": exp.Unix(), "iat": "1800000000"}, time.Time{}},
		{"iat after exp", map[string]any{"exp": exp.Unix(), "iat": exp.Unix() + 1}, time.Time{}},
		{"iat negative", map[string]any{"exp": exp.Unix(), "iat": -1}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := timesOf(jwt(t, tt.claims))
			if err != nil || !got.exp.Equal(exp) || !got.iat.Equal(tt.wantIat) {
				t.Fatalf("timesOf = %+v, %v; want exp %v iat %v", got, err, exp, tt.wantIat)
			}
		})
	}
}
