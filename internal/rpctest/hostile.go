package rpctest

import (
	"testing"

	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// RunHostileUnary sends every case of the hostile table through c to
// FieldTop, whose rule is the table's, with the username field set to the
// table's subject; each case is a subtest of t.
func RunHostileUnary(t *testing.T, c Client, env *hostiletest.Env) {
	t.Helper()
	for _, hc := range hostiletest.Cases() {
		t.Run(hc.Name, func(t *testing.T) {
			values := hc.Authorization(env)
			r, err := c.Unary(t, testpb.GuardedService_FieldTop_FullMethodName, &testpb.FieldTopRequest{Username: hostiletest.Subject}, values)
			if hc.Reason == "" {
				CheckReply(t, r, err, hostiletest.Subject)
				return
			}
			CheckDenial(t, err, CodeOf(t, hc.Reason), hc.Reason, hostiletest.TokensOf(values)...)
		})
	}
}

// RunHostileChat sends every case of the hostile table through c to Chat,
// whose rule binds the subject to each message's sender, with one message
// of the table's subject: token refusals end the stream as it opens, a
// claim mismatch at the first message. Each case is a subtest of t.
func RunHostileChat(t *testing.T, c Client, env *hostiletest.Env) {
	t.Helper()
	for _, hc := range hostiletest.Cases() {
		t.Run(hc.Name, func(t *testing.T) {
			values := hc.Authorization(env)
			res := c.Chat(t, values, hostiletest.Subject)
			if hc.Reason == "" {
				if res.Err != nil || len(res.Replies) != 1 {
					t.Fatalf("stream ended with %v after %d replies, want 1 reply", res.Err, len(res.Replies))
				}
				CheckReply(t, res.Replies[0].GetReply(), nil, hostiletest.Subject)
				return
			}
			if len(res.Replies) != 0 {
				t.Errorf("%d replies before the refusal", len(res.Replies))
			}
			CheckDenial(t, res.Err, CodeOf(t, hc.Reason), hc.Reason, hostiletest.TokensOf(values)...)
		})
	}
}
