package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// stallingStore answers as its wrapped store until stall is set; then it
// waits for the caller's context to end and fails as a network store does.
type stallingStore struct {
	revocation.Store
	stall atomic.Bool
}

func (s *stallingStore) Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error) {
	if !s.stall.Load() {
		return s.Store.Revoked(ctx, subject, ids, issuedAt)
	}
	<-ctx.Done()
	return false, errors.New("i/o timeout")
}

// TestClientHangUpForcesNoFailOpen is the attack of a caller with a
// revoked token against a guard that fails open on store outages: it hangs
// up early so that its own cancellation looks like an outage. Over a real
// HTTP server, the handler must never run.
func TestClientHangUpForcesNoFailOpen(t *testing.T) {
	mem, err := revocation.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	store := &stallingStore{Store: mem}
	var outages atomic.Int32
	m := newManager(t, manager.WithRevocation(store), manager.WithRevocationFailOpen(func(error) { outages.Add(1) }))
	var handled atomic.Int32
	guard := httpauth.New(m)
	mux := http.NewServeMux()
	guard.HandleFunc(mux, "GET /orders", func(w http.ResponseWriter, _ *http.Request) { handled.Add(1) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	signed := authToken(t, m, "alice", nil, nil)
	tok, err := m.Verify(context.Background(), signed)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	store.stall.Store(true)
	client := &http.Client{Timeout: 20 * time.Millisecond}
	for i := range 20 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+signed)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("request %d: a revoked token was accepted", i)
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // let the server finish every request it started
	if n := handled.Load(); n != 0 {
		t.Errorf("the handler ran %d times for a revoked token", n)
	}
	if n := outages.Load(); n != 0 {
		t.Errorf("%d hang-ups were reported as store outages", n)
	}
}
