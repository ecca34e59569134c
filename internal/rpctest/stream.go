package rpctest

import (
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// ChatCase is one Chat stream, whose rule binds the subject to every
// message's sender: the token is checked when the stream opens, each
// message as the handler receives it.
type ChatCase struct {
	Name    string
	Auth    []string
	Senders []string // one message each, every one answered before the next
	Replies int      // the replies the client gets
	Code    codes.Code
	Reason  string
	Handler bool // the stream handler is entered
}

// ChatCases are the Chat streams of tokens of m (a NewManager).
func ChatCases(tb testing.TB, m *manager.Manager) []ChatCase {
	tb.Helper()
	alice := []string{Bearer(AuthToken(tb, m, "alice", nil, nil))}
	refresh := []string{Bearer(RefreshToken(tb, m, "alice", nil))}
	return []ChatCase{
		{Name: "all match", Auth: alice, Senders: []string{"alice", "alice", "alice"}, Replies: 3, Handler: true},
		{Name: "no messages", Auth: alice, Handler: true},
		{Name: "second mismatches", Auth: alice, Senders: []string{"alice", "bob", "alice"}, Replies: 1,
			Code: codes.PermissionDenied, Reason: "CLAIM_MISMATCH", Handler: true},
		{Name: "first mismatches", Auth: alice, Senders: []string{"bob"},
			Code: codes.PermissionDenied, Reason: "CLAIM_MISMATCH", Handler: true},
		{Name: "sender unset", Auth: alice, Senders: []string{""},
			Code: codes.PermissionDenied, Reason: "CLAIM_MISMATCH", Handler: true},
		{Name: "no token", Senders: []string{"alice"}, Code: codes.Unauthenticated, Reason: "TOKEN_MISSING"},
		{Name: "invalid token", Auth: []string{"Bearer x.y.z"}, Senders: []string{"alice"}, Code: codes.Unauthenticated, Reason: "TOKEN_INVALID"},
		{Name: "refresh token", Auth: refresh, Senders: []string{"alice"}, Code: codes.Unauthenticated, Reason: "TOKEN_TYPE"},
	}
}

// RunChat runs each case as a subtest of t through c; streams counts the
// Chat handlers the server entered.
func RunChat(t *testing.T, c Client, streams *atomic.Int32, cases []ChatCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			before := streams.Load()
			res := c.Chat(t, tt.Auth, tt.Senders...)
			if tt.Code == codes.OK {
				if res.Err != nil {
					t.Fatalf("stream ended with %v, want success", res.Err)
				}
			} else {
				CheckDenial(t, res.Err, tt.Code, tt.Reason, tt.Auth...)
			}
			if len(res.Replies) != tt.Replies {
				t.Errorf("got %d replies, want %d", len(res.Replies), tt.Replies)
			}
			for _, r := range res.Replies {
				if r.GetReply().GetSubject() != "alice" || !r.GetReply().GetHasToken() {
					t.Errorf("handler saw %v, want the token of alice in the stream context", r.GetReply())
				}
			}
			if entered := streams.Load() > before; entered != tt.Handler {
				t.Errorf("handler entered = %v, want %v", entered, tt.Handler)
			}
		})
	}
}

// WatchCase is one Watch stream, whose rule has a literal claim checked
// when the stream opens and a claim bound to the request's user.id,
// checked when the handler receives the request.
type WatchCase struct {
	Name    string
	Auth    []string
	UserID  string // "" leaves the request's user unset
	Code    codes.Code
	Reason  string
	Replies int // the replies the client gets, each seeing alice's token
}

// WatchCases are the Watch streams of tokens of m (a NewManager).
func WatchCases(tb testing.TB, m *manager.Manager) []WatchCase {
	tb.Helper()
	admin := []string{Bearer(AuthToken(tb, m, "alice", nil, map[string]any{"role": "admin"}))}
	user := []string{Bearer(AuthToken(tb, m, "alice", nil, map[string]any{"role": "user"}))}
	refresh := []string{Bearer(RefreshToken(tb, m, "alice", map[string]any{"role": "admin"}))}
	return []WatchCase{
		{Name: "allowed", Auth: admin, UserID: "alice", Replies: 2},
		{Name: "literal fails at open", Auth: user, UserID: "alice", Code: codes.PermissionDenied, Reason: "CLAIM_MISMATCH"},
		{Name: "field mismatch", Auth: admin, UserID: "bob", Code: codes.PermissionDenied, Reason: "CLAIM_MISMATCH"},
		{Name: "field unset", Auth: admin, Code: codes.PermissionDenied, Reason: "CLAIM_MISMATCH"},
		{Name: "no token", UserID: "alice", Code: codes.Unauthenticated, Reason: "TOKEN_MISSING"},
		{Name: "refresh token", Auth: refresh, UserID: "alice", Code: codes.Unauthenticated, Reason: "TOKEN_TYPE"},
	}
}

// RunWatch runs each case as a subtest of t through c.
func RunWatch(t *testing.T, c Client, cases []WatchCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			req := &testpb.WatchRequest{}
			if tt.UserID != "" {
				req.User = &testpb.User{Id: tt.UserID}
			}
			replies, err := c.Watch(t, tt.Auth, req)
			if tt.Code == codes.OK {
				if err != nil {
					t.Fatalf("Watch: %v", err)
				}
			} else {
				CheckDenial(t, err, tt.Code, tt.Reason, tt.Auth...)
			}
			if len(replies) != tt.Replies {
				t.Errorf("got %d replies, want %d", len(replies), tt.Replies)
			}
			for _, r := range replies {
				CheckReply(t, r, nil, "alice")
			}
		})
	}
}
