package rpctest

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt"
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

// checksRequest is the Checks request of every case of the check table.
func checksRequest() *testpb.ChecksRequest {
	return &testpb.ChecksRequest{Username: hostiletest.Subject, AccountId: hostiletest.Account}
}

// checksChatRequest is a ChecksChat message of every case of the check
// table, with text.
func checksChatRequest(text string) *testpb.ChecksChatRequest {
	return &testpb.ChecksChatRequest{Username: hostiletest.Subject, AccountId: hostiletest.Account, Text: text}
}

// checkedSubject is the subject the handler of an allowed case of the check
// table sees: none when the case sends no token (the rule allows a missing
// one).
func checkedSubject(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return hostiletest.Subject
}

// RunHostileChecksUnary sends every case of the check table through c to
// Checks, whose rule is the table's (hostiletest.CheckRule), with username
// and account_id set as the table says; each case is a subtest of t.
func RunHostileChecksUnary(t *testing.T, c Client, env *hostiletest.Env) {
	t.Helper()
	for _, hc := range hostiletest.CheckCases() {
		t.Run(hc.Name, func(t *testing.T) {
			values := hc.Authorization(env)
			r, err := c.Unary(t, testpb.GuardedService_Checks_FullMethodName, checksRequest(), values)
			if hc.Reason == "" {
				CheckReply(t, r, err, checkedSubject(values))
				return
			}
			CheckDenial(t, err, CodeOf(t, hc.Reason), hc.Reason, hostiletest.TokensOf(values)...)
		})
	}
}

// RunHostileChecksChat sends every case of the check table through c as
// the one message of a ChecksChat, whose rule is the table's: token
// refusals end the stream as it opens, check refusals at the message. Each
// case is a subtest of t.
func RunHostileChecksChat(t *testing.T, c Client, env *hostiletest.Env) {
	t.Helper()
	for _, hc := range hostiletest.CheckCases() {
		t.Run(hc.Name, func(t *testing.T) {
			values := hc.Authorization(env)
			replies, err := c.ChecksChat(t, values, checksChatRequest("hi"))
			if hc.Reason == "" {
				if err != nil || len(replies) != 1 {
					t.Fatalf("stream ended with %v after %d replies, want 1 reply", err, len(replies))
				}
				CheckReply(t, replies[0].GetReply(), nil, checkedSubject(values))
				return
			}
			if len(replies) != 0 {
				t.Errorf("%d replies before the refusal", len(replies))
			}
			CheckDenial(t, err, CodeOf(t, hc.Reason), hc.Reason, hostiletest.TokensOf(values)...)
		})
	}
}

// RunChecksOnEveryMessage checks through c that a ChecksChat's checks bound
// to request fields decide each message, not only the first: with a token
// of every claim, the owner's account and then a neighbour's account, or
// another username, is refused PermissionDenied at the second message after
// exactly one reply; without a token every message goes through and the
// handler sees none. Each scenario is a subtest of t.
func RunChecksOnEveryMessage(t *testing.T, c Client, env *hostiletest.Env) {
	t.Helper()
	var good []string
	for _, hc := range hostiletest.CheckCases() {
		if hc.Name == "checks: every claim" {
			good = hc.Authorization(env)
		}
	}
	if good == nil {
		t.Fatal("test bug: no case with every claim")
	}
	own := checksChatRequest("1")
	neighbour := &testpb.ChecksChatRequest{Username: hostiletest.Subject, AccountId: hostiletest.Account + 1, Text: "2"}
	other := &testpb.ChecksChatRequest{Username: "mallory", AccountId: hostiletest.Account, Text: "2"}
	for _, tt := range []struct {
		name   string
		second *testpb.ChecksChatRequest
	}{
		{"neighbour's account", neighbour},
		{"another username", other},
	} {
		t.Run(tt.name, func(t *testing.T) {
			replies, err := c.ChecksChat(t, good, own, tt.second)
			if len(replies) != 1 || replies[0].GetText() != "1" {
				t.Errorf("replies %v, want the first only", replies)
			} else {
				CheckReply(t, replies[0].GetReply(), nil, hostiletest.Subject)
			}
			CheckDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch, hostiletest.TokensOf(good)...)
		})
	}
	t.Run("no token", func(t *testing.T) {
		replies, err := c.ChecksChat(t, nil, own, neighbour, other)
		if err != nil || len(replies) != 3 {
			t.Fatalf("%d replies, error %v; want 3", len(replies), err)
		}
		for _, r := range replies {
			CheckReply(t, r.GetReply(), nil, "")
		}
	})
}
