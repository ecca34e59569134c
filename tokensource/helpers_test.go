package tokensource

import (
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Unix(1_800_000_000, 0)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jwt returns an unsigned compact token with the given claims: the client
// reads its exp and nothing else.
func jwt(t testing.TB, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

// tokenExpiring returns a token with exp at exp and a jti n, so that
// tokens of one exp differ.
func tokenExpiring(t testing.TB, exp time.Time, n int) string {
	return jwt(t, map[string]any{"exp": exp.Unix(), "jti": n})
}

// waitIdle waits until r has no refresh in flight.
func waitIdle(r *Refresher) {
	for {
		r.mu.Lock()
		f := r.flight
		r.mu.Unlock()
		if f == nil {
			return
		}
		<-f.done
	}
}
