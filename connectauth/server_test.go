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
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// The test services: every handler answers with who it saw in its context.

func reply(ctx context.Context) *testpb.Reply {
	tok, ok := manager.FromContext(ctx)
	if !ok {
		return &testpb.Reply{}
	}
	return &testpb.Reply{Subject: tok.Subject, HasToken: true}
}

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
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.ChatResponse{Reply: reply(ctx), Text: req.GetText()}); err != nil {
			return err
		}
	}
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

// Managers and tokens.

const (
	testIssuer = "protojwt-test"
	testSecret = "0123456789abcdef0123456789abcdef-test-secret"
)

func newManager(t testing.TB, opts ...manager.Option) *manager.Manager {
	t.Helper()
	return newManagerWith(t, manager.Config{Issuer: testIssuer, Algorithm: "HS256", Secret: []byte(testSecret)}, opts...)
}

func newManagerWith(t testing.TB, cfg manager.Config, opts ...manager.Option) *manager.Manager {
	t.Helper()
	m, err := manager.New(cfg, opts...)
	if err != nil {
		t.Fatalf("manager.New: %v", err)
	}
	return m
}

func authToken(t testing.TB, m *manager.Manager, sub string, scope any, claims map[string]any) string {
	t.Helper()
	tok, err := m.AuthToken(sub, scope, claims)
	if err != nil {
		t.Fatalf("AuthToken: %v", err)
	}
	return tok.Signed
}

func refreshToken(t testing.TB, m *manager.Manager, sub string, claims map[string]any) string {
	t.Helper()
	tok, err := m.RefreshToken(sub, claims)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	return tok.Signed
}

// clockAt is a manager clock fixed at now+d.
func clockAt(d time.Duration) manager.Option {
	return manager.WithClock(func() time.Time { return time.Now().Add(d) })
}

// revocationStore returns a memory store for a manager that revokes.
func revocationStore(t testing.TB) revocation.Store {
	t.Helper()
	s, err := revocation.NewMemoryStore()
	if err != nil {
		t.Fatalf("NewMemoryStore: %v", err)
	}
	return s
}

// bearer returns the authorization value of a signed token.
func bearer(signed string) string { return "Bearer " + signed }

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
	ts := &testServer{guarded: &guarded{}}
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(ts.guarded, hopts...))
	mux.Handle(testpbconnect.NewDefaultedServiceHandler(defaulted{}, hopts...))
	mux.Handle(testpbconnect.NewOpenServiceHandler(open{}, hopts...))
	mux.Handle(testpbconnect.NewUploadServiceHandler(up, hopts...))
	srv := httptest.NewUnstartedServer(mux)
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

// ctxFor returns a context that ends with the test.
func ctxFor(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Checks.

// checkDenial fails unless err is a denial a client received: a
// *connect.Error or a gRPC status error with code and one ErrorInfo of
// domain protojwt with reason, that protojwt.ReasonOf reads, and a message
// that quotes none of secrets.
func checkDenial(t testing.TB, err error, code connect.Code, reason string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v %s", code, reason)
	}
	var (
		got     connect.Code
		msg     string
		details []any
	)
	var ce *connect.Error
	if errors.As(err, &ce) {
		got, msg = ce.Code(), ce.Message()
		for _, d := range ce.Details() {
			v, derr := d.Value()
			if derr != nil {
				t.Fatalf("detail %s: %v", d.Type(), derr)
			}
			details = append(details, v)
		}
	} else if st, ok := status.FromError(err); ok {
		got, msg, details = connect.Code(st.Code()), st.Message(), st.Details()
	} else {
		t.Fatalf("error %v is neither a connect error nor a status", err)
	}
	if got != code {
		t.Errorf("code = %v (%q), want %v", got, msg, code)
	}
	var info *errdetails.ErrorInfo
	for _, d := range details {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			if info != nil {
				t.Errorf("several ErrorInfo details")
			}
			info = ei
		}
	}
	if info == nil {
		t.Fatalf("%v has no ErrorInfo detail", err)
	}
	if info.GetDomain() != protojwt.Domain || info.GetReason() != reason {
		t.Errorf("ErrorInfo = {domain %q, reason %q}, want {protojwt, %s}", info.GetDomain(), info.GetReason(), reason)
	}
	if r, ok := protojwt.ReasonOf(err); !ok || r != reason {
		t.Errorf("ReasonOf = %q, %v; want %s", r, ok, reason)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("message %q quotes the token", msg)
		}
	}
}

// checkReply fails unless err is nil and r says the handler saw subject,
// with a token unless subject is "".
func checkReply(t testing.TB, r *testpb.Reply, err error, subject string) {
	t.Helper()
	if err != nil {
		t.Fatalf("call failed: %v", err)
	}
	if r.GetSubject() != subject || r.GetHasToken() != (subject != "") {
		t.Errorf("handler saw {subject %q, token %v}, want {%q, %v}", r.GetSubject(), r.GetHasToken(), subject, subject != "")
	}
}
