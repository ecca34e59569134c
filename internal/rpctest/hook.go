package rpctest

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// HookCase is one call and the decisions a decision hook is told of it,
// in order.
type HookCase struct {
	Name  string
	Call  func(t *testing.T, c Client) error
	Wants []Decided
}

// Decided is what a hook must be told of one decision.
type Decided struct {
	Procedure string
	Allowed   bool
	Reason    string
	Subject   string // of the token, "" for none
	Message   bool
	DryRun    bool
}

// HookCases are calls allowed, denied, public and undeclared, and a
// stream's opening and messages, with tokens of m (a NewManager).
func HookCases(tb testing.TB, m *manager.Manager) []HookCase {
	tb.Helper()
	alice := []string{Bearer(AuthToken(tb, m, "alice", nil, nil))}
	const (
		fieldTop   = testpb.GuardedService_FieldTop_FullMethodName
		public     = testpb.GuardedService_Public_FullMethodName
		undeclared = testpb.GuardedService_Undeclared_FullMethodName
		chat       = testpb.GuardedService_Chat_FullMethodName
	)
	unary := func(method string, req proto.Message, auth []string) func(*testing.T, Client) error {
		return func(t *testing.T, c Client) error {
			_, err := c.Unary(t, method, req, auth)
			return err
		}
	}
	return []HookCase{
		{Name: "allowed", Call: unary(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, alice),
			Wants: []Decided{{Procedure: fieldTop, Allowed: true, Subject: "alice"}}},
		{Name: "denied by a claim", Call: unary(fieldTop, &testpb.FieldTopRequest{Username: "bob"}, alice),
			Wants: []Decided{{Procedure: fieldTop, Reason: protojwt.ReasonClaimMismatch, Subject: "alice"}}}, // the token verified
		{Name: "no token", Call: unary(fieldTop, &testpb.FieldTopRequest{Username: "alice"}, nil),
			Wants: []Decided{{Procedure: fieldTop, Reason: protojwt.ReasonTokenMissing}}},
		{Name: "public", Call: unary(public, &testpb.PublicRequest{}, nil),
			Wants: []Decided{{Procedure: public, Allowed: true}}},
		{Name: "undeclared", Call: unary(undeclared, &testpb.UndeclaredRequest{}, alice),
			Wants: []Decided{{Procedure: undeclared, Reason: protojwt.ReasonMethodNotDeclared}}},
		{Name: "stream: the opening and each message", Call: func(t *testing.T, c Client) error {
			return c.Chat(t, alice, "alice", "mallory").Err
		}, Wants: []Decided{
			{Procedure: chat, Allowed: true, Subject: "alice"},
			{Procedure: chat, Allowed: true, Subject: "alice", Message: true},
			{Procedure: chat, Reason: protojwt.ReasonClaimMismatch, Subject: "alice", Message: true},
		}},
	}
}

// RunDecisionHook makes each call through c to a server whose adapter
// reports its decisions to rec, and checks that the hook was told every
// decision once, with the procedure, the outcome, the reason and the
// token, and that a denial reached the client with the hook's reason.
// Each case is a subtest of t.
func RunDecisionHook(t *testing.T, c Client, rec *Decisions, cases []HookCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			rec.Take()
			err := tt.Call(t, c)
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
