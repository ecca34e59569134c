package interceptor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
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

// TestClientCancellationForcesNoFailOpen is the attack of a caller with a
// revoked token against a server that fails open on store outages: it sets
// a short deadline so that its own cancellation looks like an outage. Over
// a real gRPC transport, the handler must never run.
func TestClientCancellationForcesNoFailOpen(t *testing.T) {
	store := &stallingStore{Store: revocationStore(t)}
	var outages atomic.Int32
	m := newManager(t, manager.WithRevocation(store), manager.WithRevocationFailOpen(func(error) { outages.Add(1) }))
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int32
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		handled.Add(1)
		return handler(ctx, req)
	}
	ts := serve(t, grpc.ChainUnaryInterceptor(auth.Unary(), record))
	signed := authToken(t, m, "alice", nil, nil)
	tok, err := m.Verify(context.Background(), signed)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	store.stall.Store(true)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(withToken(t, bearer(signed)), 20*time.Millisecond)
		_, err := call(ctx, ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"})
		cancel()
		if err == nil {
			t.Fatalf("call %d: a revoked token was accepted", i)
		}
	}
	time.Sleep(50 * time.Millisecond) // let the server finish every call it started
	if n := handled.Load(); n != 0 {
		t.Errorf("the handler ran %d times for a revoked token", n)
	}
	if n := outages.Load(); n != 0 {
		t.Errorf("%d client cancellations were reported as store outages", n)
	}
}
