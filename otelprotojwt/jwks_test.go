package otelprotojwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/protojwt/protojwt/manager"
)

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestJWKSFetchEvents verifies tokens with a Manager whose keys come from
// a JWK Set served over loopback: the first fetch, a fetch for a new kid,
// and a fetch that fails are counted, and the key count follows the set.
func TestJWKSFetchEvents(t *testing.T) {
	h := newHarness(t)
	publisher, err := manager.New(manager.Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: ecKey(t), KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	jwks := publisher.JWKSHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		jwks.ServeHTTP(w, r)
	}))
	defer srv.Close()
	m, err := manager.Open(context.Background(), manager.Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: srv.URL},
		manager.WithEvents(h.tel.ManagerEvents()),
		manager.WithJWKSRefreshUnknownKID(time.Millisecond),
		manager.WithJWKSErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	verify := func(kid string, wantErr error) {
		t.Helper()
		if err := publisher.RotateKey(manager.Key{ID: kid, PrivateKey: ecKey(t)}); err != nil {
			t.Fatal(err)
		}
		signed := authToken(t, publisher, "alice", nil)
		time.Sleep(5 * time.Millisecond) // the rate of fetches for unknown kids
		_, err := m.Verify(context.Background(), signed)
		if (wantErr == nil) != (err == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Fatalf("Verify with %s = %v, want %v", kid, err, wantErr)
		}
	}
	verify("k2", nil) // fetched again: k1 and k2
	down.Store(true)
	verify("k3", manager.ErrSignature) // the fetch fails: k3 stays unknown

	want := map[string]int64{result("success"): 2, result("failure"): 1}
	diffCounts(t, "protojwt.jwks.fetches", h.sums(t, "protojwt.jwks.fetches"), want)
	keys := h.metric(t, "protojwt.jwks.keys")
	if keys == nil {
		t.Fatal("no protojwt.jwks.keys")
	}
	if g, ok := keys.Data.(metricdata.Gauge[int64]); !ok || len(g.DataPoints) != 1 || g.DataPoints[0].Value != 2 {
		t.Errorf("protojwt.jwks.keys = %+v, want 2 keys", keys.Data)
	}
}

// TestJWKSKeyAge: protojwt.jwks.key_age follows the age of the keys a
// Manager verifies with: it grows while the JWK Set's endpoint fails, by
// the Manager's clock, and is 0 again once a fetch succeeds.
func TestJWKSKeyAge(t *testing.T) {
	h := newHarness(t)
	publisher, err := manager.New(manager.Config{Issuer: testIssuer, Algorithm: "ES256", PrivateKey: ecKey(t), KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	jwks := publisher.JWKSHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		jwks.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	m, err := manager.Open(context.Background(), manager.Config{Issuer: testIssuer, Algorithm: "ES256", JWKSURL: srv.URL},
		manager.WithEvents(h.tel.ManagerEvents()),
		manager.WithClock(clock),
		manager.WithJWKSRefreshInterval(10*time.Millisecond),
		manager.WithJWKSErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	age := func() float64 {
		met := h.metric(t, "protojwt.jwks.key_age")
		if met == nil {
			return -1
		}
		g, ok := met.Data.(metricdata.Gauge[float64])
		if !ok || len(g.DataPoints) != 1 {
			t.Fatalf("protojwt.jwks.key_age = %+v, want one gauge point", met.Data)
		}
		return g.DataPoints[0].Value
	}
	waitUntil := func(what string, cond func(float64) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond(age()) {
			if time.Now().After(deadline) {
				t.Fatalf("protojwt.jwks.key_age never %s; last %v", what, age())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitUntil("0 after the first fetch", func(a float64) bool { return a == 0 })
	down.Store(true)
	offset.Store(int64(90 * time.Second))
	waitUntil("90 s or more while fetches fail", func(a float64) bool { return a >= 90 })
	down.Store(false)
	waitUntil("0 once a fetch succeeds", func(a float64) bool { return a == 0 })
}
