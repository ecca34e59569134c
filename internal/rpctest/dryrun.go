package rpctest

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// DryRunCase is one call to a server whose adapter reports its decisions
// to a Decisions, with what the client gets, what the handler saw and what
// the hook is told.
type DryRunCase struct {
	Name string
	// Call makes the call and returns the Reply of each answer the handler
	// gave, and the error that ended the call.
	Call func(t *testing.T, c Client) ([]*testpb.Reply, error)
	// Seen is the subject of the token each answer's handler saw, "" for
	// none; nil when the call is denied.
	Seen []string
	// Code and Reason are the denial the client gets; codes.OK for none.
	Code   codes.Code
	Reason string
	// Wants are the decisions the hook is told, in order.
	Wants []Decided
}

// unaryCall returns a DryRunCase Call of method with req and auth.
func unaryCall(method string, req proto.Message, auth []string) func(*testing.T, Client) ([]*testpb.Reply, error) {
	return func(t *testing.T, c Client) ([]*testpb.Reply, error) {
		r, err := c.Unary(t, method, req, auth)
		if err != nil {
			return nil, err
		}
		return []*testpb.Reply{r}, nil
	}
}

// chatCall returns a DryRunCase Call of a Chat with auth and one message of
// each sender.
func chatCall(auth []string, senders ...string) func(*testing.T, Client) ([]*testpb.Reply, error) {
	return func(t *testing.T, c Client) ([]*testpb.Reply, error) {
		res := c.Chat(t, auth, senders...)
		var replies []*testpb.Reply
		for _, r := range res.Replies {
			replies = append(replies, r.GetReply())
		}
		return replies, res.Err
	}
}

// DryRunCases are calls of every outcome to a server whose adapter has
// WithDryRun, with tokens of m (a NewManager): each goes on to its handler,
// which sees a token only when it verified, and the hook is told the
// reason enforcing would have given, with Decision.DryRun.
func DryRunCases(tb testing.TB, m *manager.Manager) []DryRunCase {
	tb.Helper()
	alice := []string{Bearer(AuthToken(tb, m, "alice", nil, nil))}
	refresh := []string{Bearer(RefreshToken(tb, m, "alice", nil))}
	forged := []string{"Bearer x.y.z"}
	const (
		fieldTop   = testpb.GuardedService_FieldTop_FullMethodName
		public     = testpb.GuardedService_Public_FullMethodName
		undeclared = testpb.GuardedService_Undeclared_FullMethodName
		chat       = testpb.GuardedService_Chat_FullMethodName
	)
	dry := func(procedure, reason, subject string, message bool) Decided {
		return Decided{Procedure: procedure, Allowed: true, Reason: reason, Subject: subject, Message: message, DryRun: true}
	}
	return []DryRunCase{
		{Name: "allowed", Call: unaryCall(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, alice),
			Seen: []string{"alice"}, Wants: []Decided{dry(fieldTop, "", "alice", false)}},
		{Name: "claim mismatch goes on", Call: unaryCall(fieldTop, &testpb.FieldTopRequest{Username: "bob"}, alice),
			Seen: []string{"alice"}, Wants: []Decided{dry(fieldTop, protojwt.ReasonClaimMismatch, "alice", false)}},
		{Name: "no token goes on", Call: unaryCall(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, nil),
			Seen: []string{""}, Wants: []Decided{dry(fieldTop, protojwt.ReasonTokenMissing, "", false)}},
		{Name: "forged token goes on without it", Call: unaryCall(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, forged),
			Seen: []string{""}, Wants: []Decided{dry(fieldTop, protojwt.ReasonTokenInvalid, "", false)}},
		{Name: "malformed credential goes on without it", Call: unaryCall(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, []string{"Basic YWxpY2U6cHc="}),
			Seen: []string{""}, Wants: []Decided{dry(fieldTop, protojwt.ReasonRequestMalformed, "", false)}},
		{Name: "refresh token goes on, verified", Call: unaryCall(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, refresh),
			Seen: []string{"alice"}, Wants: []Decided{dry(fieldTop, protojwt.ReasonTokenType, "alice", false)}},
		{Name: "undeclared goes on", Call: unaryCall(undeclared, &testpb.UndeclaredRequest{}, alice),
			Seen: []string{""}, Wants: []Decided{dry(undeclared, protojwt.ReasonMethodNotDeclared, "", false)}},
		{Name: "public", Call: unaryCall(public, &testpb.PublicRequest{}, nil),
			Seen: []string{""}, Wants: []Decided{dry(public, "", "", false)}},
		{Name: "stream: each message reported", Call: chatCall(alice, "alice", "mallory", "alice"),
			Seen: []string{"alice", "alice", "alice"}, Wants: []Decided{
				dry(chat, "", "alice", false),
				dry(chat, "", "alice", true),
				dry(chat, protojwt.ReasonClaimMismatch, "alice", true),
				dry(chat, "", "alice", true),
			}},
		{Name: "stream: forged token goes on without it", Call: chatCall(forged, "alice"),
			Seen: []string{""}, Wants: []Decided{
				dry(chat, protojwt.ReasonTokenInvalid, "", false),
				dry(chat, protojwt.ReasonTokenMissing, "", true),
			}},
	}
}

// DryRunRuleSet gives OpenService's Ping, whose .proto declares no rule, a
// dry-run rule: the claim role must be "admin".
func DryRunRuleSet() *annotations.RuleSet {
	return &annotations.RuleSet{Methods: map[string]*annotations.Rule{
		testpb.OpenService_Ping_FullMethodName: {
			Claims: map[string]*annotations.Match{"role": {Kind: &annotations.Match_StringValue{StringValue: "admin"}}},
			DryRun: true,
		},
	}}
}

// DryRuleCases are calls to a server whose adapter has
// WithRuleSet(DryRunRuleSet()) and no WithDryRun, with tokens of m: Ping's
// rule is reported and not enforced, the other rules are enforced.
func DryRuleCases(tb testing.TB, m *manager.Manager) []DryRunCase {
	tb.Helper()
	admin := []string{Bearer(AuthToken(tb, m, "alice", nil, map[string]any{"role": "admin"}))}
	user := []string{Bearer(AuthToken(tb, m, "bob", nil, map[string]any{"role": "user"}))}
	const (
		ping     = testpb.OpenService_Ping_FullMethodName
		fieldTop = testpb.GuardedService_FieldTop_FullMethodName
	)
	dry := func(reason, subject string) []Decided {
		return []Decided{{Procedure: ping, Allowed: true, Reason: reason, Subject: subject, DryRun: true}}
	}
	return []DryRunCase{
		{Name: "dry rule holds", Call: unaryCall(ping, &testpb.PingRequest{}, admin), Seen: []string{"alice"}, Wants: dry("", "alice")},
		{Name: "dry rule fails, call goes on", Call: unaryCall(ping, &testpb.PingRequest{}, user), Seen: []string{"bob"}, Wants: dry(protojwt.ReasonClaimMismatch, "bob")},
		{Name: "dry rule, no token", Call: unaryCall(ping, &testpb.PingRequest{}, nil), Seen: []string{""}, Wants: dry(protojwt.ReasonTokenMissing, "")},
		{Name: "dry rule, forged token not seen", Call: unaryCall(ping, &testpb.PingRequest{}, []string{"Bearer x.y.z"}), Seen: []string{""}, Wants: dry(protojwt.ReasonTokenInvalid, "")},
		{Name: "other rules enforced", Call: unaryCall(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, user),
			Code: codes.PermissionDenied, Reason: protojwt.ReasonClaimMismatch,
			Wants: []Decided{{Procedure: fieldTop, Reason: protojwt.ReasonClaimMismatch, Subject: "bob"}}},
	}
}

// RunDryRun makes each call through c and checks what the client got,
// what the handler saw and what rec's hook was told: every decision once,
// with its procedure, outcome, reason, token and DryRun, and Err set
// exactly when there is a reason. Each case is a subtest of t.
func RunDryRun(t *testing.T, c Client, rec *Decisions, cases []DryRunCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			rec.Take()
			replies, err := tt.Call(t, c)
			if tt.Code == codes.OK {
				if err != nil {
					t.Fatalf("call failed: %v; want it to go on", err)
				}
			} else {
				CheckDenial(t, err, tt.Code, tt.Reason)
			}
			if len(replies) != len(tt.Seen) {
				t.Fatalf("%d answers from the handler, want %d", len(replies), len(tt.Seen))
			}
			for i, r := range replies {
				if r.GetSubject() != tt.Seen[i] || r.GetHasToken() != (tt.Seen[i] != "") {
					t.Errorf("answer %d: handler saw %v, want the token of %q", i, r, tt.Seen[i])
				}
			}
			got := rec.Take()
			if len(got) != len(tt.Wants) {
				t.Fatalf("hook told %d decisions, want %d: %+v", len(got), len(tt.Wants), got)
			}
			for i, w := range tt.Wants {
				d := got[i]
				subject := ""
				if d.Token != nil {
					subject = d.Token.Subject
				}
				if d.Procedure != w.Procedure || d.Allowed != w.Allowed || d.Reason != w.Reason || subject != w.Subject || d.Message != w.Message || d.DryRun != w.DryRun {
					t.Errorf("decision %d = {%s allowed=%v reason=%q subject=%q message=%v dry=%v}, want %+v",
						i, d.Procedure, d.Allowed, d.Reason, subject, d.Message, d.DryRun, w)
				}
				if (d.Err != nil) != (d.Reason != "") {
					t.Errorf("decision %d: reason %q with Err %v", i, d.Reason, d.Err)
				}
			}
		})
	}
}
