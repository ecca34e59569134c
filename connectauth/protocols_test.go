package connectauth_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
)

// A protocol is one way a client reaches the connect handlers: each test
// table runs under every protocol.
type protocol struct {
	name string
	// unary calls procedure with req, sending the authorization values;
	// every test response has the handler's Reply as field 1.
	unary func(t testing.TB, ts *testServer, procedure string, req proto.Message, auth []string) (*testpb.Reply, error)
	// openChat opens a Chat (bidi) stream.
	openChat func(t testing.TB, ts *testServer, auth []string) rpctest.ChatStream
	// openChecksChat opens a ChecksChat (bidi) stream.
	openChecksChat func(t testing.TB, ts *testServer, auth []string) rpctest.ChecksChatStream
	// watch runs a Watch (server stream) and returns the replies.
	watch func(t testing.TB, ts *testServer, auth []string, req *testpb.WatchRequest) ([]*testpb.Reply, error)
	// upload runs an Upload (client stream), one message per owner.
	upload func(t testing.TB, ts *testServer, auth []string, owners ...string) (*testpb.UploadResponse, error)
}

// protocols are the three protocols connect serves: Connect with JSON over
// HTTP/1.1 (streams that need both directions at once over HTTP/2), gRPC
// from a grpc-go client, and gRPC-Web from a connect client.
var protocols = []protocol{
	{
		name:           "connect",
		unary:          connectUnary(false, connect.WithProtoJSON()),
		openChat:       connectChat(connect.WithProtoJSON()),
		openChecksChat: connectChecksChat(connect.WithProtoJSON()),
		watch:          connectWatch(false, connect.WithProtoJSON()),
		upload:         connectUpload(false, connect.WithProtoJSON()),
	},
	{
		name: "grpc",
		unary: func(t testing.TB, ts *testServer, procedure string, req proto.Message, auth []string) (*testpb.Reply, error) {
			return rpctest.GRPC(ts.grpc).Unary(t, procedure, req, auth)
		},
		openChat: func(t testing.TB, ts *testServer, auth []string) rpctest.ChatStream {
			return rpctest.GRPC(ts.grpc).OpenChat(t, auth)
		},
		openChecksChat: func(t testing.TB, ts *testServer, auth []string) rpctest.ChecksChatStream {
			return rpctest.GRPC(ts.grpc).OpenChecksChat(t, auth)
		},
		watch: func(t testing.TB, ts *testServer, auth []string, req *testpb.WatchRequest) ([]*testpb.Reply, error) {
			return rpctest.GRPC(ts.grpc).Watch(t, auth, req)
		},
		upload: grpcUpload,
	},
	{
		name:           "grpc-web",
		unary:          connectUnary(false, connect.WithGRPCWeb()),
		openChat:       connectChat(connect.WithGRPCWeb()),
		openChecksChat: connectChecksChat(connect.WithGRPCWeb()),
		watch:          connectWatch(false, connect.WithGRPCWeb()),
		upload:         connectUpload(false, connect.WithGRPCWeb()),
	},
}

// client returns the rpctest.Client of ts under p.
func (p protocol) client(ts *testServer) rpctest.Client {
	return rpctest.Client{
		Unary: func(t testing.TB, procedure string, req proto.Message, auth []string) (*testpb.Reply, error) {
			return p.unary(t, ts, procedure, req, auth)
		},
		OpenChat: func(t testing.TB, auth []string) rpctest.ChatStream { return p.openChat(t, ts, auth) },
		OpenChecksChat: func(t testing.TB, auth []string) rpctest.ChecksChatStream {
			return p.openChecksChat(t, ts, auth)
		},
		Watch: func(t testing.TB, auth []string, req *testpb.WatchRequest) ([]*testpb.Reply, error) {
			return p.watch(t, ts, auth, req)
		},
	}
}

// client returns the HTTP client of ts for HTTP/1.1 or HTTP/2.
func (ts *testServer) client(h2 bool) *http.Client {
	if h2 {
		return ts.h2c
	}
	return ts.http1
}

// addAuth adds the authorization values to h.
func addAuth(h http.Header, auth []string) {
	for _, v := range auth {
		h.Add("Authorization", v)
	}
}

// dynamic copies m into a dynamic message, so that one connect client type
// sends the requests of every procedure.
func dynamic(t testing.TB, m proto.Message) *dynamicpb.Message {
	t.Helper()
	d := dynamicpb.NewMessage(m.ProtoReflect().Descriptor())
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func connectUnary(h2 bool, opts ...connect.ClientOption) func(testing.TB, *testServer, string, proto.Message, []string) (*testpb.Reply, error) {
	return func(t testing.TB, ts *testServer, procedure string, req proto.Message, auth []string) (*testpb.Reply, error) {
		client := connect.NewClient[dynamicpb.Message, testpb.PingResponse](ts.client(h2), ts.url+procedure, opts...)
		r := connect.NewRequest(dynamic(t, req))
		addAuth(r.Header(), auth)
		resp, err := client.CallUnary(ctxFor(t), r)
		if err != nil {
			return nil, err
		}
		return resp.Msg.GetReply(), nil
	}
}

// connectBidiStream adapts a connect bidi stream to the client streams of
// rpctest (ChatStream, ChecksChatStream), which are grpc-go's.
type connectBidiStream[Req, Resp any] struct {
	*connect.BidiStreamForClient[Req, Resp]
}

func (s connectBidiStream[Req, Resp]) Recv() (*Resp, error) { return s.Receive() }
func (s connectBidiStream[Req, Resp]) CloseSend() error     { return s.CloseRequest() }

// connectChatStream is a connect Chat stream as an rpctest.ChatStream.
type connectChatStream = connectBidiStream[testpb.ChatRequest, testpb.ChatResponse]

func connectChat(opts ...connect.ClientOption) func(testing.TB, *testServer, []string) rpctest.ChatStream {
	return func(t testing.TB, ts *testServer, auth []string) rpctest.ChatStream {
		stream := testpbconnect.NewGuardedServiceClient(ts.h2c, ts.url, opts...).Chat(ctxFor(t))
		addAuth(stream.RequestHeader(), auth)
		t.Cleanup(func() { _ = stream.CloseResponse() })
		return connectChatStream{stream}
	}
}

// connectChecksChat opens a ChecksChat over HTTP/2, as connectChat does a
// Chat: a bidi stream needs both directions at once.
func connectChecksChat(opts ...connect.ClientOption) func(testing.TB, *testServer, []string) rpctest.ChecksChatStream {
	return func(t testing.TB, ts *testServer, auth []string) rpctest.ChecksChatStream {
		stream := testpbconnect.NewGuardedServiceClient(ts.h2c, ts.url, opts...).ChecksChat(ctxFor(t))
		addAuth(stream.RequestHeader(), auth)
		t.Cleanup(func() { _ = stream.CloseResponse() })
		return connectBidiStream[testpb.ChecksChatRequest, testpb.ChecksChatResponse]{stream}
	}
}

// chat runs a Chat stream under p: see rpctest.RunChatStream.
func (p protocol) chat(t testing.TB, ts *testServer, auth []string, senders ...string) rpctest.ChatResult {
	t.Helper()
	return rpctest.RunChatStream(t, p.openChat(t, ts, auth), senders)
}

func connectWatch(h2 bool, opts ...connect.ClientOption) func(testing.TB, *testServer, []string, *testpb.WatchRequest) ([]*testpb.Reply, error) {
	return func(t testing.TB, ts *testServer, auth []string, req *testpb.WatchRequest) ([]*testpb.Reply, error) {
		r := connect.NewRequest(req)
		addAuth(r.Header(), auth)
		stream, err := testpbconnect.NewGuardedServiceClient(ts.client(h2), ts.url, opts...).Watch(ctxFor(t), r)
		if err != nil {
			return nil, err
		}
		defer stream.Close()
		var replies []*testpb.Reply
		for stream.Receive() {
			replies = append(replies, stream.Msg().GetReply())
		}
		return replies, stream.Err()
	}
}

func connectUpload(h2 bool, opts ...connect.ClientOption) func(testing.TB, *testServer, []string, ...string) (*testpb.UploadResponse, error) {
	return func(t testing.TB, ts *testServer, auth []string, owners ...string) (*testpb.UploadResponse, error) {
		stream := testpbconnect.NewUploadServiceClient(ts.client(h2), ts.url, opts...).Upload(ctxFor(t))
		addAuth(stream.RequestHeader(), auth)
		for i, o := range owners {
			if err := stream.Send(&testpb.UploadRequest{Owner: o, Chunk: []byte{byte(i)}}); err != nil {
				if errors.Is(err, io.EOF) {
					break // the server ended the stream: CloseAndReceive says why
				}
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		resp, err := stream.CloseAndReceive()
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
}

func grpcUpload(t testing.TB, ts *testServer, auth []string, owners ...string) (*testpb.UploadResponse, error) {
	stream, err := testpb.NewUploadServiceClient(ts.grpc).Upload(rpctest.OutgoingContext(t, auth...))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	for i, o := range owners {
		if err := stream.Send(&testpb.UploadRequest{Owner: o, Chunk: []byte{byte(i)}}); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	return stream.CloseAndRecv()
}
