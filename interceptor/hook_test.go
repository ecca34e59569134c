package interceptor_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestDecisionHook checks that the hook is told every decision, once, with
// what was called, the outcome, the reason and the token, over a real
// server: allowed, denied, public, undeclared, and stream messages.
func TestDecisionHook(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	ts := startServer(t, m, interceptor.WithDecisionHook(rec.Hook))
	rpctest.RunDecisionHook(t, rpctest.GRPC(ts.conn), &rec, rpctest.HookCases(t, m))
}

// TestDecisionHooksInOrder checks that several hooks are all called, in the
// order given, and that a nil hook is ignored.
func TestDecisionHooksInOrder(t *testing.T) {
	m := newManager(t)
	var order []string
	ts := startServer(t, m,
		interceptor.WithDecisionHook(func(context.Context, protojwt.Decision) { order = append(order, "first") }),
		interceptor.WithDecisionHook(nil),
		interceptor.WithDecisionHook(func(context.Context, protojwt.Decision) { order = append(order, "second") }))
	if _, err := call(withToken(t), ts, methodPublic, &testpb.PublicRequest{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"first", "second"}) {
		t.Errorf("hooks called %v, want [first second]", order)
	}
}

// TestDecisionHookCost pins that a hook costs no allocation of its own, and
// that no hook costs nothing: the warm path allocates the same with a no-op
// hook as without one.
func TestDecisionHookCost(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := newManager(t)
	signed := authToken(t, m, "alice", nil, map[string]any{"role": "admin"})
	noop := interceptor.WithDecisionHook(func(context.Context, protojwt.Decision) {})
	for _, c := range interceptorCalls() {
		without := testing.AllocsPerRun(200, directCall(t, m, signed, c.method, c.req))
		with := testing.AllocsPerRun(200, directCall(t, m, signed, c.method, c.req, noop))
		if with != without {
			t.Errorf("%s: %.0f allocations with a no-op hook, %.0f without", c.name, with, without)
		}
	}
}

// BenchmarkDecisionHook is the warm unary call without a hook and with a
// no-op hook, side by side.
func BenchmarkDecisionHook(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", nil, map[string]any{"role": "admin"})
	for _, c := range interceptorCalls() {
		for _, h := range []struct {
			name string
			opts []interceptor.Option
		}{
			{"none", nil},
			{"noop", []interceptor.Option{interceptor.WithDecisionHook(func(context.Context, protojwt.Decision) {})}},
		} {
			b.Run(c.name+"/hook="+h.name, func(b *testing.B) {
				call := directCall(b, m, signed, c.method, c.req, h.opts...)
				b.ReportAllocs()
				for b.Loop() {
					call()
				}
			})
		}
	}
}

// TestReasonOfDenial reads the reason of real denials with protojwt.ReasonOf,
// as a Go client does, and finds none in other errors.
func TestReasonOfDenial(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	_, err := call(withToken(t, bearer(refreshToken(t, m, "alice", nil))), ts, methodLiteralString, &testpb.LiteralStringRequest{})
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonTokenType)
	if r, ok := protojwt.ReasonOf(err); !ok || r != protojwt.ReasonTokenType {
		t.Errorf("ReasonOf = %q, %v; want %s", r, ok, protojwt.ReasonTokenType)
	}
	if r, ok := protojwt.ReasonOf(errors.Join(errors.New("wrapped"), err)); !ok || r != protojwt.ReasonTokenType {
		t.Errorf("ReasonOf(wrapped) = %q, %v", r, ok)
	}
	for _, other := range []error{nil, errors.New("plain"), manager.ErrExpired} {
		if r, ok := protojwt.ReasonOf(other); ok {
			t.Errorf("ReasonOf(%v) = %q, want none", other, r)
		}
	}
}
