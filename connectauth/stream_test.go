package connectauth_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
)

// TestBidiStream checks Chat, whose rule binds the subject to every
// message's sender: the token when the stream opens, each message as the
// handler receives it.
func TestBidiStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	cases := rpctest.ChatCases(t, m)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			rpctest.RunChat(t, p.client(ts), &ts.guarded.streams, cases)
		})
	}
}

// TestServerStream checks Watch, whose rule has a literal claim checked when
// the stream opens and a claim bound to the request's user.id, checked
// when the handler receives the request, and PublicWatch, which needs no
// token.
func TestServerStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	cases := rpctest.WatchCases(t, m)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			rpctest.RunWatch(t, p.client(ts), cases)
		})
	}

	admin := []string{bearer(authToken(t, m, "alice", nil, map[string]any{"role": "admin"}))}
	t.Run("public", func(t *testing.T) {
		client := testpbconnect.NewGuardedServiceClient(ts.http1, ts.url, connect.WithProtoJSON())
		for _, auth := range [][]string{nil, admin, {"Bearer garbage"}} {
			req := connect.NewRequest(&testpb.PublicWatchRequest{})
			addAuth(req.Header(), auth)
			stream, err := client.PublicWatch(ctxFor(t), req)
			if err != nil {
				t.Fatalf("PublicWatch: %v", err)
			}
			if !stream.Receive() {
				t.Fatalf("PublicWatch: %v", stream.Err())
			}
			checkReply(t, stream.Msg().GetReply(), nil, "") // no token in the context
			_ = stream.Close()
		}
	})
}

// TestClientStream checks Upload, whose rule binds the subject to every
// message's owner: a client stream is refused at the first message that
// does not hold, and the handler never answers.
func TestClientStream(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	alice := []string{bearer(authToken(t, m, "alice", nil, nil))}

	tests := []struct {
		name       string
		auth       []string
		owners     []string
		wantChunks int32
		wantCode   connect.Code
		wantReason string
	}{
		{name: "all match", auth: alice, owners: []string{"alice", "alice", "alice"}, wantChunks: 3},
		{name: "no messages", auth: alice},
		{name: "last mismatches", auth: alice, owners: []string{"alice", "alice", "bob"}, wantCode: connect.CodePermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "first mismatches", auth: alice, owners: []string{"bob", "alice"}, wantCode: connect.CodePermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "owner unset", auth: alice, owners: []string{""}, wantCode: connect.CodePermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "no token", owners: []string{"alice"}, wantCode: connect.CodeUnauthenticated, wantReason: "TOKEN_MISSING"},
		{name: "invalid token", auth: []string{"Bearer x.y.z"}, owners: []string{"alice"}, wantCode: connect.CodeUnauthenticated, wantReason: "TOKEN_INVALID"},
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					resp, err := p.upload(t, ts, tt.auth, tt.owners...)
					if tt.wantCode != 0 {
						checkDenial(t, err, tt.wantCode, tt.wantReason, tt.auth...)
						return
					}
					checkReply(t, resp.GetReply(), err, "alice")
					if resp.GetChunks() != tt.wantChunks {
						t.Errorf("handler received %d messages, want %d", resp.GetChunks(), tt.wantChunks)
					}
				})
			}
		})
	}
}

// TestDenialEndsStream: a handler that ignores a refused message and
// answers anyway still ends its stream with the denial, under every
// protocol.
func TestDenialEndsStream(t *testing.T) {
	m := newManager(t)
	auth, err := connectauth.New(m)
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, upload{swallow: true}, connect.WithInterceptors(auth))
	alice := []string{bearer(authToken(t, m, "alice", nil, nil))}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			resp, err := p.upload(t, ts, alice, "alice", "bob", "alice")
			checkDenial(t, err, connect.CodePermissionDenied, "CLAIM_MISMATCH")
			if resp != nil {
				t.Errorf("client got the handler's answer %v", resp)
			}
		})
	}
}

// fakeConn is a connect.StreamingHandlerConn that hands out msgs and
// records what is sent.
type fakeConn struct {
	connect.StreamingHandlerConn // nil: only what the test uses is called
	header                       http.Header
	msgs                         []*testpb.ChatRequest
	sent                         int
}

func (c *fakeConn) Spec() connect.Spec {
	return connect.Spec{Procedure: testpbconnect.GuardedServiceChatProcedure, StreamType: connect.StreamTypeBidi}
}

func (c *fakeConn) RequestHeader() http.Header { return c.header }

func (c *fakeConn) Receive(m any) error {
	if len(c.msgs) == 0 {
		return io.EOF
	}
	proto.Merge(m.(*testpb.ChatRequest), c.msgs[0])
	c.msgs = c.msgs[1:]
	return nil
}

func (c *fakeConn) Send(any) error {
	c.sent++
	return nil
}

// TestStreamDenialIsFinal calls the stream wrapper directly: after a
// message is refused, the message is cleared, every later Receive returns
// the same denial without reading on, Send sends nothing, and the stream
// ends with the denial though the handler returns nil.
func TestStreamDenialIsFinal(t *testing.T) {
	m := newManager(t)
	auth, err := connectauth.New(m)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeConn{
		header: http.Header{"Authorization": {bearer(authToken(t, m, "alice", nil, nil))}},
		msgs:   []*testpb.ChatRequest{{Sender: "alice"}, {Sender: "bob", Text: "secret"}, {Sender: "alice"}},
	}
	handler := auth.WrapStreamingHandler(func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if tok, ok := manager.FromContext(ctx); !ok || tok.Subject != "alice" {
			t.Errorf("context token = %v, %v; want alice's", tok, ok)
		}
		first := new(testpb.ChatRequest)
		if err := conn.Receive(first); err != nil || first.GetSender() != "alice" {
			t.Fatalf("first Receive = %v, %v; want alice's message", first, err)
		}
		if err := conn.Send(&testpb.ChatResponse{}); err != nil {
			t.Fatalf("Send before the denial: %v", err)
		}
		second := new(testpb.ChatRequest)
		err := conn.Receive(second)
		checkDenial(t, err, connect.CodePermissionDenied, "CLAIM_MISMATCH")
		if !proto.Equal(second, &testpb.ChatRequest{}) {
			t.Errorf("refused message = %v, want it cleared", second)
		}
		if again := conn.Receive(new(testpb.ChatRequest)); again != err {
			t.Errorf("Receive after a denial = %v, want the same denial", again)
		}
		if sendErr := conn.Send(&testpb.ChatResponse{}); sendErr != err {
			t.Errorf("Send after a denial = %v, want the denial", sendErr)
		}
		if len(fc.msgs) != 1 {
			t.Errorf("%d messages left, want 1: nothing read after the denial", len(fc.msgs))
		}
		return nil // the handler swallows the denial
	})
	err = handler(context.Background(), fc)
	checkDenial(t, err, connect.CodePermissionDenied, "CLAIM_MISMATCH")
	if fc.sent != 1 {
		t.Errorf("%d messages sent, want 1: none after the denial", fc.sent)
	}
}
