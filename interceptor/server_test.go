package interceptor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// The test services: every handler answers with who it saw in its context.

type guarded struct {
	testpb.UnimplementedGuardedServiceServer
	streams atomic.Int32 // stream handlers entered
}

func (*guarded) Public(ctx context.Context, _ *testpb.PublicRequest) (*testpb.PublicResponse, error) {
	return &testpb.PublicResponse{Reply: reply(ctx)}, nil
}

func (*guarded) Refresh(ctx context.Context, _ *testpb.RefreshRequest) (*testpb.RefreshResponse, error) {
	return &testpb.RefreshResponse{Reply: reply(ctx)}, nil
}

func (*guarded) LiteralString(ctx context.Context, _ *testpb.LiteralStringRequest) (*testpb.LiteralStringResponse, error) {
	return &testpb.LiteralStringResponse{Reply: reply(ctx)}, nil
}

func (*guarded) LiteralNumber(ctx context.Context, _ *testpb.LiteralNumberRequest) (*testpb.LiteralNumberResponse, error) {
	return &testpb.LiteralNumberResponse{Reply: reply(ctx)}, nil
}

func (*guarded) LiteralBool(ctx context.Context, _ *testpb.LiteralBoolRequest) (*testpb.LiteralBoolResponse, error) {
	return &testpb.LiteralBoolResponse{Reply: reply(ctx)}, nil
}

func (*guarded) FieldTop(ctx context.Context, _ *testpb.FieldTopRequest) (*testpb.FieldTopResponse, error) {
	return &testpb.FieldTopResponse{Reply: reply(ctx)}, nil
}

func (*guarded) FieldNested(ctx context.Context, _ *testpb.FieldNestedRequest) (*testpb.FieldNestedResponse, error) {
	return &testpb.FieldNestedResponse{Reply: reply(ctx)}, nil
}

func (*guarded) FieldNumber(ctx context.Context, _ *testpb.FieldNumberRequest) (*testpb.FieldNumberResponse, error) {
	return &testpb.FieldNumberResponse{Reply: reply(ctx)}, nil
}

func (*guarded) FieldEnum(ctx context.Context, _ *testpb.FieldEnumRequest) (*testpb.FieldEnumResponse, error) {
	return &testpb.FieldEnumResponse{Reply: reply(ctx)}, nil
}

func (*guarded) ScopeContains(ctx context.Context, _ *testpb.ScopeContainsRequest) (*testpb.ScopeContainsResponse, error) {
	return &testpb.ScopeContainsResponse{Reply: reply(ctx)}, nil
}

func (*guarded) Scopes(ctx context.Context, _ *testpb.ScopesRequest) (*testpb.ScopesResponse, error) {
	return &testpb.ScopesResponse{Reply: reply(ctx)}, nil
}

func (*guarded) AnyOf(ctx context.Context, _ *testpb.AnyOfRequest) (*testpb.AnyOfResponse, error) {
	return &testpb.AnyOfResponse{Reply: reply(ctx)}, nil
}

func (*guarded) Undeclared(ctx context.Context, _ *testpb.UndeclaredRequest) (*testpb.UndeclaredResponse, error) {
	return &testpb.UndeclaredResponse{Reply: reply(ctx)}, nil
}

func (g *guarded) Chat(stream grpc.BidiStreamingServer[testpb.ChatRequest, testpb.ChatResponse]) error {
	g.streams.Add(1)
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.ChatResponse{Reply: reply(stream.Context()), Text: req.GetText()}); err != nil {
			return err
		}
	}
}

func (g *guarded) Watch(_ *testpb.WatchRequest, stream grpc.ServerStreamingServer[testpb.WatchResponse]) error {
	g.streams.Add(1)
	for range 2 {
		if err := stream.Send(&testpb.WatchResponse{Reply: reply(stream.Context())}); err != nil {
			return err
		}
	}
	return nil
}

func (g *guarded) PublicWatch(_ *testpb.PublicWatchRequest, stream grpc.ServerStreamingServer[testpb.PublicWatchResponse]) error {
	g.streams.Add(1)
	return stream.Send(&testpb.PublicWatchResponse{Reply: reply(stream.Context())})
}

type defaulted struct {
	testpb.UnimplementedDefaultedServiceServer
}

func (defaulted) Inherit(ctx context.Context, _ *testpb.InheritRequest) (*testpb.InheritResponse, error) {
	return &testpb.InheritResponse{Reply: reply(ctx)}, nil
}

func (defaulted) Override(ctx context.Context, _ *testpb.OverrideRequest) (*testpb.OverrideResponse, error) {
	return &testpb.OverrideResponse{Reply: reply(ctx)}, nil
}

type open struct {
	testpb.UnimplementedOpenServiceServer
}

func (open) Ping(ctx context.Context, _ *testpb.PingRequest) (*testpb.PingResponse, error) {
	return &testpb.PingResponse{Reply: reply(ctx)}, nil
}

// The fixtures of the tables the adapters share.
var (
	reply           = rpctest.Reply
	newManager      = rpctest.NewManager
	newManagerWith  = rpctest.NewManagerWith
	authToken       = rpctest.AuthToken
	refreshToken    = rpctest.RefreshToken
	clockAt         = rpctest.ClockAt
	revocationStore = rpctest.RevocationStore
	bearer          = rpctest.Bearer
	withToken       = rpctest.OutgoingContext
	checkDenial     = rpctest.CheckDenial
	checkReply      = rpctest.CheckReply
)

const testIssuer = rpctest.Issuer

// Servers.

// testServer is a gRPC server with the test services on bufconn, behind
// the interceptors built with opts, and a client connection to it.
type testServer struct {
	conn    *grpc.ClientConn
	guarded *guarded
}

func startServer(t testing.TB, m *manager.Manager, opts ...interceptor.Option) *testServer {
	t.Helper()
	auth, err := interceptor.New(m, opts...)
	if err != nil {
		t.Fatalf("interceptor.New: %v", err)
	}
	return serve(t, auth.ServerOptions()...)
}

// serve starts the test services with the server options sopts.
func serve(t testing.TB, sopts ...grpc.ServerOption) *testServer {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(sopts...)
	ts := &testServer{guarded: &guarded{}}
	testpb.RegisterGuardedServiceServer(s, ts.guarded)
	testpb.RegisterDefaultedServiceServer(s, defaulted{})
	testpb.RegisterOpenServiceServer(s, open{})
	go func() { _ = s.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		s.Stop()
	})
	ts.conn = conn
	return ts
}
