package manager

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/internal/metadata"
)

// issuerServer is an identity provider on loopback: metadata at the paths
// given to serve, JWK Sets of publishers at /jwks/{name}, and counts of the
// metadata fetches.
type issuerServer struct {
	*httptest.Server
	mu        sync.Mutex
	docs      map[string]func(w http.ResponseWriter) // metadata by path
	sets      map[string]*Manager                    // JWK Sets by name
	metaFetch atomic.Int64
}

func newIssuerServer(t *testing.T, tls bool) *issuerServer {
	t.Helper()
	s := &issuerServer{docs: map[string]func(http.ResponseWriter){}, sets: map[string]*Manager{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		doc, okDoc := s.docs[r.URL.Path]
		set, okSet := s.sets[strings.TrimPrefix(r.URL.Path, "/jwks/")]
		s.mu.Unlock()
		switch {
		case okDoc:
			s.metaFetch.Add(1)
			doc(w)
		case okSet && strings.HasPrefix(r.URL.Path, "/jwks/"):
			set.JWKSHandler().ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// serve answers path with the JSON of doc.
func (s *issuerServer) serve(path string, doc any) {
	b, _ := json.Marshal(doc)
	s.serveRaw(path, b)
}

// serveRaw answers path with body.
func (s *issuerServer) serveRaw(path string, body []byte) {
	s.serveFunc(path, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

func (s *issuerServer) serveFunc(path string, f func(http.ResponseWriter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = f
}

// publisher adds a Manager of issuer whose JWK Set is at /jwks/{kid}.
func (s *issuerServer) publisher(t *testing.T, issuer, kid string) *Manager {
	t.Helper()
	m := newTestManager(t, Config{Issuer: issuer, Algorithm: "ES256", PrivateKey: newP256(t), KeyID: kid})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sets[kid] = m
	return m
}

// openDiscovery is New of a Manager of issuer by discovery, on the test
// clock, closed with the test.
func openDiscovery(t *testing.T, issuer string, opts ...Option) (*Manager, error) {
	t.Helper()
	m, err := New(Config{Issuer: issuer, Discovery: true}, append([]Option{WithClock(testClock)}, opts...)...)
	if m != nil {
		t.Cleanup(func() { m.Close() })
	}
	return m, err
}

// TestDiscovery checks where the metadata is looked for, with an issuer
// with and without a path: OpenID Connect's path first, RFC 8414's when the
// first is not found.
func TestDiscovery(t *testing.T) {
	tests := []struct {
		name   string
		path   string // of the issuer
		served string // where its metadata is
	}{
		{"OpenID Connect", "", "/.well-known/openid-configuration"},
		{"OpenID Connect, issuer with a path", "/realms/acme", "/realms/acme/.well-known/openid-configuration"},
		{"OpenID Connect, issuer with a trailing slash", "/realms/acme/", "/realms/acme/.well-known/openid-configuration"},
		{"RFC 8414 after a 404", "", "/.well-known/oauth-authorization-server"},
		{"RFC 8414 after a 404, issuer with a path", "/tenant1", "/.well-known/oauth-authorization-server/tenant1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newIssuerServer(t, false)
			issuer := s.URL + tt.path
			pub := s.publisher(t, issuer, "a")
			s.serve(tt.served, map[string]any{"issuer": issuer, "jwks_uri": s.URL + "/jwks/a", "token_endpoint": s.URL + "/token"})
			m, err := openDiscovery(t, issuer)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			tok, err := pub.AuthToken("alice", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Verify(context.Background(), tok.Signed); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if _, err := m.AuthToken("alice", nil, nil); !errors.Is(err, ErrConfig) {
				t.Errorf("AuthToken of a discovered Manager = %v, want ErrConfig", err)
			}
		})
	}
}

// TestDiscoveryRefused lists the metadata New refuses, each with ErrJWKS
// (fetched and wrong) or ErrConfig (never fetched).
func TestDiscoveryRefused(t *testing.T) {
	const oidc = "/.well-known/openid-configuration"
	tests := []struct {
		name    string
		setup   func(s *issuerServer) (issuer string) // serves metadata
		tls     bool
		wantErr error
	}{
		{"no metadata at all", func(s *issuerServer) string { return s.URL }, false, ErrJWKS},
		{"issuer of another", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": "https://evil.example", "jwks_uri": s.URL + "/jwks/a"})
			return s.URL
		}, false, ErrJWKS},
		{"issuer differs by a trailing slash", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": s.URL + "/", "jwks_uri": s.URL + "/jwks/a"})
			return s.URL
		}, false, ErrJWKS},
		{"issuer differs in case", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": strings.ToUpper(s.URL), "jwks_uri": s.URL + "/jwks/a"})
			return s.URL
		}, false, ErrJWKS},
		{"issuer twice, the second ours", func(s *issuerServer) string {
			s.serveRaw(oidc, []byte(`{"issuer":"https://evil.example","jwks_uri":"`+s.URL+`/jwks/a","issuer":"`+s.URL+`"}`))
			return s.URL
		}, false, ErrJWKS},
		{"issuer not a string", func(s *issuerServer) string {
			s.serveRaw(oidc, []byte(`{"issuer":["`+s.URL+`"],"jwks_uri":"`+s.URL+`/jwks/a"}`))
			return s.URL
		}, false, ErrJWKS},
		{"not JSON", func(s *issuerServer) string {
			s.serveRaw(oidc, []byte(`<html>login</html>`))
			return s.URL
		}, false, ErrJWKS},
		{"oversized document", func(s *issuerServer) string {
			pad := strings.Repeat("x", metadata.MaxSize)
			s.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/a", "pad": pad})
			return s.URL
		}, false, ErrJWKS},
		{"oversized document, without Content-Length", func(s *issuerServer) string {
			s.serveFunc(oidc, func(w http.ResponseWriter) {
				w.Write([]byte(`{"issuer":"` + s.URL + `","jwks_uri":"` + s.URL + `/jwks/a","pad":"`))
				for range 300 {
					w.Write([]byte(strings.Repeat("x", 1024)))
					w.(http.Flusher).Flush()
				}
				w.Write([]byte(`"}`))
			})
			return s.URL
		}, false, ErrJWKS},
		{"no jwks_uri", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": s.URL})
			return s.URL
		}, false, ErrJWKS},
		{"jwks_uri over http to another host", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": "http://keys.example/jwks"})
			return s.URL
		}, false, ErrJWKS},
		{"jwks_uri not absolute", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": "/jwks/a"})
			return s.URL
		}, false, ErrJWKS},
		{"jwks_uri with credentials", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": "https://user:pw@keys.example/jwks"})
			return s.URL
		}, false, ErrJWKS},
		{"jwks_uri of no JWK Set", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/missing"})
			return s.URL
		}, false, ErrJWKS},
		{"500 on OpenID Connect's path: no fallback", func(s *issuerServer) string {
			s.serveFunc(oidc, func(w http.ResponseWriter) { http.Error(w, "down", http.StatusInternalServerError) })
			s.serve("/.well-known/oauth-authorization-server", map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/a"})
			return s.URL
		}, false, ErrJWKS},
		{"wrong document on OpenID Connect's path: no fallback", func(s *issuerServer) string {
			s.serve(oidc, map[string]any{"issuer": "https://evil.example", "jwks_uri": s.URL + "/jwks/a"})
			s.serve("/.well-known/oauth-authorization-server", map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/a"})
			return s.URL
		}, false, ErrJWKS},
		{"redirect from https to http", func(s *issuerServer) string {
			plain := newIssuerServer(t, false)
			plain.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/a"})
			s.serveFunc(oidc, func(w http.ResponseWriter) {
				w.Header().Set("Location", plain.URL+oidc)
				w.WriteHeader(http.StatusFound)
			})
			return s.URL
		}, true, ErrJWKS},
		{"issuer over http to another host", func(s *issuerServer) string { return "http://idp.example" }, false, ErrConfig},
		{"issuer with a query", func(s *issuerServer) string { return s.URL + "?tenant=1" }, false, ErrConfig},
		{"issuer not a URL", func(s *issuerServer) string { return "acme" }, false, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newIssuerServer(t, tt.tls)
			issuer := tt.setup(s)
			s.publisher(t, issuer, "a")
			start := time.Now()
			m, err := openDiscovery(t, issuer, WithJWKSHTTPClient(s.Client()), WithJWKSTimeout(2*time.Second))
			if m != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("New = %v, %v; want %v", m, err, tt.wantErr)
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("New took %v", elapsed)
			}
			if tt.wantErr == ErrConfig && s.metaFetch.Load() != 0 {
				t.Errorf("metadata fetched for an Issuer refused")
			}
		})
	}
}

// TestDiscoveryRedirectWithinHTTPS checks that a redirect that stays on
// https is followed.
func TestDiscoveryRedirectWithinHTTPS(t *testing.T) {
	const oidc = "/.well-known/openid-configuration"
	s := newIssuerServer(t, true)
	other := newIssuerServer(t, true)
	pub := s.publisher(t, s.URL, "a")
	other.serve("/meta", map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/a"})
	s.serveFunc(oidc, func(w http.ResponseWriter) {
		w.Header().Set("Location", other.URL+"/meta")
		w.WriteHeader(http.StatusFound)
	})
	m, err := openDiscovery(t, s.URL, WithJWKSHTTPClient(s.Client()))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tok, _ := pub.AuthToken("alice", nil, nil)
	if _, err := m.Verify(context.Background(), tok.Signed); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestDiscoveryExclusive checks that Discovery takes no other key source.
func TestDiscoveryExclusive(t *testing.T) {
	set := jwkSet(t, jwkOf(t, newP256(t).Public(), map[string]any{"kid": "a"}))
	for name, cfg := range map[string]Config{
		"JWKSURL":    {JWKSURL: "https://idp.example/jwks"},
		"JWKS":       {JWKS: set},
		"Secret":     {Algorithm: "HS256", Secret: testSecret},
		"PrivateKey": {Algorithm: "ES256", PrivateKey: newP256(t)},
		"HS256":      {Algorithm: "HS256"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Issuer, cfg.Discovery = "https://idp.example", true
			if m, err := New(cfg); m != nil || !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, %v; want ErrConfig", m, err)
			}
		})
	}
}

// TestDiscoveryFollowsMove checks that the metadata is read again every
// refresh interval: a provider that moves its keys to another jwks_uri is
// followed, a failed reading keeps the keys held and is reported, and
// Close ends the readings.
func TestDiscoveryFollowsMove(t *testing.T) {
	const oidc = "/.well-known/openid-configuration"
	s := newIssuerServer(t, false)
	a, b := s.publisher(t, s.URL, "a"), s.publisher(t, s.URL, "b")
	s.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/a"})
	var reported atomic.Int64
	m, err := openDiscovery(t, s.URL,
		WithJWKSRefreshInterval(50*time.Millisecond),
		WithJWKSRefreshUnknownKID(0),
		WithJWKSErrorHandler(func(error) { reported.Add(1) }))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tokA, _ := a.AuthToken("alice", nil, nil)
	tokB, _ := b.AuthToken("bob", nil, nil)
	ctx := context.Background()
	if _, err := m.Verify(ctx, tokA.Signed); err != nil {
		t.Fatalf("Verify(a): %v", err)
	}
	if _, err := m.Verify(ctx, tokB.Signed); !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify(b) before the move = %v, want ErrSignature", err)
	}

	// The metadata fails: the keys held serve, the failure is reported.
	s.serveFunc(oidc, func(w http.ResponseWriter) { http.Error(w, "down", http.StatusServiceUnavailable) })
	waitFor(t, func() bool { return reported.Load() > 0 })
	if _, err := m.Verify(ctx, tokA.Signed); err != nil {
		t.Fatalf("Verify(a) while the metadata fails: %v", err)
	}

	// The provider moves its keys.
	s.serve(oidc, map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/jwks/b"})
	waitFor(t, func() bool {
		_, err := m.Verify(ctx, tokB.Signed)
		return err == nil
	})
	if _, err := m.Verify(ctx, tokA.Signed); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify(a) after the move = %v, want ErrSignature", err)
	}

	m.Close()
	fetches := s.metaFetch.Load()
	time.Sleep(200 * time.Millisecond)
	if got := s.metaFetch.Load(); got != fetches {
		t.Errorf("%d metadata fetches after Close", got-fetches)
	}
	if _, err := m.Verify(ctx, tokB.Signed); err != nil {
		t.Errorf("Verify(b) after Close: %v", err)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDiscoveryFromEnv reads JWT_DISCOVERY.
func TestDiscoveryFromEnv(t *testing.T) {
	for value, want := range map[string]bool{"": false, "true": true, "1": true, "TRUE": true, "false": false, "0": false} {
		cfg, err := ConfigFromLookup(func(name string) string {
			return map[string]string{"JWT_DISCOVERY": value}[name]
		})
		if err != nil || cfg.Discovery != want {
			t.Errorf("JWT_DISCOVERY=%q: Discovery = %v, %v; want %v", value, cfg.Discovery, err, want)
		}
	}
	for _, value := range []string{"yes", "on", "2"} {
		_, err := ConfigFromLookup(func(name string) string {
			return map[string]string{"JWT_DISCOVERY": value}[name]
		})
		if !errors.Is(err, ErrConfig) {
			t.Errorf("JWT_DISCOVERY=%q: %v, want ErrConfig", value, err)
		}
	}
}

// TestDiscoveryContext checks that Open's ctx bounds the discovery: a
// provider that never answers its metadata fails Open when ctx ends, and a
// done ctx fetches nothing.
func TestDiscoveryContext(t *testing.T) {
	const oidc = "/.well-known/openid-configuration"
	s := newIssuerServer(t, false)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s.serveFunc(oidc, func(http.ResponseWriter) { <-release })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	m, err := Open(ctx, Config{Issuer: s.URL, Discovery: true})
	if m != nil || !errors.Is(err, ErrJWKS) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open = %v, %v; want ErrJWKS and DeadlineExceeded", m, err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Open took %v", elapsed)
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	before := s.metaFetch.Load()
	if m, err := Open(done, Config{Issuer: s.URL, Discovery: true}); m != nil || !errors.Is(err, ErrJWKS) {
		t.Fatalf("Open(done ctx) = %v, %v; want ErrJWKS", m, err)
	}
	if s.metaFetch.Load() != before {
		t.Error("metadata fetched with a done ctx")
	}
}

// TestDiscoveryEvents checks that every read of the metadata is reported
// as an EventDiscoveryRead, failed or not, for operators to count.
func TestDiscoveryEvents(t *testing.T) {
	s := newIssuerServer(t, false)
	issuer := s.URL
	s.publisher(t, issuer, "a")
	var mu sync.Mutex
	var events []Event
	record := WithEvents(func(e Event) {
		if e.Kind == EventDiscoveryRead {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	})
	// No document at either path: one read, failed.
	if _, err := openDiscovery(t, issuer, record); !errors.Is(err, ErrJWKS) {
		t.Fatalf("New without metadata = %v, want ErrJWKS", err)
	}
	s.serve("/.well-known/openid-configuration", map[string]any{"issuer": issuer, "jwks_uri": s.URL + "/jwks/a"})
	if _, err := openDiscovery(t, issuer, record); err != nil {
		t.Fatalf("New: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Err == nil || events[1].Err != nil {
		t.Fatalf("events = %+v, want a failed read then a successful one", events)
	}
	for _, e := range events {
		if e.Duration <= 0 || e.Kind.String() != "discovery_read" {
			t.Errorf("event %+v: no duration or kind name", e)
		}
	}
}
