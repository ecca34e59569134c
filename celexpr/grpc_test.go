package celexpr_test

import (
	"context"
	"io"
	"math"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// documents implements DocumentService: each method says who called it.
type documents struct {
	testpb.UnimplementedDocumentServiceServer
}

func subject(ctx context.Context) string {
	tok, _ := manager.FromContext(ctx)
	return tok.Subject
}

func (documents) GetDocument(ctx context.Context, _ *testpb.GetDocumentRequest) (*testpb.GetDocumentResponse, error) {
	return &testpb.GetDocumentResponse{Subject: subject(ctx)}, nil
}

func (documents) GetDocumentDeclarative(ctx context.Context, _ *testpb.GetDocumentDeclarativeRequest) (*testpb.GetDocumentDeclarativeResponse, error) {
	return &testpb.GetDocumentDeclarativeResponse{Subject: subject(ctx)}, nil
}

func (documents) Transfer(ctx context.Context, _ *testpb.TransferRequest) (*testpb.TransferResponse, error) {
	return &testpb.TransferResponse{Subject: subject(ctx)}, nil
}

func (documents) ListTiers(ctx context.Context, _ *testpb.ListTiersRequest) (*testpb.ListTiersResponse, error) {
	return &testpb.ListTiersResponse{Subject: subject(ctx)}, nil
}

func (documents) Search(ctx context.Context, _ *testpb.SearchRequest) (*testpb.SearchResponse, error) {
	return &testpb.SearchResponse{Subject: subject(ctx)}, nil
}

func (documents) Lookup(ctx context.Context, _ *testpb.LookupRequest) (*testpb.LookupResponse, error) {
	return &testpb.LookupResponse{Subject: subject(ctx)}, nil
}

func (documents) Unlock(ctx context.Context, _ *testpb.UnlockRequest) (*testpb.UnlockResponse, error) {
	return &testpb.UnlockResponse{Subject: subject(ctx)}, nil
}

func (documents) Audit(_ context.Context, req *testpb.AuditRequest) (*testpb.AuditResponse, error) {
	return &testpb.AuditResponse{Count: int32(len(req.GetTags()))}, nil
}

func (documents) Watch(stream grpc.BidiStreamingServer[testpb.WatchRequest, testpb.WatchResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.WatchResponse{Owner: req.GetOwner()}); err != nil {
			return err
		}
	}
}

func (documents) Subscribe(stream grpc.BidiStreamingServer[testpb.SubscribeRequest, testpb.SubscribeResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.SubscribeResponse{Topic: req.GetTopic()}); err != nil {
			return err
		}
	}
}

// newManager returns a Manager that issues and verifies the tests' tokens.
func newManager(t testing.TB) *manager.Manager {
	t.Helper()
	m, err := manager.New(manager.Config{
		Issuer:    "celexpr-test",
		Algorithm: "HS256",
		Secret:    []byte("celexpr's test secret, 32 bytes or more"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// token issues an auth token for sub with claims and scope.
func token(t testing.TB, m *manager.Manager, sub string, scope any, claims map[string]any) string {
	t.Helper()
	tok, err := m.AuthToken(sub, scope, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Signed
}

// serve runs DocumentService behind the interceptors of New(m, opts...) on
// bufconn and returns a client.
func serve(t testing.TB, m *manager.Manager, opts ...interceptor.Option) testpb.DocumentServiceClient {
	t.Helper()
	auth, err := interceptor.New(m, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()), grpc.StreamInterceptor(auth.Stream()))
	testpb.RegisterDocumentServiceServer(s, documents{})
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
	return testpb.NewDocumentServiceClient(conn)
}

// as returns a context that sends signed as the bearer token.
func as(signed string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+signed)
}

// wantDenied fails unless err is a denial with code and reason.
func wantDenied(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("allowed, want %v %s", code, reason)
	}
	got, _ := protojwt.ReasonOf(err)
	if status.Code(err) != code || got != reason {
		t.Fatalf("error %v (reason %q), want %v %s", err, got, code, reason)
	}
}

// TestGRPCUnary: expressions over claims and the typed request decide unary
// calls; false and errors deny with reasons of their own.
func TestGRPCUnary(t *testing.T) {
	m := newManager(t)
	client := serve(t, m, interceptor.WithExpressions(celexpr.New()))
	alice := token(t, m, "alice", nil, map[string]any{"roles": []string{"reader"}, "tier": "gold"})
	admin := token(t, m, "root", nil, map[string]any{"roles": []string{"admin"}, "tier": "bronze"})
	noRoles := token(t, m, "bob", nil, nil)
	payer := token(t, m, "alice", "payments", map[string]any{"limit": 100, "account": 1234567890123456789})
	noLimit := token(t, m, "alice", "payments", map[string]any{"account": 1234567890123456789})
	const p53 = int64(1) << 53
	edge := token(t, m, "alice", nil, map[string]any{"account": p53})
	minAccount := token(t, m, "alice", nil, map[string]any{"account": int64(math.MinInt64)})
	maxAccount := token(t, m, "alice", nil, map[string]any{"account": uint64(math.MaxUint64)})
	lookup := func(signed string, id int64, uid uint64) func() error {
		return func() error {
			_, err := client.Lookup(as(signed), &testpb.LookupRequest{Id: id, Uid: uid})
			return err
		}
	}
	search := func(text, pattern string) func() error {
		return func() error {
			_, err := client.Search(as(alice), &testpb.SearchRequest{Text: text, Pattern: pattern})
			return err
		}
	}

	tags := func(n int) []string { return make([]string, n) }
	const denied, errored = protojwt.ReasonExpressionFalse, protojwt.ReasonExpressionError
	tests := []struct {
		name   string
		call   func() error
		reason string // "" allowed
		code   codes.Code
	}{
		{"owner", func() error {
			_, err := client.GetDocument(as(alice), &testpb.GetDocumentRequest{Owner: "alice"})
			return err
		}, "", codes.OK},
		{"admin", func() error {
			_, err := client.GetDocument(as(admin), &testpb.GetDocumentRequest{Owner: "alice"})
			return err
		}, "", codes.OK},
		{"another's document", func() error {
			_, err := client.GetDocument(as(alice), &testpb.GetDocumentRequest{Owner: "bob"})
			return err
		}, denied, codes.PermissionDenied},
		{"no owner", func() error {
			_, err := client.GetDocument(as(alice), &testpb.GetDocumentRequest{})
			return err
		}, denied, codes.PermissionDenied},
		{"no roles claim, another's document", func() error {
			_, err := client.GetDocument(as(noRoles), &testpb.GetDocumentRequest{Owner: "alice"})
			return err
		}, errored, codes.PermissionDenied},
		{"no roles claim, own document", func() error {
			_, err := client.GetDocument(as(noRoles), &testpb.GetDocumentRequest{Owner: "bob"})
			return err
		}, "", codes.OK},
		{"no token", func() error {
			_, err := client.GetDocument(context.Background(), &testpb.GetDocumentRequest{Owner: "alice"})
			return err
		}, protojwt.ReasonTokenMissing, codes.Unauthenticated},
		{"transfer within the limit", func() error {
			_, err := client.Transfer(as(payer), &testpb.TransferRequest{Amount: 100, From: &testpb.Account{AccountId: 1234567890123456789}})
			return err
		}, "", codes.OK},
		{"transfer over the limit", func() error {
			_, err := client.Transfer(as(payer), &testpb.TransferRequest{Amount: 101, From: &testpb.Account{AccountId: 1234567890123456789}})
			return err
		}, denied, codes.PermissionDenied},
		{"transfer from the account's neighbour", func() error {
			_, err := client.Transfer(as(payer), &testpb.TransferRequest{Amount: 1, From: &testpb.Account{AccountId: 1234567890123456788}})
			return err
		}, denied, codes.PermissionDenied},
		{"transfer with no limit claim", func() error {
			_, err := client.Transfer(as(noLimit), &testpb.TransferRequest{Amount: 1, From: &testpb.Account{AccountId: 1234567890123456789}})
			return err
		}, errored, codes.PermissionDenied},
		{"transfer without the scope: declarative parts first", func() error {
			_, err := client.Transfer(as(alice), &testpb.TransferRequest{Amount: 1})
			return err
		}, protojwt.ReasonScopeMissing, codes.PermissionDenied},
		{"gold tier", func() error {
			_, err := client.ListTiers(as(alice), &testpb.ListTiersRequest{})
			return err
		}, "", codes.OK},
		{"bronze tier", func() error {
			_, err := client.ListTiers(as(admin), &testpb.ListTiersRequest{})
			return err
		}, denied, codes.PermissionDenied},
		{"no tier claim", func() error {
			_, err := client.ListTiers(as(noRoles), &testpb.ListTiersRequest{})
			return err
		}, errored, codes.PermissionDenied},
		{"audit of 10 tags", func() error {
			_, err := client.Audit(as(alice), &testpb.AuditRequest{Tags: tags(10)})
			return err
		}, "", codes.OK},
		{"audit of 1000 tags: the cost limit", func() error {
			_, err := client.Audit(as(alice), &testpb.AuditRequest{Tags: tags(1000)})
			return err
		}, errored, codes.PermissionDenied},
		{"account 2^53", lookup(edge, p53, 0), "", codes.OK},
		{"account 2^53+1 against a claim of 2^53", lookup(edge, p53+1, 0), denied, codes.PermissionDenied},
		{"account 2^53-1 against a claim of 2^53", lookup(edge, p53-1, 0), denied, codes.PermissionDenied},
		{"unsigned account 2^53+1 against a claim of 2^53", lookup(edge, 0, uint64(p53)+1), denied, codes.PermissionDenied},
		{"account int64 min", lookup(minAccount, math.MinInt64, 0), "", codes.OK},
		{"account int64 min+1", lookup(minAccount, math.MinInt64+1, 0), denied, codes.PermissionDenied},
		{"unsigned account uint64 max", lookup(maxAccount, 0, math.MaxUint64), "", codes.OK},
		{"unsigned account uint64 max-1", lookup(maxAccount, 0, math.MaxUint64-1), denied, codes.PermissionDenied},
		{"account int64 max against uint64 max", lookup(maxAccount, math.MaxInt64, 0), denied, codes.PermissionDenied},
		{"search, a short text", search("alice's notes", "^alice"), "", codes.OK},
		{"search, no match", search("bob's notes", "^alice"), denied, codes.PermissionDenied},
		{"search, a text at the message limit", search(hostileText(messageLimit-64), "a+"), errored, codes.PermissionDenied},
		{"search, a text and a pattern at the message limit", search(hostileText(messageLimit/2), hostilePattern(messageLimit/2-64)), errored, codes.PermissionDenied},
		{"search, a pattern at the message limit", search("a", hostilePattern(messageLimit-64)), errored, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			wantDenied(t, err, tt.code, tt.reason)
		})
	}
}

// TestGRPCStreams: an expression that reads the request decides every
// message the client sends; one that reads only claims decides the stream
// TestGRPCEvaluationErrorLogged: the decision hook, which feeds logs,
// reads why an expression could not be evaluated, in CEL's words; the
// client reads the reason and a fixed text only.
func TestGRPCEvaluationErrorLogged(t *testing.T) {
	m := newManager(t)
	var decisions []protojwt.Decision
	client := serve(t, m, interceptor.WithExpressions(celexpr.New()),
		interceptor.WithDecisionHook(func(_ context.Context, d protojwt.Decision) { decisions = append(decisions, d) }))
	noTier := token(t, m, "bob", nil, map[string]any{"roles": []string{"reader"}})

	_, err := client.ListTiers(as(noTier), &testpb.ListTiersRequest{})
	wantDenied(t, err, codes.PermissionDenied, protojwt.ReasonExpressionError)
	if msg := status.Convert(err).Message(); strings.Contains(msg, "tier") || strings.Contains(msg, "celexpr") {
		t.Errorf("the client reads the evaluation error %q", msg)
	}
	if len(decisions) != 1 {
		t.Fatalf("%d decisions, want 1", len(decisions))
	}
	d := decisions[0]
	if d.Reason != protojwt.ReasonExpressionError || d.Err == nil || !strings.Contains(d.Err.Error(), "no such key: tier") {
		t.Fatalf("decision %s, err %v: want one saying CEL's \"no such key: tier\"", d.Reason, d.Err)
	}
}

// when it opens.
func TestGRPCStreams(t *testing.T) {
	m := newManager(t)
	client := serve(t, m, interceptor.WithExpressions(celexpr.New()))
	alice := token(t, m, "alice", nil, map[string]any{"tier": "gold"})
	bob := token(t, m, "bob", nil, map[string]any{"tier": "silver"})

	t.Run("every message", func(t *testing.T) {
		stream, err := client.Watch(as(alice))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := stream.Send(&testpb.WatchRequest{Owner: "alice"}); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil || resp.GetOwner() != "alice" {
				t.Fatalf("Recv = %v, %v; want alice's echo", resp, err)
			}
		}
		if err := stream.Send(&testpb.WatchRequest{Owner: "bob"}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err == nil {
			t.Fatalf("the handler received bob's message: %v", resp)
		}
		wantDenied(t, err, codes.PermissionDenied, protojwt.ReasonExpressionFalse)
	})
	t.Run("first message", func(t *testing.T) {
		stream, err := client.Watch(as(bob))
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&testpb.WatchRequest{Owner: "alice"}); err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
		wantDenied(t, err, codes.PermissionDenied, protojwt.ReasonExpressionFalse)
	})
	t.Run("claims at open, allowed", func(t *testing.T) {
		stream, err := client.Subscribe(as(alice))
		if err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{"a", "b"} {
			if err := stream.Send(&testpb.SubscribeRequest{Topic: topic}); err != nil {
				t.Fatal(err)
			}
			if resp, err := stream.Recv(); err != nil || resp.GetTopic() != topic {
				t.Fatalf("Recv = %v, %v; want %s", resp, err, topic)
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("Recv after CloseSend = %v, want EOF", err)
		}
	})
	t.Run("claims at open, denied before any message", func(t *testing.T) {
		stream, err := client.Subscribe(as(bob))
		if err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
		wantDenied(t, err, codes.PermissionDenied, protojwt.ReasonExpressionFalse)
	})
}

// TestGRPCStreamEvaluations: the hook sees one evaluation of Watch's
// expression per received message, and none of Subscribe's after it opens.
func TestGRPCStreamEvaluations(t *testing.T) {
	m := newManager(t)
	calls := make(chan protojwt.Decision, 64)
	client := serve(t, m, interceptor.WithExpressions(celexpr.New()),
		interceptor.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
			calls <- d
		}))
	alice := token(t, m, "alice", nil, map[string]any{"tier": "gold"})

	watch, err := client.Watch(as(alice))
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := watch.Send(&testpb.WatchRequest{Owner: "alice"}); err != nil {
			t.Fatal(err)
		}
		if _, err := watch.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	_ = watch.CloseSend()
	if _, err := watch.Recv(); err != io.EOF {
		t.Fatalf("Recv after CloseSend = %v, want EOF", err)
	}
	if got := count(calls, true); got != 4 {
		t.Fatalf("Watch: %d message checks, want 4", got)
	}

	sub, err := client.Subscribe(as(alice))
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := sub.Send(&testpb.SubscribeRequest{Topic: "t"}); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	_ = sub.CloseSend()
	if _, err := sub.Recv(); err != io.EOF {
		t.Fatalf("Recv after CloseSend = %v, want EOF", err)
	}
	if got := count(calls, true); got != 0 {
		t.Fatalf("Subscribe: %d message checks, want 0", got)
	}
}

// count drains the decisions seen so far and counts the allowed ones of
// messages (message true) or of calls.
func count(calls chan protojwt.Decision, message bool) int {
	n := 0
	for {
		select {
		case d := <-calls:
			if d.Message == message && d.Allowed {
				n++
			}
		default:
			return n
		}
	}
}
