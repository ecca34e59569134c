package manager

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// failedFetches returns the failed EventJWKSFetch events so far.
func (l *eventLog) failedFetches() []Event {
	l.mu.Lock()
	events := slices.Clone(l.events)
	l.mu.Unlock()
	var out []Event
	for _, e := range events {
		if e.Kind == EventJWKSFetch && e.Err != nil {
			out = append(out, e)
		}
	}
	return out
}

// checkKeysUnavailable fails unless Verify refuses token with
// ErrKeysUnavailable and no sentinel of a bad token.
func checkKeysUnavailable(t *testing.T, m *Manager, token string) {
	t.Helper()
	_, err := m.Verify(context.Background(), token)
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify() error = %v, want ErrKeysUnavailable", err)
	}
	for _, bad := range []error{ErrSignature, ErrMalformed, ErrAlgorithm, ErrIssuer, ErrExpired} {
		if errors.Is(err, bad) {
			t.Errorf("Verify() error = %v, also %v: a bad token, not an outage", err, bad)
		}
	}
}

// TestStartUnavailable: with WithStartUnavailable, Open returns while the
// provider is down or serves no usable key; tokens are refused with
// ErrKeysUnavailable until a fetch brings keys, then verify, without a
// new Manager. Without the option, Open fails as before.
func TestStartUnavailable(t *testing.T) {
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k1"})
	token := issue(t, publisher)
	forged := craft(t, "ES256", newP256(t), kidHeader("ES256", "k1"), claimsWith(nil))
	tests := []struct {
		name string
		down func(s *jwksServer, good *atomic.Bool)
	}{
		{"endpoint answers 503", func(s *jwksServer, _ *atomic.Bool) { s.mode.Store(serveError) }},
		{"set without a usable key", func(_ *jwksServer, good *atomic.Bool) { good.Store(false) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var good atomic.Bool
			good.Store(true)
			srv := newJWKSServer(t, serveSet(publisher, &good))
			tt.down(srv, &good)
			url := srv.URL + "/jwks.json"

			if _, err := openTestRemote(t, context.Background(), url, "ES256"); !errors.Is(err, ErrJWKS) {
				t.Fatalf("Open() without WithStartUnavailable error = %v, want ErrJWKS", err)
			}
			m, err := openTestRemote(t, context.Background(), url, "ES256",
				WithStartUnavailable(), WithJWKSRefreshInterval(20*time.Millisecond))
			if err != nil {
				t.Fatalf("Open() error = %v", err)
			}
			checkKeysUnavailable(t, m, token)
			checkKeysUnavailable(t, m, forged) // judged by no key either
			srv.mode.Store(serveUp)
			good.Store(true)
			eventually(t, "the token verifies", func() bool { return verifies(m, token) })
			if _, err := m.Verify(context.Background(), forged); !errors.Is(err, ErrSignature) {
				t.Errorf("Verify(forged) error = %v, want ErrSignature once keys are there", err)
			}
		})
	}
}

// TestStartUnavailableDiscovery: the same with Config.Discovery, the
// metadata down first, then the JWK Set it names.
func TestStartUnavailableDiscovery(t *testing.T) {
	s := newIssuerServer(t, false)
	issuer := s.URL
	publisher := s.publisher(t, issuer, "k1")
	token := issue(t, publisher)
	opts := []Option{WithStartUnavailable(), WithJWKSRefreshInterval(20 * time.Millisecond), WithJWKSErrorHandler(func(error) {})}

	if _, err := openDiscovery(t, issuer, opts[1:]...); !errors.Is(err, ErrJWKS) {
		t.Fatalf("New() without WithStartUnavailable error = %v, want ErrJWKS", err)
	}
	m, err := openDiscovery(t, issuer, opts...)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	checkKeysUnavailable(t, m, token)
	// The metadata comes, naming a set that is not served yet.
	s.serve("/.well-known/openid-configuration", map[string]any{"issuer": issuer, "jwks_uri": s.URL + "/jwks/k2"})
	eventually(t, "the metadata is read again", func() bool { return s.metaFetch.Load() >= 2 })
	checkKeysUnavailable(t, m, token)
	s.serve("/.well-known/openid-configuration", map[string]any{"issuer": issuer, "jwks_uri": s.URL + "/jwks/k1"})
	eventually(t, "the token verifies", func() bool { return verifies(m, token) })
}

// TestStartUnavailableRefusals: what no fetch can cure still fails at
// once, with the option too.
func TestStartUnavailableRefusals(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		opts []Option
		want error
	}{
		{"JWKSURL over http to another host", Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: "http://example.com/jwks"}, nil, ErrConfig},
		{"Issuer of Discovery with a query", Config{Issuer: "https://idp.example/?a=b", Discovery: true}, nil, ErrConfig},
		{"negative WithMaxKeyAge", Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: "http://127.0.0.1:1/jwks"}, []Option{WithMaxKeyAge(-time.Second)}, ErrConfig},
		{"WithMaxKeyAge within the refresh interval", Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: "http://127.0.0.1:1/jwks"}, []Option{WithMaxKeyAge(time.Minute), WithJWKSRefreshInterval(time.Minute)}, ErrConfig},
		{"a canceled context", Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: "http://127.0.0.1:1/jwks"}, nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.want == context.Canceled {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			m, err := Open(ctx, tt.cfg, append([]Option{WithStartUnavailable()}, tt.opts...)...)
			if m != nil {
				m.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open() error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestMaxKeyAge: once the last good fetch is older than WithMaxKeyAge,
// tokens are refused with ErrKeysUnavailable, the cached one included,
// and verify again as soon as a fetch succeeds. Failed fetches report the
// keys' age. Without the option, old keys go on verifying.
func TestMaxKeyAge(t *testing.T) {
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k1", AuthMaxAge: 1000 * time.Hour})
	token := issue(t, publisher)
	for _, limit := range []time.Duration{0, 10 * time.Minute} {
		t.Run("limit "+limit.String(), func(t *testing.T) {
			srv := newJWKSServer(t, publisher.JWKSHandler())
			clock := newMovableClock()
			var log eventLog
			opts := []Option{WithClock(clock.now), WithJWKSRefreshInterval(20 * time.Millisecond), WithEvents(log.add)}
			if limit > 0 {
				opts = append(opts, WithMaxKeyAge(limit))
			}
			m := mustOpenRemote(t, srv.URL+"/jwks.json", "ES256", opts...)
			for range 2 { // the second from the cache
				if _, err := m.Verify(context.Background(), token); err != nil {
					t.Fatalf("Verify() error = %v", err)
				}
			}
			if m.CacheStats().Hits == 0 {
				t.Fatal("the token was not cached: the test would not check the cache")
			}
			srv.mode.Store(serveError)
			failed := len(log.failedFetches())
			eventually(t, "a fetch fails", func() bool { return len(log.failedFetches()) > failed })
			clock.add(limit + 11*time.Minute)
			eventually(t, "a failed fetch reports the keys' age", func() bool {
				f := log.failedFetches()
				return f[len(f)-1].KeyAge >= 11*time.Minute
			})
			if limit == 0 {
				if _, err := m.Verify(context.Background(), token); err != nil {
					t.Fatalf("Verify() without a limit error = %v", err)
				}
				return
			}
			checkKeysUnavailable(t, m, token)
			checkKeysUnavailable(t, m, token) // and again: nothing cached it
			srv.mode.Store(serveUp)
			eventually(t, "the token verifies again", func() bool { return verifies(m, token) })
		})
	}
}

// serveSet serves the JWK Set of publisher while good holds, and a set
// whose only key is not usable with ES256 otherwise.
func serveSet(publisher *Manager, good *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if good.Load() {
			publisher.JWKSHandler().ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[{"kty":"oct","kid":"k1","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}`))
	})
}

// TestSchedule: a failed attempt is retried with backoff, long before the
// interval; after a success the next attempt waits the interval.
func TestSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var attempts atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		schedule(ctx, time.Hour, backoff{min: time.Millisecond, max: time.Hour}, false, func(context.Context) bool {
			return attempts.Add(1) > 5 // five failures, then a success
		})
	}()
	eventually(t, "six attempts", func() bool { return attempts.Load() >= 6 })
	time.Sleep(50 * time.Millisecond)
	if n := attempts.Load(); n != 6 {
		t.Errorf("attempts = %d after a success, want 6: the next waits the interval", n)
	}
	cancel()
	<-done
}

// TestBackoff: each wait is in the upper half of a bound that doubles from
// min up to max, and starts over after reset.
func TestBackoff(t *testing.T) {
	b := newBackoff(10 * time.Second)
	bounds := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for round := range 2 {
		for i, bound := range bounds {
			if w := b.next(); w < bound/2 || w > bound {
				t.Fatalf("round %d: wait %d = %v, want within [%v, %v]", round, i, w, bound/2, bound)
			}
		}
		b.reset()
	}
	if b := newBackoff(100 * time.Millisecond); b.min != 100*time.Millisecond {
		t.Errorf("backoff of a short interval starts at %v, want the interval", b.min)
	}
}

// TestCloseStopsFetching: Close ends every goroutine a remote Manager
// started, the ones still waiting for keys included.
func TestCloseStopsFetching(t *testing.T) {
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	s := newIssuerServer(t, false)
	opts := []Option{WithStartUnavailable(), WithJWKSRefreshInterval(10 * time.Millisecond), WithJWKSErrorHandler(func(error) {})}
	before := fetchGoroutines() // of Managers other tests left open
	var ms []*Manager
	defer func() { // on a failure too: the goroutines must not outlive the test
		for _, m := range ms {
			m.Close()
		}
	}()
	m, err := Open(context.Background(), Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: srv.URL + "/jwks.json"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ms = append(ms, m)
	srv.mode.Store(serveError)
	m, err = Open(context.Background(), Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: srv.URL + "/jwks.json"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ms = append(ms, m)
	m, err = Open(context.Background(), Config{Issuer: s.URL, Discovery: true}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ms = append(ms, m)
	// Each loop starts on a goroutine of its own: wait until it runs, or
	// the count after Close would prove nothing.
	eventually(t, "three fetching goroutines", func() bool { return fetchGoroutines() >= before+3 })
	for _, m := range ms {
		m.Close()
	}
	if n := fetchGoroutines() - before; n != 0 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d fetching goroutines after Close, want 0\n%s", n, buf[:runtime.Stack(buf, true)])
	}
}

// fetchGoroutines counts the goroutines running a refresh loop.
func fetchGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "manager.schedule(") {
			n++
		}
	}
	return n
}
