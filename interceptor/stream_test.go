package interceptor_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// chatResult is what a client saw of one Chat stream.
type chatResult struct {
	replies []*testpb.ChatResponse
	err     error // of the Recv that ended the stream; nil for io.EOF
}

// chat sends each sender in turn, waiting for the reply to each before the
// next, then closes the stream and reads to its end.
func chat(t *testing.T, ts *testServer, auth []string, senders ...string) chatResult {
	t.Helper()
	client := testpb.NewGuardedServiceClient(ts.conn)
	stream, err := client.Chat(withToken(t, auth...))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	var res chatResult
	for i, s := range senders {
		if err := stream.Send(&testpb.ChatRequest{Sender: s, Text: "message " + s}); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("Send %d: %v", i, err)
		}
		r, err := stream.Recv()
		if err != nil {
			res.err = err
			return res
		}
		res.replies = append(res.replies, r)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return res
		}
		if err != nil {
			res.err = err
			return res
		}
		res.replies = append(res.replies, r)
	}
}

// TestBidiStream checks Chat, whose rule binds the subject to every
// message's sender: the token when the stream opens, each message as the
// handler receives it.
func TestBidiStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	alice := []string{bearer(authToken(t, m, "alice", nil, nil))}
	refresh := []string{bearer(refreshToken(t, m, "alice", nil))}

	tests := []struct {
		name        string
		auth        []string
		senders     []string
		wantReplies int
		wantCode    codes.Code
		wantReason  string
		wantHandler bool // the stream handler was entered
	}{
		{name: "all match", auth: alice, senders: []string{"alice", "alice", "alice"}, wantReplies: 3, wantHandler: true},
		{name: "no messages", auth: alice, wantHandler: true},
		{name: "second mismatches", auth: alice, senders: []string{"alice", "bob", "alice"}, wantReplies: 1,
			wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH", wantHandler: true},
		{name: "first mismatches", auth: alice, senders: []string{"bob"},
			wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH", wantHandler: true},
		{name: "sender unset", auth: alice, senders: []string{""},
			wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH", wantHandler: true},
		{name: "no token", senders: []string{"alice"}, wantCode: codes.Unauthenticated, wantReason: "TOKEN_MISSING"},
		{name: "invalid token", auth: []string{"Bearer x.y.z"}, senders: []string{"alice"}, wantCode: codes.Unauthenticated, wantReason: "TOKEN_INVALID"},
		{name: "refresh token", auth: refresh, senders: []string{"alice"}, wantCode: codes.Unauthenticated, wantReason: "TOKEN_TYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.guarded.streams.Load()
			res := chat(t, ts, tt.auth, tt.senders...)
			if tt.wantCode == codes.OK {
				if res.err != nil {
					t.Fatalf("stream ended with %v, want success", res.err)
				}
			} else {
				checkDenial(t, res.err, tt.wantCode, tt.wantReason, tt.auth...)
			}
			if len(res.replies) != tt.wantReplies {
				t.Errorf("got %d replies, want %d", len(res.replies), tt.wantReplies)
			}
			for _, r := range res.replies {
				if r.GetReply().GetSubject() != "alice" || !r.GetReply().GetHasToken() {
					t.Errorf("handler saw %v, want the token of alice in the stream context", r.GetReply())
				}
			}
			if entered := ts.guarded.streams.Load() > before; entered != tt.wantHandler {
				t.Errorf("handler entered = %v, want %v", entered, tt.wantHandler)
			}
		})
	}
}

// TestServerStream checks Watch, whose rule has a literal claim checked when
// the stream opens and a claim bound to the request's user.id, and
// PublicWatch, which needs no token.
func TestServerStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	client := testpb.NewGuardedServiceClient(ts.conn)
	admin := []string{bearer(authToken(t, m, "alice", nil, map[string]any{"role": "admin"}))}
	user := []string{bearer(authToken(t, m, "alice", nil, map[string]any{"role": "user"}))}

	tests := []struct {
		name        string
		auth        []string
		userID      string
		wantCode    codes.Code
		wantReason  string
		wantReplies int
	}{
		{name: "allowed", auth: admin, userID: "alice", wantReplies: 2},
		{name: "literal fails at open", auth: user, userID: "alice", wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "field mismatch", auth: admin, userID: "bob", wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "field unset", auth: admin, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "no token", userID: "alice", wantCode: codes.Unauthenticated, wantReason: "TOKEN_MISSING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &testpb.WatchRequest{}
			if tt.userID != "" {
				req.User = &testpb.User{Id: tt.userID}
			}
			stream, err := client.Watch(withToken(t, tt.auth...), req)
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			var n int
			for {
				r, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					if tt.wantCode != codes.OK {
						t.Fatalf("stream succeeded, want %v %s", tt.wantCode, tt.wantReason)
					}
					break
				}
				if err != nil {
					if tt.wantCode == codes.OK {
						t.Fatalf("Recv: %v", err)
					}
					checkDenial(t, err, tt.wantCode, tt.wantReason, tt.auth...)
					break
				}
				checkReply(t, r.GetReply(), nil, "alice")
				n++
			}
			if n != tt.wantReplies {
				t.Errorf("got %d replies, want %d", n, tt.wantReplies)
			}
		})
	}

	t.Run("public", func(t *testing.T) {
		for _, auth := range [][]string{nil, admin, {"Bearer garbage"}} {
			stream, err := client.PublicWatch(withToken(t, auth...), &testpb.PublicWatchRequest{})
			if err != nil {
				t.Fatalf("PublicWatch: %v", err)
			}
			r, err := stream.Recv()
			checkReply(t, r.GetReply(), err, "") // no token in the context
		}
	})
}

// TestStreamDenialIsFinal calls the stream interceptor directly: after a
// message is refused, the message is cleared and every later RecvMsg
// returns the same denial without reading on.
func TestStreamDenialIsFinal(t *testing.T) {
	m := newManager(t)
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	signed := authToken(t, m, "alice", nil, nil)
	fs := &fakeStream{
		ctx:  metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", bearer(signed))),
		msgs: []*testpb.ChatRequest{{Sender: "alice"}, {Sender: "bob", Text: "secret"}, {Sender: "alice"}},
	}
	err = auth.Stream()(nil, fs, &grpc.StreamServerInfo{FullMethod: testpb.GuardedService_Chat_FullMethodName, IsClientStream: true, IsServerStream: true},
		func(_ any, ss grpc.ServerStream) error {
			if tok, ok := manager.FromContext(ss.Context()); !ok || tok.Subject != "alice" {
				t.Errorf("stream context token = %v, %v; want alice's", tok, ok)
			}
			first := new(testpb.ChatRequest)
			if err := ss.RecvMsg(first); err != nil || first.GetSender() != "alice" {
				t.Fatalf("first RecvMsg = %v, %v; want alice's message", first, err)
			}
			second := new(testpb.ChatRequest)
			err := ss.RecvMsg(second)
			checkDenial(t, err, codes.PermissionDenied, "CLAIM_MISMATCH")
			if !proto.Equal(second, &testpb.ChatRequest{}) {
				t.Errorf("refused message = %v, want it cleared", second)
			}
			third := new(testpb.ChatRequest)
			if again := ss.RecvMsg(third); again != err {
				t.Errorf("RecvMsg after a denial = %v, want the same denial", again)
			}
			if len(fs.msgs) != 1 {
				t.Errorf("%d messages left, want 1: nothing read after the denial", len(fs.msgs))
			}
			return err
		})
	checkDenial(t, err, codes.PermissionDenied, "CLAIM_MISMATCH")
}
