package manager

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// paddedJWKS returns the JWK Set of the ES256 Manager pub padded with an
// extra member to n bytes.
func paddedJWKS(t *testing.T, pub *Manager, n int) []byte {
	t.Helper()
	doc := pub.JWKS()
	pad := n - len(doc) - len(`,"pad":""`)
	if pad < 0 {
		t.Fatalf("test bug: JWK Set of %d bytes is over %d", len(doc), n)
	}
	return []byte(string(doc[:len(doc)-1]) + `,"pad":"` + strings.Repeat("x", pad) + `"}`)
}

// TestRemoteResponseSizeBound checks that a JWK Set response over the
// bound is refused, whether it says its length or not, and that one at the
// bound is read.
func TestRemoteResponseSizeBound(t *testing.T) {
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k1"})
	tests := []struct {
		name    string
		size    int
		chunked bool // no Content-Length: the body is cut while read
		wantErr bool
	}{
		{"at the bound", maxJWKSSize, false, false},
		{"at the bound, chunked", maxJWKSSize, true, false},
		{"one byte over", maxJWKSSize + 1, false, true},
		{"one byte over, chunked", maxJWKSSize + 1, true, true},
		{"64 MiB, chunked", 64 << 20, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := paddedJWKS(t, publisher, tt.size)
			srv := newJWKSServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.chunked {
					w.Write(doc[:1])
					w.(http.Flusher).Flush() // sent before its length is known
					w.Write(doc[1:])
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
				w.Write(doc)
			}))
			start := time.Now()
			_, err := openTestRemote(t, context.Background(), srv.URL, "ES256")
			if tt.wantErr != (err != nil) || err != nil && !errors.Is(err, ErrJWKS) {
				t.Fatalf("Open() error = %v, want error: %v", err, tt.wantErr)
			}
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("Open() took %v", elapsed)
			}
		})
	}
}

// TestRemoteRedirects checks that a redirect from https to http is refused
// on every hop, including to a loopback host that would pass as a JWKSURL
// of its own, and that redirects within https are followed.
func TestRemoteRedirects(t *testing.T) {
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: newP256(t), KeyID: "k1"})
	plain := newJWKSServer(t, publisher.JWKSHandler()) // http, loopback
	secure := httptest.NewTLSServer(publisher.JWKSHandler())
	t.Cleanup(secure.Close)
	redirectTo := func(target string) *httptest.Server {
		s := httptest.NewTLSServer(http.RedirectHandler(target, http.StatusFound))
		t.Cleanup(s.Close)
		return s
	}
	client := secure.Client() // trusts the test certificate of every TLS server
	tests := []struct {
		name    string
		url     string
		wantErr bool
	}{
		{"https to https", redirectTo(secure.URL).URL, false},
		{"https to https to https", redirectTo(redirectTo(secure.URL).URL).URL, false},
		{"https to http", redirectTo(plain.URL).URL, true},
		{"https to https to http", redirectTo(redirectTo(plain.URL).URL).URL, true},
		{"https to non-loopback http", redirectTo("http://jwks.example/keys").URL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := plain.fetches.Load()
			_, err := openTestRemote(t, context.Background(), tt.url, "ES256", WithJWKSHTTPClient(client))
			if tt.wantErr != (err != nil) || err != nil && !errors.Is(err, ErrJWKS) {
				t.Fatalf("Open() error = %v, want error: %v", err, tt.wantErr)
			}
			if plain.fetches.Load() != before {
				t.Errorf("the http server was fetched after a redirect from https")
			}
		})
	}

	// From an http loopback URL, a redirect may go to https or loopback only.
	toOutside := newJWKSServer(t, http.RedirectHandler("http://jwks.example/keys", http.StatusFound))
	if _, err := openTestRemote(t, context.Background(), toOutside.URL, "ES256"); !errors.Is(err, ErrJWKS) {
		t.Errorf("http loopback to http elsewhere: Open() error = %v, want ErrJWKS", err)
	}
	toLoopback := newJWKSServer(t, http.RedirectHandler(plain.URL, http.StatusFound))
	if _, err := openTestRemote(t, context.Background(), toLoopback.URL, "ES256"); err != nil {
		t.Errorf("http loopback to http loopback: Open() error = %v", err)
	}
}

// TestRemoteRedirectOnRefresh checks that a redirect to http met on a
// background refresh is refused too: the keys of the first fetch stay.
func TestRemoteRedirectOnRefresh(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	first := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	second := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k2, KeyID: "k2"})
	plain := newJWKSServer(t, second.JWKSHandler())
	var redirect atomic.Bool
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if redirect.Load() {
			http.Redirect(w, r, plain.URL, http.StatusFound)
			return
		}
		first.JWKSHandler().ServeHTTP(w, r)
	}))
	t.Cleanup(secure.Close)
	var failures errorCount
	m := mustOpenRemote(t, secure.URL, "ES256", WithJWKSHTTPClient(secure.Client()),
		WithJWKSRefreshInterval(10*time.Millisecond), WithJWKSErrorHandler(failures.handle))
	redirect.Store(true)
	eventually(t, "a refresh fails", func() bool { return failures.n.Load() > 0 })
	if plain.fetches.Load() != 0 {
		t.Fatal("a refresh followed a redirect to http")
	}
	if !verifies(m, craft(t, "ES256", k1, kidHeader("ES256", "k1"), claimsWith(nil))) {
		t.Error("the keys of the first fetch were dropped")
	}
	if verifies(m, craft(t, "ES256", k2, kidHeader("ES256", "k2"), claimsWith(nil))) {
		t.Error("a key served over http after a redirect verifies")
	}
}

// TestRemoteUnknownKIDHonoursDeadline checks that Verify of a token with
// an unknown kid, whose fetch hangs, returns by the caller's deadline
// rather than after WithJWKSTimeout, refused.
func TestRemoteUnknownKIDHonoursDeadline(t *testing.T) {
	k1 := newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := newJWKSServer(t, publisher.JWKSHandler())
	m := mustOpenRemote(t, srv.URL, "ES256", WithJWKSTimeout(20*time.Second), WithJWKSRefreshUnknownKID(time.Millisecond))
	srv.mode.Store(serveHang)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Verify(ctx, craft(t, "ES256", k1, kidHeader("ES256", randomKID()), claimsWith(nil)))
	if !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify() error = %v, want ErrSignature", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("Verify() returned after %v, past the caller's deadline of 200ms", elapsed)
	}
	if srv.fetches.Load() < 2 {
		t.Fatalf("test bug: no fetch for the unknown kid")
	}
}
