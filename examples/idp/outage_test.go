package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/protojwt/protojwt/examples/idp/provider"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// answer is what the service answered one call.
type answer struct {
	status     int
	reason     string
	retryAfter string
}

// call calls srv with token.
func call(t *testing.T, srv *httptest.Server, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return answer{resp.StatusCode, body.Reason, resp.Header.Get("Retry-After")}
}

// serveOrders serves a route that takes m's tokens, on loopback.
func serveOrders(t *testing.T, m *manager.Manager) *httptest.Server {
	t.Helper()
	g := httpauth.New(m)
	mux := http.NewServeMux()
	mux.Handle("GET /orders", g.Require(httpauth.Scopes("orders:read"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("orders"))
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// waitFor calls srv with token until the answer's status is want, and
// fails on any answer but an outage's or a success: never TOKEN_INVALID,
// which would tell the client to sign in again.
func waitFor(t *testing.T, srv *httptest.Server, token string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		a := call(t, srv, token)
		switch {
		case a.status == http.StatusOK:
		case a.status == http.StatusServiceUnavailable && a.reason == "KEYS_UNAVAILABLE" && a.retryAfter != "":
		default:
			t.Fatalf("answer %+v: neither a success nor KEYS_UNAVAILABLE with Retry-After", a)
		}
		if a.status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d within %v; last answer %+v", want, within, a)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOPOutage stops the provider under a running service whose keys may
// be 3 s old: calls go on succeeding with the keys it has, then, once the
// keys are older than that, get KEYS_UNAVAILABLE (503, Retry-After), and
// succeed again when the provider is back, without a new Manager.
func TestOPOutage(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	const maxAge = 3 * time.Second
	m := discovered(t, op, manager.WithMaxKeyAge(maxAge), manager.WithJWKSRefreshInterval(time.Second),
		manager.WithJWKSErrorHandler(func(error) {}))
	srv := serveOrders(t, m)
	token, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if a := call(t, srv, token); a.status != http.StatusOK {
		t.Fatalf("before the outage: %+v", a)
	}

	op.Stop()
	stopped := time.Now()
	if a := call(t, srv, token); a.status != http.StatusOK {
		t.Fatalf("at the outage's start, keys younger than %v: %+v", maxAge, a)
	}
	waitFor(t, srv, token, http.StatusServiceUnavailable, 2*maxAge)
	// The last good fetch was at most a refresh interval before the stop.
	if d := time.Since(stopped); d < maxAge-time.Second {
		t.Errorf("KEYS_UNAVAILABLE %v after the stop, before the keys were %v old", d, maxAge)
	}

	if err := op.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, token, http.StatusOK, 10*time.Second)
	fresh, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if a := call(t, srv, fresh); a.status != http.StatusOK {
		t.Errorf("a token issued after the outage: %+v", a)
	}
}

// TestOPStartUnavailable starts a service while the provider is down: it
// answers KEYS_UNAVAILABLE, then, once the provider is up, verifies its
// tokens. Without WithStartUnavailable it would not start.
func TestOPStartUnavailable(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	token, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	op.Stop()

	cfg := manager.Config{Issuer: op.Issuer, Discovery: true, Audience: []string{provider.Resource}}
	if _, err := manager.Open(ctx, cfg, manager.WithAccessTokenProfile()); err == nil {
		t.Fatal("Open() without WithStartUnavailable succeeded with the provider down")
	}
	m, err := manager.Open(ctx, cfg, manager.WithAccessTokenProfile(), manager.WithStartUnavailable(),
		manager.WithJWKSRefreshInterval(time.Second), manager.WithJWKSErrorHandler(func(error) {}))
	if err != nil {
		t.Fatalf("Open() with WithStartUnavailable error = %v", err)
	}
	t.Cleanup(func() { m.Close() })
	srv := serveOrders(t, m)
	if a := call(t, srv, token); a.status != http.StatusServiceUnavailable || a.reason != "KEYS_UNAVAILABLE" || a.retryAfter == "" {
		t.Fatalf("with the provider down: %+v, want 503 KEYS_UNAVAILABLE with Retry-After", a)
	}
	if err := op.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, token, http.StatusOK, 10*time.Second)
}
