package httpauth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// ctxKey is a context key of a middleware in front of the guard.
type ctxKey struct{}

// TestWithTokenContext checks the context a handler gets as
// manager.NewContext would make it: the token under manager's key, a token
// put in front of it hidden, the request context's other values, its
// deadline and its cancellation, also for a context derived from it.
func TestWithTokenContext(t *testing.T) {
	tok := &manager.Token{Subject: "alice"}
	earlier := &manager.Token{Subject: "mallory"}
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(manager.NewContext(context.Background(), earlier), ctxKey{}, "outer"), deadline)
	r, err := http.NewRequestWithContext(parent, http.MethodGet, "/users/alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer x")

	got := withToken(r, tok)
	ctx := got.Context()
	if got == r || r.Context() != parent {
		t.Fatal("the request given is not a copy, or the original changed")
	}
	if got.Header.Get("Authorization") != "Bearer x" || got.URL.Path != "/users/alice" {
		t.Fatalf("copy lost the request: %v %v", got.Header, got.URL)
	}
	if have, ok := manager.FromContext(ctx); !ok || have != tok {
		t.Fatalf("FromContext = %v, %v; want the guard's token", have, ok)
	}
	if v := ctx.Value(ctxKey{}); v != "outer" {
		t.Fatalf("outer value = %v", v)
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("deadline = %v, %v", d, ok)
	}
	derived, stop := context.WithCancel(ctx)
	defer stop()
	if have, _ := manager.FromContext(manager.NewContext(ctx, earlier)); have != earlier {
		t.Fatal("a token put in front of the guard's is not the one read")
	}
	cancel()
	for _, c := range []context.Context{ctx, derived} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("cancellation of the request's context did not reach the handler's")
		}
		if c.Err() != context.Canceled {
			t.Fatalf("Err = %v", c.Err())
		}
	}
}

// TestWithTokenAllocations pins the handler's request and its context at
// one allocation.
func TestWithTokenAllocations(t *testing.T) {
	tok := &manager.Token{Subject: "alice"}
	r, err := http.NewRequest(http.MethodGet, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	var sink *http.Request
	if n := testing.AllocsPerRun(100, func() { sink = withToken(r, tok) }); n > 1 {
		t.Errorf("withToken: %v allocations, want 1", n)
	}
	_ = sink
}
