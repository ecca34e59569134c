package connectauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
)

// The test services: every handler answers with who it saw in its context.

// answer is the response of a unary handler: the Reply as field 1.
func answer[T any](ctx context.Context, set func(*T, *testpb.Reply)) (*connect.Response[T], error) {
	msg := new(T)
	set(msg, reply(ctx))
	return connect.NewResponse(msg), nil
}

type guarded struct {
	testpbconnect.UnimplementedGuardedServiceHandler
	streams atomic.Int32 // stream handlers entered
}

func (*guarded) Public(ctx context.Context, _ *connect.Request[testpb.PublicRequest]) (*connect.Response[testpb.PublicResponse], error) {
	return answer(ctx, func(m *testpb.PublicResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) Refresh(ctx context.Context, _ *connect.Request[testpb.RefreshRequest]) (*connect.Response[testpb.RefreshResponse], error) {
	return answer(ctx, func(m *testpb.RefreshResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) LiteralString(ctx context.Context, _ *connect.Request[testpb.LiteralStringRequest]) (*connect.Response[testpb.LiteralStringResponse], error) {
	return answer(ctx, func(m *testpb.LiteralStringResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) LiteralNumber(ctx context.Context, _ *connect.Request[testpb.LiteralNumberRequest]) (*connect.Response[testpb.LiteralNumberResponse], error) {
	return answer(ctx, func(m *testpb.LiteralNumberResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) LiteralBool(ctx context.Context, _ *connect.Request[testpb.LiteralBoolRequest]) (*connect.Response[testpb.LiteralBoolResponse], error) {
	return answer(ctx, func(m *testpb.LiteralBoolResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) FieldTop(ctx context.Context, _ *connect.Request[testpb.FieldTopRequest]) (*connect.Response[testpb.FieldTopResponse], error) {
	return answer(ctx, func(m *testpb.FieldTopResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) FieldNested(ctx context.Context, _ *connect.Request[testpb.FieldNestedRequest]) (*connect.Response[testpb.FieldNestedResponse], error) {
	return answer(ctx, func(m *testpb.FieldNestedResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) FieldNumber(ctx context.Context, _ *connect.Request[testpb.FieldNumberRequest]) (*connect.Response[testpb.FieldNumberResponse], error) {
	return answer(ctx, func(m *testpb.FieldNumberResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) FieldEnum(ctx context.Context, _ *connect.Request[testpb.FieldEnumRequest]) (*connect.Response[testpb.FieldEnumResponse], error) {
	return answer(ctx, func(m *testpb.FieldEnumResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) ScopeContains(ctx context.Context, _ *connect.Request[testpb.ScopeContainsRequest]) (*connect.Response[testpb.ScopeContainsResponse], error) {
	return answer(ctx, func(m *testpb.ScopeContainsResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) Scopes(ctx context.Context, _ *connect.Request[testpb.ScopesRequest]) (*connect.Response[testpb.ScopesResponse], error) {
	return answer(ctx, func(m *testpb.ScopesResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) AnyOf(ctx context.Context, _ *connect.Request[testpb.AnyOfRequest]) (*connect.Response[testpb.AnyOfResponse], error) {
	return answer(ctx, func(m *testpb.AnyOfResponse, r *testpb.Reply) { m.Reply = r })
}

func (*guarded) Undeclared(ctx context.Context, _ *connect.Request[testpb.UndeclaredRequest]) (*connect.Response[testpb.UndeclaredResponse], error) {
	return answer(ctx, func(m *testpb.UndeclaredResponse, r *testpb.Reply) { m.Reply = r })
}

func (g *guarded) Chat(ctx context.Context, stream *connect.BidiStream[testpb.ChatRequest, testpb.ChatResponse]) error {
	g.streams.Add(1)
	return echo(stream, func(req *testpb.ChatRequest) *testpb.ChatResponse {
		return &testpb.ChatResponse{Reply: reply(ctx), Text: req.GetText()}
	})
}

// echo answers every message received on stream with answer's response,
// until the client closes its side.
func echo[Req, Res any](stream *connect.BidiStream[Req, Res], answer func(*Req) *Res) error {
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(answer(req)); err != nil {
			return err
		}
	}
}

func (*guarded) Checks(ctx context.Context, _ *connect.Request[testpb.ChecksRequest]) (*connect.Response[testpb.ChecksResponse], error) {
	return answer(ctx, func(m *testpb.ChecksResponse, r *testpb.Reply) { m.Reply = r })
}

func (g *guarded) ChecksChat(ctx context.Context, stream *connect.BidiStream[testpb.ChecksChatRequest, testpb.ChecksChatResponse]) error {
	g.streams.Add(1)
	return echo(stream, func(req *testpb.ChecksChatRequest) *testpb.ChecksChatResponse {
		return &testpb.ChecksChatResponse{Reply: reply(ctx), Text: req.GetText()}
	})
}

func (g *guarded) Watch(ctx context.Context, _ *connect.Request[testpb.WatchRequest], stream *connect.ServerStream[testpb.WatchResponse]) error {
	g.streams.Add(1)
	for range 2 {
		if err := stream.Send(&testpb.WatchResponse{Reply: reply(ctx)}); err != nil {
			return err
		}
	}
	return nil
}

func (g *guarded) PublicWatch(ctx context.Context, _ *connect.Request[testpb.PublicWatchRequest], stream *connect.ServerStream[testpb.PublicWatchResponse]) error {
	g.streams.Add(1)
	return stream.Send(&testpb.PublicWatchResponse{Reply: reply(ctx)})
}

type defaulted struct {
	testpbconnect.UnimplementedDefaultedServiceHandler
}

func (defaulted) Inherit(ctx context.Context, _ *connect.Request[testpb.InheritRequest]) (*connect.Response[testpb.InheritResponse], error) {
	return answer(ctx, func(m *testpb.InheritResponse, r *testpb.Reply) { m.Reply = r })
}

func (defaulted) Override(ctx context.Context, _ *connect.Request[testpb.OverrideRequest]) (*connect.Response[testpb.OverrideResponse], error) {
	return answer(ctx, func(m *testpb.OverrideResponse, r *testpb.Reply) { m.Reply = r })
}

type open struct {
	testpbconnect.UnimplementedOpenServiceHandler
}

func (open) Ping(ctx context.Context, _ *connect.Request[testpb.PingRequest]) (*connect.Response[testpb.PingResponse], error) {
	return answer(ctx, func(m *testpb.PingResponse, r *testpb.Reply) { m.Reply = r })
}

type upload struct {
	testpbconnect.UnimplementedUploadServiceHandler
	// swallow makes the handler ignore a failed Receive and answer anyway.
	swallow bool
}

func (u upload) Upload(ctx context.Context, stream *connect.ClientStream[testpb.UploadRequest]) (*connect.Response[testpb.UploadResponse], error) {
	var n int32
	for stream.Receive() {
		n++
	}
	if err := stream.Err(); err != nil && !u.swallow {
		return nil, err
	}
	return connect.NewResponse(&testpb.UploadResponse{Reply: reply(ctx), Chunks: n}), nil
}

// The fixtures of the tables the adapters share.
var (
	reply           = rpctest.Reply
	newManager      = rpctest.NewManager
	authToken       = rpctest.AuthToken
	revocationStore = rpctest.RevocationStore
	bearer          = rpctest.Bearer
	ctxFor          = rpctest.Context
	checkReply      = rpctest.CheckReply
)

// Servers.

// testServer is an HTTP server on loopback with the test services mounted
// as connect handlers: HTTP/1.1 and HTTP/2 without TLS (prior knowledge),
// so that it serves every protocol and stream kind.
type testServer struct {
	url     string
	guarded *guarded
	http1   *http.Client     // HTTP/1.1 only
	h2c     *http.Client     // HTTP/2 without TLS
	grpc    *grpc.ClientConn // a grpc-go client of the same server
	srv     *httptest.Server // for tests that close it
	auth    *connectauth.Interceptor
}

func startServer(t testing.TB, m manager.Verifier, opts ...connectauth.Option) *testServer {
	t.Helper()
	auth, err := connectauth.New(m, opts...)
	if err != nil {
		t.Fatalf("connectauth.New: %v", err)
	}
	ts := serve(t, upload{}, connect.WithInterceptors(auth))
	ts.auth = auth
	return ts
}

// serve starts the test services with the handler options hopts.
func serve(t testing.TB, up upload, hopts ...connect.HandlerOption) *testServer {
	t.Helper()
	return serveThrough(t, nil, up, hopts...)
}

// serveThrough is serve with the services' mux behind wrap, unless wrap is
// nil.
func serveThrough(t testing.TB, wrap func(http.Handler) http.Handler, up upload, hopts ...connect.HandlerOption) *testServer {
	t.Helper()
	ts := &testServer{guarded: &guarded{}}
	var h http.Handler = ts.mux(up, hopts...)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	ts.srv, ts.url = srv, srv.URL

	h1 := &http.Transport{Protocols: new(http.Protocols)}
	h1.Protocols.SetHTTP1(true)
	h2 := &http.Transport{Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	ts.http1 = &http.Client{Transport: h1}
	ts.h2c = &http.Client{Transport: h2}
	conn, err := grpc.NewClient(strings.TrimPrefix(srv.URL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	ts.grpc = conn
	t.Cleanup(func() {
		_ = conn.Close()
		h1.CloseIdleConnections()
		h2.CloseIdleConnections()
		srv.Close()
	})
	return ts
}

// mux returns the handlers of the test services, with the options hopts.
func (ts *testServer) mux(up upload, hopts ...connect.HandlerOption) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(ts.guarded, hopts...))
	mux.Handle(testpbconnect.NewDefaultedServiceHandler(defaulted{}, hopts...))
	mux.Handle(testpbconnect.NewOpenServiceHandler(open{}, hopts...))
	mux.Handle(testpbconnect.NewUploadServiceHandler(up, hopts...))
	return mux
}

// checkDenial fails unless err is a denial a client received, a
// *connect.Error or a gRPC status error, with code and reason: see
// rpctest.CheckDenial.
func checkDenial(t testing.TB, err error, code connect.Code, reason string, secrets ...string) {
	t.Helper()
	rpctest.CheckDenial(t, err, codes.Code(code), reason, secrets...)
}
