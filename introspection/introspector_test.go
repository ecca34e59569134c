package introspection_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/introspection"
	"github.com/protojwt/protojwt/manager"
)

// clock is a settable time for WithClock.
type clock struct{ at atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.at.Store(time.Now().UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.at.Load()) }
func (c *clock) advance(d time.Duration) { c.at.Add(int64(d)) }

func newIntrospector(t *testing.T, s *server, opts ...introspection.Option) *introspection.Introspector {
	t.Helper()
	in, err := introspection.New(context.Background(), introspection.Config{
		Issuer: s.issuer, Endpoint: s.endpoint(), ClientID: s.clientID, ClientSecret: s.secret,
	}, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return in
}

// TestVerify maps an active answer to a Token that rules read as they read
// a JWT's, and refuses every other answer with the error its reason needs.
func TestVerify(t *testing.T) {
	s := newServer(t)
	now := time.Now()
	exp := float64(now.Add(time.Hour).Unix())
	s.add("opaque-alice", map[string]any{
		"sub": "alice", "scope": "orders:read orders:write", "iss": s.issuer, "exp": exp, "iat": float64(now.Unix()),
		"client_id": "web", "aud": []any{"orders"}, "groups": []any{"ops"}, "account": 1234567890123456789,
	})
	s.add("opaque-expired", map[string]any{"sub": "bob", "exp": float64(now.Add(-time.Minute).Unix())})
	s.add("opaque-future", map[string]any{"sub": "bob", "nbf": float64(now.Add(time.Hour).Unix())})
	s.add("opaque-other-issuer", map[string]any{"sub": "bob", "iss": "https://other.example"})
	s.add("opaque-refresh", map[string]any{"sub": "bob", "token_type": "refresh_token"})
	s.add("opaque-bad-sub", map[string]any{"sub": 42})
	in := newIntrospector(t, s)

	tok, err := in.Verify(context.Background(), "opaque-alice")
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if tok.Subject != "alice" || tok.Issuer != s.issuer || tok.Type != manager.Auth || tok.Scope != "orders:read orders:write" ||
		tok.ExpiresAt.Unix() != int64(exp) || tok.IssuedAt.Unix() != now.Unix() || tok.Claims["client_id"] != "web" {
		t.Errorf("Token = %+v", tok)
	}
	var decoded struct {
		Account uint64 `json:"account"`
	}
	if err := tok.Decode(&decoded); err != nil || decoded.Account != 1234567890123456789 {
		t.Errorf("Decode = %v, account %d: a large integer must stay exact", err, decoded.Account)
	}
	rule, err := rules.Compile(rules.Spec{
		Scopes: []string{"orders:write"}, Issuers: []string{s.issuer}, Audiences: []string{"orders"},
		Checks: []rules.Check{{Path: []string{"groups"}, Op: rules.OpContains, Match: rules.Match{Value: "ops"}}},
		Claims: map[string]rules.Match{"client_id": {Value: "web"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rule.Check(tok, rules.Deferred); err != nil {
		t.Errorf("a rule of scopes, issuer, audience, checks and claims: %v", err)
	}
	tok.Claims["groups"] = []any{"nobody"} // a handler's change reaches no decision
	if err := rule.Check(tok, rules.Deferred); err != nil {
		t.Errorf("after a handler changed Claims: %v", err)
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"inactive", "opaque-unknown", introspection.ErrInactive},
		{"expired", "opaque-expired", manager.ErrExpired},
		{"not yet valid", "opaque-future", manager.ErrNotYetValid},
		{"other issuer", "opaque-other-issuer", manager.ErrIssuer},
		{"sub not a string", "opaque-bad-sub", manager.ErrKeysUnavailable},
		{"empty", "", manager.ErrMalformed},
		{"space", "opaque alice", manager.ErrMalformed},
		{"control character", "opaque\x00alice", manager.ErrMalformed},
		{"too long", strings.Repeat("a", 8<<10+1), manager.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.calls.Load()
			tok, err := in.Verify(context.Background(), tt.token)
			if !errors.Is(err, tt.want) || tok != nil {
				t.Fatalf("Verify = %v, %v; want %v", tok, err, tt.want)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q holds the token", err)
			}
			if errors.Is(tt.want, manager.ErrMalformed) && s.calls.Load() != before {
				t.Errorf("a malformed token was sent to the endpoint")
			}
		})
	}
	if tok, err := in.Verify(context.Background(), "opaque-refresh"); err != nil || tok.Type != manager.Refresh {
		t.Errorf("a refresh token: %v, %v", tok, err)
	}
}

// TestOutages checks that an endpoint that can't judge the token never
// allows it: every failure wraps manager.ErrKeysUnavailable (retryable),
// is not cached, and holds neither the token nor the client's secret.
func TestOutages(t *testing.T) {
	tests := []struct {
		name string
		set  func(s *server)
		opts []introspection.Option
	}{
		{"500", func(s *server) { s.status = http.StatusInternalServerError }, nil},
		{"503", func(s *server) { s.status = http.StatusServiceUnavailable }, nil},
		{"400", func(s *server) { s.status = http.StatusBadRequest }, nil},
		{"wrong client secret", func(s *server) { s.secret = "another" }, nil},
		{"huge body", func(s *server) { s.body = `{"active":true,"sub":"alice","pad":"` + strings.Repeat("x", 1<<20) + `"}` }, nil},
		{"just over the bound", func(s *server) { s.body = `{"active":true,"pad":"` + strings.Repeat("x", 1000) + `"}` }, []introspection.Option{introspection.WithMaxResponseBytes(1000)}},
		{"not JSON", func(s *server) { s.body = `<html>` }, nil},
		{"a JSON array", func(s *server) { s.body = `[{"active":true}]` }, nil},
		{"trailing data", func(s *server) { s.body = `{"active":true} {"active":true}` }, nil},
		{"slower than WithTimeout", func(s *server) { s.delay = 300 * time.Millisecond }, []introspection.Option{introspection.WithTimeout(50 * time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.add("opaque-alice", map[string]any{"sub": "alice"})
			in := newIntrospector(t, s, tt.opts...)
			s.set(tt.set)
			for range 2 { // not cached: each call asks again
				tok, err := in.Verify(context.Background(), "opaque-alice")
				if !errors.Is(err, manager.ErrKeysUnavailable) || tok != nil {
					t.Fatalf("Verify = %v, %v; want ErrKeysUnavailable", tok, err)
				}
				if strings.Contains(err.Error(), "opaque-alice") || strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %q holds the token or the secret", err)
				}
			}
			if n := s.calls.Load(); n != 2 {
				t.Errorf("%d requests, want 2: a failure must not be cached", n)
			}
		})
	}
	t.Run("endpoint down", func(t *testing.T) {
		s := newServer(t)
		in := newIntrospector(t, s)
		s.Close()
		if _, err := in.Verify(context.Background(), "opaque-alice"); !errors.Is(err, manager.ErrKeysUnavailable) {
			t.Fatalf("Verify = %v, want ErrKeysUnavailable", err)
		}
	})
}

// TestCallerContext checks that a caller stops waiting when its context
// ends, while the endpoint is slow, and that the request goes on for the
// others.
func TestCallerContext(t *testing.T) {
	s := newServer(t)
	s.add("opaque-alice", map[string]any{"sub": "alice"})
	block := make(chan struct{})
	s.set(func(s *server) { s.block = block })
	in := newIntrospector(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := in.Verify(ctx, "opaque-alice")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Verify returned after %v", d)
	}
	close(block)
	tok, err := in.Verify(context.Background(), "opaque-alice")
	if err != nil || tok.Subject != "alice" {
		t.Fatalf("Verify after the endpoint answered = %v, %v", tok, err)
	}
	if n := s.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the second caller joins the first's", n)
	}
}

// TestCache checks how long answers are reused: an active one until the
// earlier of its exp and WithCacheTTL, an inactive one WithInactiveTTL.
func TestCache(t *testing.T) {
	s := newServer(t)
	c := newClock()
	s.add("opaque-long", map[string]any{"sub": "alice", "exp": float64(c.now().Add(24 * time.Hour).Unix())})
	s.add("opaque-short", map[string]any{"sub": "alice", "exp": float64(c.now().Add(30 * time.Second).Unix())})
	in := newIntrospector(t, s, introspection.WithClock(c.now), introspection.WithCacheTTL(time.Minute), introspection.WithInactiveTTL(5*time.Second))
	verify := func(token string) error { _, err := in.Verify(context.Background(), token); return err }

	for range 3 {
		if err := verify("opaque-long"); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.calls.Load(); n != 1 {
		t.Fatalf("%d requests for three calls, want 1", n)
	}
	c.advance(61 * time.Second) // past WithCacheTTL
	if err := verify("opaque-long"); err != nil || s.calls.Load() != 2 {
		t.Fatalf("after WithCacheTTL: %v, %d requests; want a second request", err, s.calls.Load())
	}

	c.advance(-61 * time.Second)
	if err := verify("opaque-short"); err != nil || s.calls.Load() != 3 {
		t.Fatalf("short: %v, %d requests", err, s.calls.Load())
	}
	c.advance(31 * time.Second) // past its exp, within WithCacheTTL
	if err := verify("opaque-short"); !errors.Is(err, manager.ErrExpired) {
		t.Fatalf("after exp = %v, want ErrExpired", err)
	}
	if n := s.calls.Load(); n != 4 {
		t.Errorf("%d requests: an answer must not be reused past the token's exp", n)
	}

	for range 3 {
		if err := verify("opaque-nobody"); !errors.Is(err, introspection.ErrInactive) {
			t.Fatalf("inactive = %v", err)
		}
	}
	if n := s.calls.Load(); n != 5 {
		t.Fatalf("%d requests: an inactive answer is reused for WithInactiveTTL", n)
	}
	s.add("opaque-nobody", map[string]any{"sub": "carol"})
	c.advance(6 * time.Second)
	if err := verify("opaque-nobody"); err != nil {
		t.Errorf("after WithInactiveTTL: %v, want the endpoint asked again", err)
	}
}

// TestCacheBytes fills the cache past its bound: it keeps within it and
// keeps the most recently used.
func TestCacheBytes(t *testing.T) {
	s := newServer(t)
	for i := range 400 {
		s.add(fmt.Sprintf("opaque-%d", i), map[string]any{"sub": "alice", "pad": strings.Repeat("x", 200)})
	}
	const bound = 64 << 10
	in := newIntrospector(t, s, introspection.WithCacheBytes(bound))
	for i := range 400 {
		if _, err := in.Verify(context.Background(), fmt.Sprintf("opaque-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	n, bytes := introspection.CacheStats(in)
	if bytes > bound || n == 0 || n >= 400 {
		t.Errorf("cache holds %d answers, %d bytes; want some, within %d", n, bytes, bound)
	}
	calls := s.calls.Load()
	if _, err := in.Verify(context.Background(), "opaque-399"); err != nil || s.calls.Load() != calls {
		t.Errorf("the most recent answer was evicted")
	}
}

// TestSingleFlight sends one token from 100 goroutines at once: one
// request, every caller the same Token.
func TestSingleFlight(t *testing.T) {
	s := newServer(t)
	s.add("opaque-alice", map[string]any{"sub": "alice"})
	block := make(chan struct{})
	s.set(func(s *server) { s.block = block })
	in := newIntrospector(t, s)
	var wg sync.WaitGroup
	toks := make([]*manager.Token, 100)
	errs := make([]error, 100)
	for i := range 100 {
		wg.Go(func() { toks[i], errs[i] = in.Verify(context.Background(), "opaque-alice") })
	}
	time.Sleep(100 * time.Millisecond)
	close(block)
	wg.Wait()
	for i := range 100 {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
	}
	if n := s.calls.Load(); n != 1 {
		t.Errorf("%d requests for 100 concurrent calls, want 1", n)
	}
}

// TestConcurrentTokens verifies many tokens from many goroutines, under
// -race: the cache and the flights stay consistent.
func TestConcurrentTokens(t *testing.T) {
	s := newServer(t)
	for i := range 20 {
		s.add(fmt.Sprintf("opaque-%d", i), map[string]any{"sub": fmt.Sprint(i)})
	}
	in := newIntrospector(t, s, introspection.WithCacheBytes(8<<10))
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 40 {
				token := fmt.Sprintf("opaque-%d", (g+i)%25)
				tok, err := in.Verify(context.Background(), token)
				switch {
				case (g+i)%25 >= 20 && !errors.Is(err, introspection.ErrInactive):
					t.Errorf("%s: %v, want ErrInactive", token, err)
				case (g+i)%25 < 20 && (err != nil || tok.Subject != fmt.Sprint((g+i)%25)):
					t.Errorf("%s: %v", token, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestClientAuth authenticates with client_secret_basic (form-encoded
// before Basic) and private_key_jwt with RSA and ECDSA keys; the endpoint
// checks the assertion's iss, sub, aud, jti and exp.
func TestClientAuth(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s := newServer(t)
	s.add("opaque-alice", map[string]any{"sub": "alice"})
	basic := newIntrospector(t, s)
	if _, err := basic.Verify(context.Background(), "opaque-alice"); err != nil {
		t.Fatalf("client_secret_basic: %v (%s)", err, s.refused())
	}
	for name, key := range map[string]crypto.Signer{"RS256": rsaKey, "ES256": ecKey} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t)
			s.add("opaque-alice", map[string]any{"sub": "alice"})
			s.key = key.Public()
			cfg := introspection.Config{Issuer: s.issuer, Endpoint: s.endpoint(), ClientID: s.clientID, KeyID: "k1", PrivateKey: key}
			in, err := introspection.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := in.Verify(context.Background(), "opaque-alice"); err != nil {
				t.Fatalf("private_key_jwt: %v (%s)", err, s.refused())
			}
			// Another client's key: refused by the endpoint, an outage here.
			other, _ := rsa.GenerateKey(rand.Reader, 2048)
			cfg.PrivateKey, cfg.Algorithm = other, ""
			in, err = introspection.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := in.Verify(context.Background(), "opaque-bob"); !errors.Is(err, manager.ErrKeysUnavailable) {
				t.Fatalf("a key the endpoint does not know: %v, want ErrKeysUnavailable", err)
			}
		})
	}
}

// TestConfigErrors refuses configurations that can't work or would leak a
// secret, before any request.
func TestConfigErrors(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ok := introspection.Config{Endpoint: "https://idp.example/introspect", ClientID: "api", ClientSecret: "x"}
	with := func(f func(c *introspection.Config)) introspection.Config { c := ok; f(&c); return c }
	tests := []struct {
		name string
		cfg  introspection.Config
		opts []introspection.Option
	}{
		{"no endpoint nor issuer", with(func(c *introspection.Config) { c.Endpoint = "" }), nil},
		{"no client id", with(func(c *introspection.Config) { c.ClientID = "" }), nil},
		{"no credentials", with(func(c *introspection.Config) { c.ClientSecret = "" }), nil},
		{"both credentials", with(func(c *introspection.Config) { c.PrivateKey = rsaKey }), nil},
		{"algorithm for a secret", with(func(c *introspection.Config) { c.Algorithm = "RS256" }), nil},
		{"algorithm not of the key", with(func(c *introspection.Config) { c.ClientSecret, c.PrivateKey, c.Algorithm = "", rsaKey, "ES256" }), nil},
		{"HS algorithm", with(func(c *introspection.Config) { c.ClientSecret, c.PrivateKey, c.Algorithm = "", rsaKey, "HS256" }), nil},
		{"plain http", with(func(c *introspection.Config) { c.Endpoint = "http://idp.example/introspect" }), nil},
		{"relative endpoint", with(func(c *introspection.Config) { c.Endpoint = "/introspect" }), nil},
		{"endpoint with a fragment", with(func(c *introspection.Config) { c.Endpoint = "https://idp.example/introspect#x" }), nil},
		{"endpoint with credentials", with(func(c *introspection.Config) { c.Endpoint = "https://u:p@idp.example/introspect" }), nil},
		{"issuer plain http", with(func(c *introspection.Config) { c.Endpoint, c.Issuer = "", "http://idp.example" }), nil},
		{"negative TTL", ok, []introspection.Option{introspection.WithCacheTTL(-1)}},
		{"zero response bound", ok, []introspection.Option{introspection.WithMaxResponseBytes(0)}},
		{"nil client", ok, []introspection.Option{introspection.WithHTTPClient(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := introspection.New(context.Background(), tt.cfg, tt.opts...)
			if !errors.Is(err, manager.ErrConfig) || in != nil {
				t.Fatalf("New = %v, %v; want ErrConfig", in, err)
			}
		})
	}
}

// TestMaxInFlight bounds the requests at a time: a token that finds no
// room within WithTimeout is an outage, never an allow.
func TestMaxInFlight(t *testing.T) {
	s := newServer(t)
	s.add("opaque-a", map[string]any{"sub": "a"})
	s.add("opaque-b", map[string]any{"sub": "b"})
	block := make(chan struct{})
	s.set(func(s *server) { s.block = block })
	in := newIntrospector(t, s, introspection.WithMaxInFlight(1), introspection.WithTimeout(300*time.Millisecond))
	first := make(chan error, 1)
	go func() { _, err := in.Verify(context.Background(), "opaque-a"); first <- err }()
	time.Sleep(50 * time.Millisecond)
	if _, err := in.Verify(context.Background(), "opaque-b"); !errors.Is(err, manager.ErrKeysUnavailable) {
		t.Errorf("a second token while the only slot is taken: %v, want ErrKeysUnavailable", err)
	}
	close(block)
	<-first
	if tok, err := in.Verify(context.Background(), "opaque-b"); err != nil || tok.Subject != "b" {
		t.Errorf("once the slot is free: %v, %v", tok, err)
	}
}

// TestIssuerAndAudience checks Config.Issuer and Config.Audience on the
// answer: an answer without iss is the configured issuer's, one of another
// audience is refused (and cached as refused), a list naming one passes.
func TestIssuerAndAudience(t *testing.T) {
	s := newServer(t)
	s.add("opaque-no-iss", map[string]any{"sub": "alice", "aud": "orders"})
	s.add("opaque-list", map[string]any{"sub": "alice", "aud": []any{"billing", "orders"}})
	s.add("opaque-other", map[string]any{"sub": "alice", "aud": "billing"})
	s.add("opaque-none", map[string]any{"sub": "alice"})
	in, err := introspection.New(context.Background(), introspection.Config{
		Issuer: s.issuer, Endpoint: s.endpoint(), ClientID: s.clientID, ClientSecret: s.secret, Audience: []string{"orders"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := in.Verify(context.Background(), "opaque-no-iss"); err != nil || tok.Issuer != s.issuer || tok.Claims["iss"] != s.issuer {
		t.Errorf("an answer without iss: %v, %v; want the configured issuer", tok, err)
	}
	if _, err := in.Verify(context.Background(), "opaque-list"); err != nil {
		t.Errorf("aud list naming orders: %v", err)
	}
	for _, token := range []string{"opaque-other", "opaque-none", "opaque-other"} {
		if tok, err := in.Verify(context.Background(), token); !errors.Is(err, manager.ErrAudience) || tok != nil {
			t.Errorf("%s: %v, %v; want ErrAudience", token, tok, err)
		}
	}
	if n := s.calls.Load(); n != 4 {
		t.Errorf("%d requests, want 4: a refused audience is cached", n)
	}
}

// TestNoRedirects refuses an endpoint that redirects, even with 307 (which
// would resend the form): the token and the credentials stay with the
// endpoint configured.
func TestNoRedirects(t *testing.T) {
	elsewhere := newServer(t)
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			redirecting := httptest.NewServer(http.RedirectHandler(elsewhere.endpoint(), status))
			defer redirecting.Close()
			in, err := introspection.New(context.Background(), introspection.Config{Endpoint: redirecting.URL, ClientID: "orders-api", ClientSecret: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := in.Verify(context.Background(), "opaque-alice"); !errors.Is(err, manager.ErrKeysUnavailable) {
				t.Errorf("Verify = %v, want ErrKeysUnavailable", err)
			}
			if n := elsewhere.calls.Load(); n != 0 {
				t.Errorf("the redirect was followed: %d requests elsewhere", n)
			}
		})
	}
}
