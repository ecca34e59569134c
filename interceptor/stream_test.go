package interceptor_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestBidiStream checks Chat, whose rule binds the subject to every
// message's sender: the token when the stream opens, each message as the
// handler receives it.
func TestBidiStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	rpctest.RunChat(t, rpctest.GRPC(ts.conn), &ts.guarded.streams, rpctest.ChatCases(t, m))
}

// TestServerStream checks Watch, whose rule has a literal claim checked when
// the stream opens and a claim bound to the request's user.id, and
// PublicWatch, which needs no token.
func TestServerStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	rpctest.RunWatch(t, rpctest.GRPC(ts.conn), rpctest.WatchCases(t, m))

	t.Run("public", func(t *testing.T) {
		client := testpb.NewGuardedServiceClient(ts.conn)
		admin := bearer(authToken(t, m, "alice", nil, map[string]any{"role": "admin"}))
		for _, auth := range [][]string{nil, {admin}, {"Bearer garbage"}} {
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
