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
	alice := bearer(authToken(t, m, "alice", nil, nil))

	type want struct {
		procedure string
		allowed   bool
		reason    string
		subject   string // of the token, "" for none
		message   bool
	}
	tests := []struct {
		name  string
		call  func() error
		wants []want
	}{
		{
			name: "allowed",
			call: func() error {
				_, err := call(withToken(t, alice), ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"})
				return err
			},
			wants: []want{{procedure: methodFieldTop, allowed: true, subject: "alice"}},
		},
		{
			name: "denied by a claim",
			call: func() error {
				_, err := call(withToken(t, alice), ts, methodFieldTop, &testpb.FieldTopRequest{Username: "bob"})
				return err
			},
			wants: []want{{procedure: methodFieldTop, reason: protojwt.ReasonClaimMismatch, subject: "alice"}},
		},
		{
			name: "no token",
			call: func() error {
				_, err := call(withToken(t), ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"})
				return err
			},
			wants: []want{{procedure: methodFieldTop, reason: protojwt.ReasonTokenMissing}},
		},
		{
			name:  "public",
			call:  func() error { _, err := call(withToken(t), ts, methodPublic, &testpb.PublicRequest{}); return err },
			wants: []want{{procedure: methodPublic, allowed: true}},
		},
		{
			name: "undeclared",
			call: func() error {
				_, err := call(withToken(t, alice), ts, methodUndeclared, &testpb.UndeclaredRequest{})
				return err
			},
			wants: []want{{procedure: methodUndeclared, reason: protojwt.ReasonMethodNotDeclared}},
		},
		{
			name: "stream: the opening and each message",
			call: func() error {
				res := chat(t, ts, []string{alice}, "alice", "mallory")
				return res.Err
			},
			wants: []want{
				{procedure: testpb.GuardedService_Chat_FullMethodName, allowed: true, subject: "alice"},
				{procedure: testpb.GuardedService_Chat_FullMethodName, allowed: true, subject: "alice", message: true},
				{procedure: testpb.GuardedService_Chat_FullMethodName, reason: protojwt.ReasonClaimMismatch, subject: "alice", message: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Take()
			err := tt.call()
			got := rec.Take()
			if len(got) != len(tt.wants) {
				t.Fatalf("hook told %d decisions, want %d: %+v", len(got), len(tt.wants), got)
			}
			for i, w := range tt.wants {
				d := got[i]
				subject := ""
				if d.Token != nil {
					subject = d.Token.Subject
				}
				if d.Procedure != w.procedure || d.Allowed != w.allowed || d.Reason != w.reason || subject != w.subject || d.Message != w.message {
					t.Errorf("decision %d = {%s allowed=%v reason=%q subject=%q message=%v}, want %+v",
						i, d.Procedure, d.Allowed, d.Reason, subject, d.Message, w)
				}
				if d.Allowed != (d.Err == nil) {
					t.Errorf("decision %d: allowed=%v with Err %v", i, d.Allowed, d.Err)
				}
				if !d.Allowed && d.Reason != "" {
					if r, _ := protojwt.ReasonOf(err); r != d.Reason {
						t.Errorf("client saw reason %q, hook %q", r, d.Reason)
					}
				}
			}
		})
	}
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
