package interceptor_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestDecisionErrNamesThePart calls a real server with tokens that fail one
// part of a rule each: the decision hook's Decision.Err names the part (the
// claim path and operator with the rule's literal, the request field, the
// scope, each alternative, the token types), wraps the sentinel of its
// reason, and holds no claim value; the client's message stays the
// reason's fixed text.
func TestDecisionErrNamesThePart(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	ts := startServer(t, m, interceptor.WithDecisionHook(rec.Hook))
	const secret = "s3cr3t-claim-value"
	checks := map[string]any{
		"realm_access":                  map[string]any{"roles": []any{"orders-admin"}},
		"https://acme.example/accounts": []any{hostiletest.Account},
		"tier":                          secret,
		"email":                         "alice@acme.example",
		"tenant":                        "acme-eu",
		"perms":                         map[string]any{"orders": []any{"read"}},
		"tid":                           "t",
	}
	refresh, err := m.RefreshToken("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		method   string
		req      proto.Message
		token    string
		sentinel error
		reason   string
		want     string
	}{
		{"a check", testpb.GuardedService_Checks_FullMethodName,
			&testpb.ChecksRequest{Username: "alice", AccountId: hostiletest.Account},
			rpctest.AuthToken(t, m, "alice", nil, checks), manager.ErrClaim, protojwt.ReasonClaimMismatch,
			`protojwt: claim mismatch: claim tier: in ["gold","platinum"]: equal to none of them`},
		{"a claim bound to a request field", methodFieldTop, &testpb.FieldTopRequest{Username: "bob"},
			rpctest.AuthToken(t, m, "alice", nil, nil), manager.ErrClaim, protojwt.ReasonClaimMismatch,
			`protojwt: claim mismatch: claim sub: equals field:username: not equal`},
		{"a claim equal to a literal", methodLiteralString, &testpb.LiteralStringRequest{},
			rpctest.AuthToken(t, m, "alice", nil, map[string]any{"role": secret}), manager.ErrClaim, protojwt.ReasonClaimMismatch,
			`protojwt: claim mismatch: claim role: equals "admin": not equal`},
		{"a scope", methodScopes, &testpb.ScopesRequest{},
			rpctest.AuthToken(t, m, "alice", "read "+secret, nil), manager.ErrScope, protojwt.ReasonScopeMissing,
			`protojwt: insufficient scope: scope write: not granted`},
		{"every alternative", methodAnyOf, &testpb.AnyOfRequest{Owner: "bob"},
			rpctest.AuthToken(t, m, "alice", nil, map[string]any{"role": secret}), manager.ErrClaim, protojwt.ReasonNoAlternative,
			`protojwt: no alternative rule holds: any_of[0]: claim mismatch: claim role: equals "admin": not equal; ` +
				`any_of[1]: claim mismatch: claim sub: equals field:owner: not equal`},
		{"the token type", methodLiteralString, &testpb.LiteralStringRequest{},
			refresh.Signed, manager.ErrTokenType, protojwt.ReasonTokenType,
			`protojwt: wrong token type: want auth, got refresh`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Take()
			_, err := call(rpctest.OutgoingContext(t, rpctest.Bearer(tt.token)), ts, tt.method, tt.req)
			if err == nil {
				t.Fatal("allowed")
			}
			if got, _ := protojwt.ReasonOf(err); got != tt.reason {
				t.Errorf("reason %s, want %s", got, tt.reason)
			}
			if msg := status.Convert(err).Message(); msg != denial.Of(tt.reason).Text {
				t.Errorf("the client is told %q", msg)
			}
			decisions := rec.Take()
			if len(decisions) != 1 {
				t.Fatalf("%d decisions, want 1", len(decisions))
			}
			d := decisions[0]
			if d.Allowed || d.Reason != tt.reason || !errors.Is(d.Err, tt.sentinel) {
				t.Errorf("Decision = %+v, want a denial %s wrapping %v", d, tt.reason, tt.sentinel)
			}
			if d.Err == nil || d.Err.Error() != tt.want {
				t.Errorf("Decision.Err = %v\nwant %s", d.Err, tt.want)
			}
			if d.Err != nil && strings.Contains(d.Err.Error(), secret) {
				t.Errorf("Decision.Err holds a claim value: %v", d.Err)
			}
		})
	}
}
