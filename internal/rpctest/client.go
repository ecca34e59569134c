package rpctest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/internal/testpb"
)

// A Client calls the test services of one server under one protocol,
// sending each call's Authorization values as they are (one header or
// metadata value each).
type Client struct {
	// Unary calls method with req; every test response has the handler's
	// Reply as field 1.
	Unary func(tb testing.TB, method string, req proto.Message, auth []string) (*testpb.Reply, error)
	// OpenChat opens a Chat (bidi) stream.
	OpenChat func(tb testing.TB, auth []string) ChatStream
	// OpenChecksChat opens a ChecksChat (bidi) stream.
	OpenChecksChat func(tb testing.TB, auth []string) ChecksChatStream
	// Watch runs a Watch (server stream) to its end and returns the
	// replies, and the error that ended it (nil for a clean end).
	Watch func(tb testing.TB, auth []string, req *testpb.WatchRequest) ([]*testpb.Reply, error)
}

// ChatStream is the client side of a Chat, whichever the protocol:
// grpc-go's client stream is one.
type ChatStream interface {
	Send(*testpb.ChatRequest) error
	Recv() (*testpb.ChatResponse, error)
	CloseSend() error
}

// ChecksChatStream is the client side of a ChecksChat, whichever the
// protocol: grpc-go's client stream is one.
type ChecksChatStream interface {
	Send(*testpb.ChecksChatRequest) error
	Recv() (*testpb.ChecksChatResponse, error)
	CloseSend() error
}

// bidiStream is the client side of a bidi stream: ChatStream and
// ChecksChatStream are ones.
type bidiStream[Req, Resp any] interface {
	Send(Req) error
	Recv() (Resp, error)
	CloseSend() error
}

// ChatResult is what a client saw of one Chat stream.
type ChatResult struct {
	Replies []*testpb.ChatResponse
	Err     error // of the receive that ended the stream; nil for io.EOF
}

// Chat opens a Chat stream through c: see RunChatStream.
func (c Client) Chat(tb testing.TB, auth []string, senders ...string) ChatResult {
	tb.Helper()
	return RunChatStream(tb, c.OpenChat(tb, auth), senders)
}

// RunChatStream sends each sender in turn on stream, waiting for the reply
// to each before the next, then closes the stream and reads to its end.
func RunChatStream(tb testing.TB, stream ChatStream, senders []string) ChatResult {
	tb.Helper()
	msgs := make([]*testpb.ChatRequest, len(senders))
	for i, s := range senders {
		msgs[i] = &testpb.ChatRequest{Sender: s, Text: "message " + s}
	}
	replies, err := converse(tb, stream, msgs)
	return ChatResult{Replies: replies, Err: err}
}

// ChecksChat opens a ChecksChat stream through c and sends msgs on it: see
// RunChecksChatStream.
func (c Client) ChecksChat(tb testing.TB, auth []string, msgs ...*testpb.ChecksChatRequest) ([]*testpb.ChecksChatResponse, error) {
	tb.Helper()
	return RunChecksChatStream(tb, c.OpenChecksChat(tb, auth), msgs)
}

// RunChecksChatStream sends each of msgs in turn on stream, waiting for the
// reply to each before the next, then closes the stream and reads to its
// end: the replies, and the error that ended the stream (nil for io.EOF).
func RunChecksChatStream(tb testing.TB, stream ChecksChatStream, msgs []*testpb.ChecksChatRequest) ([]*testpb.ChecksChatResponse, error) {
	tb.Helper()
	return converse(tb, stream, msgs)
}

// converse sends each of msgs in turn on stream, waiting for the reply to
// each before the next, then closes the stream and reads to its end: the
// replies, and the error of the receive that ended it (nil for io.EOF).
func converse[Req, Resp any](tb testing.TB, stream bidiStream[Req, Resp], msgs []Req) ([]Resp, error) {
	tb.Helper()
	var replies []Resp
	for i, m := range msgs {
		if err := stream.Send(m); err != nil && !errors.Is(err, io.EOF) {
			tb.Fatalf("Send %d: %v", i, err)
		}
		r, err := stream.Recv()
		if err != nil {
			return replies, err
		}
		replies = append(replies, r)
	}
	if err := stream.CloseSend(); err != nil {
		tb.Fatalf("CloseSend: %v", err)
	}
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return replies, nil
		}
		if err != nil {
			return replies, err
		}
		replies = append(replies, r)
	}
}

// Sender opens a Chat stream through c with the auth values and returns a
// function that sends one message from sender and returns the error of
// its reply: the denial that ended the stream, or nil.
func (c Client) Sender(tb testing.TB, auth []string) func(sender string) error {
	tb.Helper()
	stream := c.OpenChat(tb, auth)
	return func(sender string) error {
		if err := stream.Send(&testpb.ChatRequest{Sender: sender, Text: "hi"}); err != nil {
			_, err = stream.Recv() // the error that ended the stream
			return err
		}
		_, err := stream.Recv()
		return err
	}
}

// GRPC is the Client of a grpc-go connection to the test services.
func GRPC(conn grpc.ClientConnInterface) Client {
	return Client{
		Unary: func(tb testing.TB, method string, req proto.Message, auth []string) (*testpb.Reply, error) {
			resp := new(testpb.PingResponse)
			err := conn.Invoke(OutgoingContext(tb, auth...), method, req, resp)
			return resp.GetReply(), err
		},
		OpenChat: func(tb testing.TB, auth []string) ChatStream {
			tb.Helper()
			stream, err := testpb.NewGuardedServiceClient(conn).Chat(OutgoingContext(tb, auth...))
			if err != nil {
				tb.Fatalf("Chat: %v", err)
			}
			return stream
		},
		OpenChecksChat: func(tb testing.TB, auth []string) ChecksChatStream {
			tb.Helper()
			stream, err := testpb.NewGuardedServiceClient(conn).ChecksChat(OutgoingContext(tb, auth...))
			if err != nil {
				tb.Fatalf("ChecksChat: %v", err)
			}
			return stream
		},
		Watch: func(tb testing.TB, auth []string, req *testpb.WatchRequest) ([]*testpb.Reply, error) {
			stream, err := testpb.NewGuardedServiceClient(conn).Watch(OutgoingContext(tb, auth...), req)
			if err != nil {
				return nil, err
			}
			var replies []*testpb.Reply
			for {
				r, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					return replies, nil
				}
				if err != nil {
					return replies, err
				}
				replies = append(replies, r.GetReply())
			}
		},
	}
}

// Context returns a context that ends with tb, or after ten seconds.
func Context(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// OutgoingContext returns Context(tb) whose outgoing gRPC metadata carries
// values under the authorization key.
func OutgoingContext(tb testing.TB, values ...string) context.Context {
	tb.Helper()
	ctx := Context(tb)
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}
