package interceptor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
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
	return serve(t, grpc.UnaryInterceptor(auth.Unary()), grpc.StreamInterceptor(auth.Stream()))
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

// withToken returns a context whose outgoing metadata carries the values
// under the authorization key.
func withToken(t testing.TB, values ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}

// bearer returns the authorization value of a signed token.
func bearer(signed string) string { return "Bearer " + signed }

// Checks.

// checkDenial fails unless err is a status error with code and an
// ErrorInfo of domain protojwt with reason, and a message that quotes none
// of secrets.
func checkDenial(t testing.TB, err error, code codes.Code, reason string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v %s", code, reason)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a status", err)
	}
	if st.Code() != code {
		t.Errorf("code = %v (%q), want %v", st.Code(), st.Message(), code)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			if info != nil {
				t.Errorf("several ErrorInfo details")
			}
			info = ei
		}
	}
	if info == nil {
		t.Fatalf("status %v has no ErrorInfo detail", st)
	}
	if info.GetDomain() != "protojwt" || info.GetReason() != reason {
		t.Errorf("ErrorInfo = {domain %q, reason %q}, want {protojwt, %s}", info.GetDomain(), info.GetReason(), reason)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(st.Message(), s) {
			t.Errorf("status message %q quotes the token", st.Message())
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
