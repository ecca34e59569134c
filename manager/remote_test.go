package manager

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// How a jwksServer answers.
const (
	serveUp    = iota // the handler's answer
	serveError        // 503
	serveHang         // nothing, until the client gives up
)

// jwksServer serves a JWK Set over real HTTP on loopback, counts the
// fetches, and can fail or hang on demand.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mode    atomic.Int32
	release chan struct{}
}

func newJWKSServer(t *testing.T, h http.Handler) *jwksServer {
	t.Helper()
	s := &jwksServer{release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		switch s.mode.Load() {
		case serveError:
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		case serveHang:
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.release) }) // first: frees hanging handlers
	return s
}

// serveBytes answers every request with doc.
func serveBytes(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
}

// errorCount counts the failures a remote Manager reports.
type errorCount struct{ n atomic.Int64 }

func (c *errorCount) handle(error) { c.n.Add(1) }

// openTestRemote opens a Manager of alg on the JWK Set at url, on the test
// clock, closed when the test ends. Without other options it refreshes
// rarely, so that tests count fetches exactly.
func openTestRemote(t *testing.T, ctx context.Context, url, alg string, opts ...Option) (*Manager, error) {
	t.Helper()
	base := []Option{
		WithClock(testClock),
		WithJWKSTimeout(2 * time.Second),
		WithJWKSRefreshInterval(time.Hour),
		WithJWKSRefreshUnknownKID(time.Hour),
		WithJWKSErrorHandler(func(error) {}),
	}
	m, err := Open(ctx, Config{Issuer: testIssuer, Algorithm: alg, JWKSURL: url}, append(base, opts...)...)
	if m != nil {
		t.Cleanup(func() { m.Close() })
	}
	return m, err
}

func mustOpenRemote(t *testing.T, url, alg string, opts ...Option) *Manager {
	t.Helper()
	m, err := openTestRemote(t, context.Background(), url, alg, opts...)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	return m
}

// randomKID returns a kid no key has.
func randomKID() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// eventually polls cond every few milliseconds for up to five seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// verifies reports whether m accepts token.
func verifies(m *Manager, token string) bool {
	_, err := m.Verify(context.Background(), token)
	return err == nil
}

func TestRemoteVerify(t *testing.T) {
	k1, stranger := newP256(t), newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	m := mustOpenRemote(t, srv.URL+"/.well-known/jwks.json", "ES256")
	signed := func(alg string, key any, kid any) string {
		return craft(t, alg, key, kidHeader(alg, kid), claimsWith(nil))
	}

	runVerifyCases(t, m, []verifyCase{
		{"token of the publisher", issue(t, publisher), nil},
		{"unknown kid", signed("ES256", k1, "k9"), ErrSignature},
		{"no kid", craft(t, "ES256", k1, nil, claimsWith(nil)), ErrSignature},
		{"kid a number", signed("ES256", k1, 1), ErrMalformed},
		{"a stranger's key under the kid", signed("ES256", stranger, "k1"), ErrSignature},
		{"ES384 under the kid", signed("ES384", testKey(t, "p384"), "k1"), ErrAlgorithm},
		{"HS256 keyed with the JWK Set", signed("HS256", publisher.JWKS(), "k1"), ErrAlgorithm},
		{"alg none", unsigned(t, "none", claimsWith(nil)), ErrAlgorithm},
		{"expired", craft(t, "ES256", k1, kidHeader("ES256", "k1"), claimsWith(map[string]any{"exp": testNow.Unix() - 1})), ErrExpired},
		{"another issuer", craft(t, "ES256", k1, kidHeader("ES256", "k1"), claimsWith(map[string]any{"iss": "https://evil.test"})), ErrIssuer},
		{"no type", craft(t, "ES256", k1, kidHeader("ES256", "k1"), claimsWith(nil, "type")), ErrMalformed},
	})
	// The first fetch, then one refresh for the unknown kids: the rate
	// limit (once an hour here) refuses the others at once.
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}

	// Keys from a URL are the URL's: no local changes, no issuing.
	for name, err := range map[string]error{
		"AddKey":    m.AddKey(Key{ID: "k2", PublicKey: stranger.Public()}),
		"RotateKey": m.RotateKey(Key{ID: "k2", PrivateKey: stranger}),
		"RemoveKey": m.RemoveKey("k1"),
	} {
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s() error = %v, want ErrConfig", name, err)
		}
	}
	if _, err := m.AuthToken("alice", nil, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("AuthToken() error = %v, want ErrConfig", err)
	}
	if got := string(m.JWKS()); got != `{"keys":[]}` {
		t.Errorf("JWKS() = %s, want an empty set", got)
	}
}

func TestRemoteRefreshOnUnknownKID(t *testing.T) {
	k1, k2, k3 := newP256(t), newP256(t), newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	m := mustOpenRemote(t, srv.URL, "ES256")
	old := issue(t, publisher)

	if err := publisher.RotateKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatal(err)
	}
	runVerifyCases(t, m, []verifyCase{
		{"new kid fetched at once", issue(t, publisher), nil},
		{"old kid still known", old, nil},
	})
	// The rate limit allows no second refresh within the hour.
	if err := publisher.RotateKey(Key{ID: "k3", PrivateKey: k3}); err != nil {
		t.Fatal(err)
	}
	runVerifyCases(t, m, []verifyCase{
		{"second new kid within the rate limit", issue(t, publisher), ErrSignature},
	})
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestRemoteUnknownKIDFlood(t *testing.T) {
	k1 := newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	good := issue(t, publisher)
	tests := []struct {
		name  string
		every time.Duration
		flood time.Duration
	}{
		{"one refresh an hour", time.Hour, 200 * time.Millisecond},
		{"one refresh per 50ms", 50 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, publisher.JWKSHandler())
			const timeout = 500 * time.Millisecond
			m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSRefreshUnknownKID(tt.every), WithJWKSTimeout(timeout))
			var accepted, refused, goodFailed atomic.Int64
			start := time.Now()
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					for time.Since(start) < tt.flood {
						token := craft(t, "ES256", k1, kidHeader("ES256", randomKID()), claimsWith(nil))
						_, err := m.Verify(context.Background(), token)
						switch {
						case err == nil:
							accepted.Add(1)
						case errors.Is(err, ErrSignature):
							refused.Add(1)
						default:
							t.Errorf("random kid: error %v, want ErrSignature", err)
						}
						if !verifies(m, good) {
							goodFailed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			if accepted.Load() != 0 || goodFailed.Load() != 0 || refused.Load() < 50 {
				t.Fatalf("accepted %d random kids, refused %d, failed %d valid tokens", accepted.Load(), refused.Load(), goodFailed.Load())
			}
			// The first fetch, the burst of one, then one per interval.
			bound := 2 + int64(elapsed/tt.every)
			if n := srv.fetches.Load(); n > bound {
				t.Errorf("%d fetches for %d random kids in %v, want at most %d", n, refused.Load(), elapsed.Round(time.Millisecond), bound)
			}
			// A call waits for its turn only when it comes within the timeout;
			// the slack is for a busy machine, far below a wait of minutes.
			if elapsed > tt.flood+timeout+5*time.Second {
				t.Errorf("the flood took %v: Verify calls waited too long", elapsed)
			}
		})
	}
}

func TestRemoteBackgroundRefresh(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	// Unknown kids never trigger a fetch here: only the background refresh
	// can teach m the new key.
	m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSRefreshInterval(20*time.Millisecond), WithJWKSRefreshUnknownKID(0))
	old := issue(t, publisher)
	if err := publisher.RotateKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatal(err)
	}
	fresh := issue(t, publisher)
	eventually(t, "the new key is fetched", func() bool { return verifies(m, fresh) })
	if !verifies(m, old) {
		t.Fatal("the old key was lost on refresh")
	}
	if err := publisher.RemoveKey("k1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed key is gone", func() bool { return !verifies(m, old) })
	runVerifyCases(t, m, []verifyCase{
		{"token of the removed key", old, ErrSignature},
		{"token of the new key", fresh, nil},
	})
}

func TestRemoteEndpointDown(t *testing.T) {
	k1 := newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	var failures errorCount
	m := mustOpenRemote(t, srv.URL, "ES256",
		WithJWKSRefreshInterval(10*time.Millisecond),
		WithJWKSRefreshUnknownKID(10*time.Millisecond),
		WithJWKSTimeout(200*time.Millisecond),
		WithJWKSErrorHandler(failures.handle))
	good := issue(t, publisher)

	for _, mode := range []struct {
		name string
		mode int32
	}{{"503", serveError}, {"hanging", serveHang}} {
		t.Run(mode.name, func(t *testing.T) {
			srv.mode.Store(mode.mode)
			before := failures.n.Load()
			eventually(t, "refreshes fail", func() bool { return failures.n.Load() >= before+2 })
			runVerifyCases(t, m, []verifyCase{
				{"cached key", good, nil},
				{"unknown kid", craft(t, "ES256", k1, kidHeader("ES256", "k2"), claimsWith(nil)), ErrSignature},
			})
		})
	}

	// With the server gone altogether, the cached key still verifies.
	srv.mode.Store(serveUp)
	srv.Listener.Close() // first: no connection may slip in after the next line
	srv.CloseClientConnections()
	before := failures.n.Load()
	eventually(t, "refreshes fail", func() bool { return failures.n.Load() >= before+2 })
	runVerifyCases(t, m, []verifyCase{{"cached key, server gone", good, nil}})
}

func TestRemoteFirstFetchFails(t *testing.T) {
	key := newP256(t)
	usable := jwkOf(t, key.Public(), map[string]any{"kid": "k1"})
	badPoint := jwkOf(t, key.Public(), map[string]any{"kid": "k2"})
	badPoint["x"] = strings.Repeat("A", 43)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		handler http.Handler // nil: the URL of a closed server
		mode    int32
		ctx     context.Context
		opts    []Option
		alsoErr error // besides ErrJWKS
	}{
		{"503", nil, serveError, nil, nil, nil},
		{"404", http.NotFoundHandler(), serveUp, nil, nil, nil},
		{"redirect loop", http.RedirectHandler("/", http.StatusFound), serveUp, nil, nil, nil},
		{"HTML", serveBytes([]byte("<html>login</html>")), serveUp, nil, nil, nil},
		{"empty body", serveBytes(nil), serveUp, nil, nil, nil},
		{"a JSON array", serveBytes([]byte(`[]`)), serveUp, nil, nil, nil},
		{"keys an object", serveBytes([]byte(`{"keys":{}}`)), serveUp, nil, nil, nil},
		{"no keys", serveBytes([]byte(`{"keys":[]}`)), serveUp, nil, nil, nil},
		{"an invalid key", serveBytes(jwkSet(t, usable, badPoint)), serveUp, nil, nil, nil},
		{"only a key with use enc", serveBytes(jwkSet(t, jwkOf(t, key.Public(), map[string]any{"use": "enc"}))), serveUp, nil, nil, nil},
		{"only a key with another alg", serveBytes(jwkSet(t, jwkOf(t, key.Public(), map[string]any{"alg": "RS256"}))), serveUp, nil, nil, nil},
		{"only an RSA key", serveBytes(jwkSet(t, jwkOf(t, testKey(t, "rsa").Public(), nil))), serveUp, nil, nil, nil},
		{"connection refused", nil, serveUp, nil, nil, nil},
		{"hangs past the context", nil, serveHang, ctxTimeout(t, 100*time.Millisecond), nil, context.DeadlineExceeded},
		{"hangs past WithJWKSTimeout", nil, serveHang, nil, []Option{WithJWKSTimeout(100 * time.Millisecond)}, nil},
		{"context canceled before", serveBytes(jwkSet(t, usable)), serveUp, canceled, nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := closed.URL
			var srv *jwksServer
			if tt.handler != nil || tt.mode != serveUp {
				srv = newJWKSServer(t, tt.handler)
				srv.mode.Store(tt.mode)
				url = srv.URL
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			start := time.Now()
			// A long default timeout: the cases that hang must end by theirs.
			opts := append([]Option{WithJWKSRefreshInterval(10 * time.Millisecond), WithJWKSTimeout(20 * time.Second)}, tt.opts...)
			m, err := openTestRemote(t, ctx, url, "ES256", opts...)
			if !errors.Is(err, ErrJWKS) || m != nil {
				t.Fatalf("Open() = %v, %v; want ErrJWKS", m, err)
			}
			if tt.alsoErr != nil && !errors.Is(err, tt.alsoErr) {
				t.Errorf("Open() error = %v, want it to wrap %v", err, tt.alsoErr)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("Open() took %v", elapsed)
			}
			if srv != nil {
				// A failed Open leaves no refresh behind: once a request in
				// flight when it failed (a refresh that ticked during a slow
				// first fetch) has landed, no other comes.
				time.Sleep(20 * time.Millisecond)
				n := srv.fetches.Load()
				time.Sleep(50 * time.Millisecond)
				if after := srv.fetches.Load(); after != n {
					t.Errorf("%d fetches after Open failed", after-n)
				}
			}
		})
	}
}

// ctxTimeout returns a context that ends after d, canceled with the test.
func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestRemoteKeyUseAndAlg(t *testing.T) {
	good, other := newP256(t), newP256(t)
	rsaKey := testKey(t, "rsa")
	doc := jwkSet(t,
		jwkOf(t, good.Public(), map[string]any{"kid": "good", "use": "sig", "alg": "ES256"}),
		jwkOf(t, other.Public(), map[string]any{"kid": "enc", "use": "enc"}),
		jwkOf(t, other.Public(), map[string]any{"kid": "es384", "alg": "ES384"}),
		jwkOf(t, other.Public(), map[string]any{"kid": "sign-only", "key_ops": []string{"sign"}}),
		jwkOf(t, rsaKey.Public(), map[string]any{"kid": "rsa"}),
		jwkOf(t, testKey(t, "p384").Public(), map[string]any{"kid": "p384"}),
		map[string]any{"kty": "oct", "kid": "oct", "k": base64.RawURLEncoding.EncodeToString(testSecret)},
	)
	srv := newJWKSServer(t, serveBytes(doc))
	m := mustOpenRemote(t, srv.URL, "ES256")
	signed := func(alg string, key any, kid string) string {
		return craft(t, alg, key, kidHeader(alg, kid), claimsWith(nil))
	}
	runVerifyCases(t, m, []verifyCase{
		{"usable key", signed("ES256", good, "good"), nil},
		{"key with use enc", signed("ES256", other, "enc"), ErrAlgorithm},
		{"key with alg ES384", signed("ES256", other, "es384"), ErrAlgorithm},
		{"key without verify in key_ops", signed("ES256", other, "sign-only"), ErrAlgorithm},
		{"RSA key", signed("ES256", other, "rsa"), ErrAlgorithm},
		{"P-384 key", signed("ES256", other, "p384"), ErrAlgorithm},
		{"secret key", signed("ES256", other, "oct"), ErrAlgorithm},
		{"HS256 with the secret key", signed("HS256", testSecret, "oct"), ErrAlgorithm},
		{"RS256 with the RSA key", signed("RS256", rsaKey, "rsa"), ErrAlgorithm},
	})
}

func TestRemoteConfigRefusals(t *testing.T) {
	const url = "http://127.0.0.1:1/jwks.json" // never fetched: refused before
	key := newP256(t)
	tests := []struct {
		name string
		cfg  Config
		opts []Option
	}{
		{"http to another host", Config{Algorithm: "ES256", JWKSURL: "http://idp.example.com/jwks.json"}, nil},
		{"http to a private address", Config{Algorithm: "ES256", JWKSURL: "http://10.0.0.1/jwks.json"}, nil},
		{"ftp", Config{Algorithm: "ES256", JWKSURL: "ftp://127.0.0.1/jwks.json"}, nil},
		{"file", Config{Algorithm: "ES256", JWKSURL: "file:///etc/jwks.json"}, nil},
		{"relative", Config{Algorithm: "ES256", JWKSURL: "/.well-known/jwks.json"}, nil},
		{"no host", Config{Algorithm: "ES256", JWKSURL: "https://"}, nil},
		{"no scheme", Config{Algorithm: "ES256", JWKSURL: "127.0.0.1:8080/jwks.json"}, nil},
		{"credentials", Config{Algorithm: "ES256", JWKSURL: "https://user:hunter2@idp.example.com/jwks.json"}, nil},
		{"HS256", Config{Algorithm: "HS256", JWKSURL: url}, nil},
		{"with a Secret", Config{Algorithm: "ES256", JWKSURL: url, Secret: testSecret}, nil},
		{"with a PrivateKey", Config{Algorithm: "ES256", JWKSURL: url, PrivateKey: key}, nil},
		{"with a PublicKey", Config{Algorithm: "ES256", JWKSURL: url, PublicKey: key.Public()}, nil},
		{"with a KeyID", Config{Algorithm: "ES256", JWKSURL: url, KeyID: "k1"}, nil},
		{"zero refresh interval", Config{Algorithm: "ES256", JWKSURL: url}, []Option{WithJWKSRefreshInterval(0)}},
		{"negative refresh interval", Config{Algorithm: "ES256", JWKSURL: url}, []Option{WithJWKSRefreshInterval(-time.Second)}},
		{"negative unknown-kid rate", Config{Algorithm: "ES256", JWKSURL: url}, []Option{WithJWKSRefreshUnknownKID(-time.Second)}},
		{"zero timeout", Config{Algorithm: "ES256", JWKSURL: url}, []Option{WithJWKSTimeout(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Issuer = testIssuer
			m, err := New(tt.cfg, tt.opts...)
			if !errors.Is(err, ErrConfig) || m != nil {
				t.Fatalf("New() = %v, %v; want ErrConfig", m, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q contains the password", err)
			}
		})
	}

	for _, ok := range []string{
		"https://idp.example.com/.well-known/jwks.json", "http://localhost:8080/jwks", "http://127.0.0.1/jwks", "http://[::1]:9/jwks",
	} {
		if err := checkJWKSURL(ok); err != nil {
			t.Errorf("checkJWKSURL(%q) error = %v", ok, err)
		}
	}
}

func TestRemoteClose(t *testing.T) {
	k1 := newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSRefreshInterval(5*time.Millisecond))
	eventually(t, "the background refresh runs", func() bool { return srv.fetches.Load() >= 3 })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a refresh under way may end
	n := srv.fetches.Load()
	time.Sleep(50 * time.Millisecond)
	if after := srv.fetches.Load(); after != n {
		t.Errorf("%d fetches after Close", after-n)
	}
	runVerifyCases(t, m, []verifyCase{
		{"cached key after Close", issue(t, publisher), nil},
		{"unknown kid after Close", craft(t, "ES256", k1, kidHeader("ES256", "k2"), claimsWith(nil)), ErrSignature},
	})
	if err := m.Close(); err != nil {
		t.Errorf("second Close() error = %v", err)
	}
	if err := publisher.Close(); err != nil {
		t.Errorf("Close() of a local Manager error = %v", err)
	}
}

// TestRemoteConcurrentVerify verifies from 100 goroutines while the set is
// refreshed in the background and the publisher rotates.
func TestRemoteConcurrentVerify(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSRefreshInterval(time.Millisecond))
	good := issue(t, publisher)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 100 {
		wg.Go(func() {
			for range 20 {
				if !verifies(m, good) {
					failed.Add(1)
				}
			}
		})
	}
	if err := publisher.AddKey(Key{ID: "k2", PublicKey: k2.Public()}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d verifications failed during refreshes", failed.Load())
	}
}

// BenchmarkVerifyRemote verifies the same ES256 token warm with the
// publisher's own keys and with a Manager that fetched them as a JWK Set.
func BenchmarkVerifyRemote(b *testing.B) {
	publisher, err := New(Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: newP256(b), KeyID: "k1"}, WithClock(testClock))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(publisher.JWKSHandler())
	b.Cleanup(srv.Close)
	m, err := New(Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: srv.URL}, WithClock(testClock))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	tok, err := publisher.AuthToken("alice", "read", nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		m    *Manager
	}{{"keys=own", publisher}, {"keys=jwks", m}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.m.Verify(ctx, tok.Signed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRemoteWarmKeyChanges verifies a kept token while the fetched set
// changes: a cache hit selects no key and allocates nothing while the set
// is the one the token was verified with; a fetch that keeps its key keeps
// it verifying, and the fetch that drops its key stops it at once.
func TestRemoteWarmKeyChanges(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	// Every unknown kid fetches the set again: the test decides when.
	m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSRefreshUnknownKID(time.Nanosecond))
	old := issue(t, publisher)
	refetch := func() {
		t.Helper()
		before := srv.fetches.Load()
		unknown := craft(t, "ES256", k1, kidHeader("ES256", randomKID()), claimsWith(nil))
		if _, err := m.Verify(context.Background(), unknown); !errors.Is(err, ErrSignature) {
			t.Fatalf("Verify(unknown kid) error = %v, want ErrSignature", err)
		}
		if srv.fetches.Load() == before {
			t.Fatal("an unknown kid fetched nothing")
		}
	}
	warmAllocs := func(what, token string) {
		t.Helper()
		if !verifies(m, token) {
			t.Fatalf("%s: does not verify", what)
		}
		if n := testing.AllocsPerRun(100, func() { verifies(m, token) }); n != 0 {
			t.Errorf("%s: %v allocations per warm Verify, want 0", what, n)
		}
	}

	warmAllocs("first fetch", old)
	if err := publisher.RotateKey(Key{ID: "k2", PrivateKey: k2}); err != nil {
		t.Fatal(err)
	}
	fresh := issue(t, publisher)
	warmAllocs("the new key", fresh) // fetched the set of k1 and k2
	warmAllocs("a fetch that keeps the key", old)
	refetch()
	warmAllocs("a second fetch that keeps the key", old)

	if err := publisher.RemoveKey("k1"); err != nil {
		t.Fatal(err)
	}
	refetch()
	runVerifyCases(t, m, []verifyCase{
		{"kept token of the removed key", old, ErrSignature},
		{"kept token of the remaining key", fresh, nil},
	})
	warmAllocs("the remaining key after its set changed", fresh)
}
