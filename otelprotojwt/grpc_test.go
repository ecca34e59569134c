package otelprotojwt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/otelprotojwt/internal/testpb"
)

// guarded implements the methods of GuardedService the tests call.
type guarded struct {
	testpb.UnimplementedGuardedServiceServer
}

func (guarded) FieldTop(context.Context, *testpb.FieldTopRequest) (*testpb.FieldTopResponse, error) {
	return &testpb.FieldTopResponse{}, nil
}

func (guarded) Public(context.Context, *testpb.PublicRequest) (*testpb.PublicResponse, error) {
	return &testpb.PublicResponse{}, nil
}

func (guarded) Chat(stream grpc.BidiStreamingServer[testpb.ChatRequest, testpb.ChatResponse]) error {
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := stream.Send(&testpb.ChatResponse{}); err != nil {
			return err
		}
	}
}

// serverSpans are interceptors that start a server span per call, as
// OpenTelemetry's gRPC instrumentation does, so that decisions have a span
// to add their event to.
func serverSpans(tracer trace.Tracer) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, span := tracer.Start(ctx, info.FullMethod, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, span := tracer.Start(ss.Context(), info.FullMethod, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		return handler(srv, &spanStream{ServerStream: ss, ctx: ctx})
	}
	return unary, stream
}

type spanStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *spanStream) Context() context.Context { return s.ctx }

// startGRPC serves GuardedService on bufconn behind the interceptor, with
// an unknown-service handler so that calls of any method name reach it.
func startGRPC(t *testing.T, h *harness, auth *interceptor.Interceptor) *grpc.ClientConn {
	t.Helper()
	unarySpan, streamSpan := serverSpans(h.tracer)
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(unarySpan, auth.Unary()),
		grpc.ChainStreamInterceptor(streamSpan, auth.Stream()),
		grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			return status.Error(codes.Unimplemented, "no such method")
		}),
	)
	testpb.RegisterGuardedServiceServer(s, guarded{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// withBearer returns a context that sends token, or none when it is "".
func withBearer(token string) context.Context {
	if token == "" {
		return context.Background()
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

// TestGRPC runs a scripted sequence of calls through grpc-go and the
// interceptor and checks every count, the durations and the span events.
func TestGRPC(t *testing.T) {
	h := newHarness(t)
	m := newManager(t)
	auth, err := interceptor.New(m, interceptor.WithDecisionHook(h.tel.DecisionHook()))
	if err != nil {
		t.Fatal(err)
	}
	conn := startGRPC(t, h, auth)
	client := testpb.NewGuardedServiceClient(conn)
	alice := authToken(t, m, "alice", nil)

	wantCode := func(err error, code codes.Code, reason string) {
		t.Helper()
		if status.Code(err) != code {
			t.Fatalf("call: %v, want %v", err, code)
		}
		if got, _ := protojwt.ReasonOf(err); got != reason {
			t.Fatalf("reason %q, want %q", got, reason)
		}
	}
	for range 3 {
		_, err := client.FieldTop(withBearer(alice), &testpb.FieldTopRequest{Username: "alice"})
		wantCode(err, codes.OK, "")
	}
	for range 2 {
		_, err := client.FieldTop(withBearer(alice), &testpb.FieldTopRequest{Username: "bob"})
		wantCode(err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
	}
	_, err = client.FieldTop(withBearer(""), &testpb.FieldTopRequest{Username: "alice"})
	wantCode(err, codes.Unauthenticated, protojwt.ReasonTokenMissing)
	_, err = client.FieldTop(withBearer(expiredToken(t, "alice")), &testpb.FieldTopRequest{Username: "alice"})
	wantCode(err, codes.Unauthenticated, protojwt.ReasonTokenExpired)
	for range 2 {
		_, err := client.Public(withBearer(""), &testpb.PublicRequest{})
		wantCode(err, codes.OK, "")
	}
	_, err = client.Undeclared(withBearer(alice), &testpb.UndeclaredRequest{})
	wantCode(err, codes.PermissionDenied, protojwt.ReasonMethodNotDeclared)
	// Method names chosen by the caller: each is denied, all are one series.
	for i := range 5 {
		err := conn.Invoke(withBearer(alice), fmt.Sprintf("/evil.Service/Probe%d", i), &testpb.PublicRequest{}, &testpb.PublicResponse{})
		wantCode(err, codes.PermissionDenied, protojwt.ReasonMethodNotDeclared)
	}
	// A stream: the opening, one message allowed, one refused.
	stream, err := client.Chat(withBearer(alice))
	if err != nil {
		t.Fatal(err)
	}
	for _, sender := range []string{"alice", "mallory"} {
		if err := stream.Send(&testpb.ChatRequest{Sender: sender}); err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
	}
	wantCode(err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)

	const (
		fieldTop   = "protojwt.otel.test.v1.GuardedService/FieldTop"
		public     = "protojwt.otel.test.v1.GuardedService/Public"
		undeclared = "protojwt.otel.test.v1.GuardedService/Undeclared"
		chat       = "protojwt.otel.test.v1.GuardedService/Chat"
	)
	want := map[string]int64{
		rpcDecision(fieldTop, "", "call"):                                 3,
		rpcDecision(fieldTop, protojwt.ReasonClaimMismatch, "call"):       2,
		rpcDecision(fieldTop, protojwt.ReasonTokenMissing, "call"):        1,
		rpcDecision(fieldTop, protojwt.ReasonTokenExpired, "call"):        1,
		rpcDecision(public, "", "call"):                                   2,
		rpcDecision(undeclared, protojwt.ReasonMethodNotDeclared, "call"): 1,
		rpcDecision("_OTHER", protojwt.ReasonMethodNotDeclared, "call"):   5,
		rpcDecision(chat, "", "call"):                                     1,
		rpcDecision(chat, "", "message"):                                  1,
		rpcDecision(chat, protojwt.ReasonClaimMismatch, "message"):        1,
	}
	diffCounts(t, "protojwt.decisions", h.sums(t, "protojwt.decisions"), want)
	diffCounts(t, "protojwt.decision.duration", h.histogramCounts(t, "protojwt.decision.duration"), want)

	// One event per decision, on the span of its call.
	events := h.events(t)
	slices.Sort(events)
	wantEvents := []string{}
	for range 3 + 2 + 1 + 1 {
		wantEvents = append(wantEvents, "allowed")
	}
	for _, r := range []string{
		protojwt.ReasonClaimMismatch, protojwt.ReasonClaimMismatch, protojwt.ReasonClaimMismatch,
		protojwt.ReasonTokenMissing, protojwt.ReasonTokenExpired,
		protojwt.ReasonMethodNotDeclared, protojwt.ReasonMethodNotDeclared, protojwt.ReasonMethodNotDeclared,
		protojwt.ReasonMethodNotDeclared, protojwt.ReasonMethodNotDeclared, protojwt.ReasonMethodNotDeclared,
	} {
		wantEvents = append(wantEvents, "denied "+r)
	}
	slices.Sort(wantEvents)
	if !slices.Equal(events, wantEvents) {
		t.Errorf("span events\n got %q\nwant %q", events, wantEvents)
	}
}
