package celexpr_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/manager"
)

// DocumentService's procedures, as connect names them.
const (
	getDocument = testpb.DocumentService_GetDocument_FullMethodName
	transfer    = testpb.DocumentService_Transfer_FullMethodName
	listTiers   = testpb.DocumentService_ListTiers_FullMethodName
	audit       = testpb.DocumentService_Audit_FullMethodName
	search      = testpb.DocumentService_Search_FullMethodName
	lookup      = testpb.DocumentService_Lookup_FullMethodName
	unlock      = testpb.DocumentService_Unlock_FullMethodName
	watch       = testpb.DocumentService_Watch_FullMethodName
	subscribe   = testpb.DocumentService_Subscribe_FullMethodName
)

// connectServer serves DocumentService as connect handlers, with no
// generated connect code, behind connectauth on loopback (HTTP/1.1 and
// HTTP/2 without TLS), and records what reached the handlers.
type connectServer struct {
	url   string
	http1 *http.Client // HTTP/1.1 only
	h2c   *http.Client // HTTP/2 without TLS, which bidi streams need

	unary      atomic.Int32 // unary handlers entered
	subscribed atomic.Int32 // Subscribe handlers entered
	mu         sync.Mutex
	watched    []string // owners of the Watch messages the handler received
}

// serveConnect starts DocumentService behind connectauth.New(m, opts...).
func serveConnect(t *testing.T, m *manager.Manager, opts ...connectauth.Option) *connectServer {
	t.Helper()
	auth, err := connectauth.New(m, opts...)
	if err != nil {
		t.Fatalf("connectauth.New: %v", err)
	}
	s := &connectServer{}
	with := connect.WithInterceptors(auth)
	mux := http.NewServeMux()
	handleUnary(mux, &s.unary, getDocument, func(ctx context.Context, _ *testpb.GetDocumentRequest) *testpb.GetDocumentResponse {
		return &testpb.GetDocumentResponse{Subject: subject(ctx)}
	}, with)
	handleUnary(mux, &s.unary, transfer, func(ctx context.Context, _ *testpb.TransferRequest) *testpb.TransferResponse {
		return &testpb.TransferResponse{Subject: subject(ctx)}
	}, with)
	handleUnary(mux, &s.unary, listTiers, func(ctx context.Context, _ *testpb.ListTiersRequest) *testpb.ListTiersResponse {
		return &testpb.ListTiersResponse{Subject: subject(ctx)}
	}, with)
	handleUnary(mux, &s.unary, search, func(ctx context.Context, _ *testpb.SearchRequest) *testpb.SearchResponse {
		return &testpb.SearchResponse{Subject: subject(ctx)}
	}, with)
	handleUnary(mux, &s.unary, lookup, func(ctx context.Context, _ *testpb.LookupRequest) *testpb.LookupResponse {
		return &testpb.LookupResponse{Subject: subject(ctx)}
	}, with)
	handleUnary(mux, &s.unary, unlock, func(ctx context.Context, _ *testpb.UnlockRequest) *testpb.UnlockResponse {
		return &testpb.UnlockResponse{Subject: subject(ctx)}
	}, with)
	handleUnary(mux, &s.unary, audit, func(_ context.Context, req *testpb.AuditRequest) *testpb.AuditResponse {
		return &testpb.AuditResponse{Count: int32(len(req.GetTags()))}
	}, with)
	mux.Handle(watch, connect.NewBidiStreamHandler(watch, func(_ context.Context, stream *connect.BidiStream[testpb.WatchRequest, testpb.WatchResponse]) error {
		return echo(stream, func(req *testpb.WatchRequest) *testpb.WatchResponse {
			s.mu.Lock()
			s.watched = append(s.watched, req.GetOwner())
			s.mu.Unlock()
			return &testpb.WatchResponse{Owner: req.GetOwner()}
		})
	}, with))
	mux.Handle(subscribe, connect.NewBidiStreamHandler(subscribe, func(_ context.Context, stream *connect.BidiStream[testpb.SubscribeRequest, testpb.SubscribeResponse]) error {
		s.subscribed.Add(1)
		return echo(stream, func(req *testpb.SubscribeRequest) *testpb.SubscribeResponse {
			return &testpb.SubscribeResponse{Topic: req.GetTopic()}
		})
	}, with))

	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	h1 := &http.Transport{Protocols: new(http.Protocols)}
	h1.Protocols.SetHTTP1(true)
	h2 := &http.Transport{Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(func() {
		h1.CloseIdleConnections()
		h2.CloseIdleConnections()
		srv.Close()
	})
	s.url, s.http1, s.h2c = srv.URL, &http.Client{Transport: h1}, &http.Client{Transport: h2}
	return s
}

// takeWatched returns the owners the Watch handler received since the last
// call, and forgets them.
func (s *connectServer) takeWatched() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.watched
	s.watched = nil
	return w
}

// handleUnary mounts answer as the unary handler of procedure, counting
// the calls that reach it in calls.
func handleUnary[Req, Res any](mux *http.ServeMux, calls *atomic.Int32, procedure string, answer func(context.Context, *Req) *Res, opts ...connect.HandlerOption) {
	mux.Handle(procedure, connect.NewUnaryHandler(procedure, func(ctx context.Context, req *connect.Request[Req]) (*connect.Response[Res], error) {
		calls.Add(1)
		return connect.NewResponse(answer(ctx, req.Msg)), nil
	}, opts...))
}

// echo answers every message of stream until the client closes it.
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

// connectProtocol is a protocol connect serves, and how a client speaks it.
type connectProtocol struct {
	name string
	opts []connect.ClientOption
	h2   bool // needs HTTP/2
}

var connectProtocols = []connectProtocol{
	{name: "connect"},
	{name: "grpc", opts: []connect.ClientOption{connect.WithGRPC()}, h2: true},
	{name: "grpc-web", opts: []connect.ClientOption{connect.WithGRPCWeb()}},
}

// client returns the HTTP client for p: HTTP/1.1 unless p or streams
// (stream) need HTTP/2.
func (s *connectServer) client(p connectProtocol, stream bool) *http.Client {
	if p.h2 || stream {
		return s.h2c
	}
	return s.http1
}

// callUnary calls procedure with req under p, sending signed as the bearer
// token unless it is "".
func callUnary[Req, Res any](t *testing.T, s *connectServer, p connectProtocol, procedure, signed string, req *Req) (*Res, error) {
	t.Helper()
	r := connect.NewRequest(req)
	if signed != "" {
		r.Header().Set("Authorization", "Bearer "+signed)
	}
	resp, err := connect.NewClient[Req, Res](s.client(p, false), s.url+procedure, p.opts...).CallUnary(t.Context(), r)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// call calls the unary procedure of DocumentService that takes req, and
// returns what its handler answered: the subject it saw, or Audit's count.
func (s *connectServer) call(t *testing.T, p connectProtocol, signed string, req proto.Message) (string, error) {
	t.Helper()
	switch req := req.(type) {
	case *testpb.GetDocumentRequest:
		resp, err := callUnary[testpb.GetDocumentRequest, testpb.GetDocumentResponse](t, s, p, getDocument, signed, req)
		return resp.GetSubject(), err
	case *testpb.TransferRequest:
		resp, err := callUnary[testpb.TransferRequest, testpb.TransferResponse](t, s, p, transfer, signed, req)
		return resp.GetSubject(), err
	case *testpb.ListTiersRequest:
		resp, err := callUnary[testpb.ListTiersRequest, testpb.ListTiersResponse](t, s, p, listTiers, signed, req)
		return resp.GetSubject(), err
	case *testpb.SearchRequest:
		resp, err := callUnary[testpb.SearchRequest, testpb.SearchResponse](t, s, p, search, signed, req)
		return resp.GetSubject(), err
	case *testpb.LookupRequest:
		resp, err := callUnary[testpb.LookupRequest, testpb.LookupResponse](t, s, p, lookup, signed, req)
		return resp.GetSubject(), err
	case *testpb.UnlockRequest:
		resp, err := callUnary[testpb.UnlockRequest, testpb.UnlockResponse](t, s, p, unlock, signed, req)
		return resp.GetSubject(), err
	case *testpb.AuditRequest:
		resp, err := callUnary[testpb.AuditRequest, testpb.AuditResponse](t, s, p, audit, signed, req)
		if err != nil {
			return "", err
		}
		return strconv.Itoa(int(resp.GetCount())), nil
	}
	t.Fatalf("no procedure of DocumentService takes %T", req)
	return "", nil
}

// openStream opens a bidi stream of procedure under p over HTTP/2, sending
// signed as the bearer token.
func openStream[Req, Res any](t *testing.T, s *connectServer, p connectProtocol, procedure, signed string) *connect.BidiStreamForClient[Req, Res] {
	t.Helper()
	stream := connect.NewClient[Req, Res](s.client(p, true), s.url+procedure, p.opts...).CallBidiStream(t.Context())
	stream.RequestHeader().Set("Authorization", "Bearer "+signed)
	t.Cleanup(func() { _ = stream.CloseResponse() })
	return stream
}

// wantConnectDenied fails unless err is a connect denial with code and
// reason.
func wantConnectDenied(t *testing.T, err error, code connect.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("allowed, want %v %s", code, reason)
	}
	got, _ := protojwt.ReasonOf(err)
	if connect.CodeOf(err) != code || got != reason {
		t.Fatalf("error %v (code %v, reason %q), want %v %s", err, connect.CodeOf(err), got, code, reason)
	}
}

// TestConnectUnary: through connectauth, on a real connect server and
// under each protocol it serves, expressions over claims and the typed
// request decide unary calls; false and errors deny with reasons of their
// own, and a denied call never reaches its handler.
func TestConnectUnary(t *testing.T) {
	m := newManager(t)
	s := serveConnect(t, m, connectauth.WithExpressions(celexpr.New()))
	alice := token(t, m, "alice", nil, map[string]any{"roles": []string{"reader"}, "tier": "gold"})
	admin := token(t, m, "root", nil, map[string]any{"roles": []string{"admin"}, "tier": "bronze"})
	noRoles := token(t, m, "bob", nil, nil)
	payer := token(t, m, "alice", "payments", map[string]any{"limit": 100, "account": 1234567890123456789})
	noLimit := token(t, m, "alice", "payments", map[string]any{"account": 1234567890123456789})

	from := func(id int64) *testpb.Account { return &testpb.Account{AccountId: id} }
	const p53 = int64(1) << 53
	edge := token(t, m, "alice", nil, map[string]any{"account": p53})
	minAccount := token(t, m, "alice", nil, map[string]any{"account": int64(math.MinInt64)})
	maxAccount := token(t, m, "alice", nil, map[string]any{"account": uint64(math.MaxUint64)})
	find := func(text, pattern string) *testpb.SearchRequest {
		return &testpb.SearchRequest{Text: text, Pattern: pattern}
	}
	const denied, errored = protojwt.ReasonExpressionFalse, protojwt.ReasonExpressionError
	tests := []struct {
		name   string
		token  string
		req    proto.Message
		want   string // the handler's answer when allowed
		reason string // "" when allowed
		code   connect.Code
	}{
		{"owner", alice, &testpb.GetDocumentRequest{Owner: "alice"}, "alice", "", 0},
		{"admin", admin, &testpb.GetDocumentRequest{Owner: "alice"}, "root", "", 0},
		{"another's document", alice, &testpb.GetDocumentRequest{Owner: "bob"}, "", denied, connect.CodePermissionDenied},
		{"no owner", alice, &testpb.GetDocumentRequest{}, "", denied, connect.CodePermissionDenied},
		{"no roles claim, another's document", noRoles, &testpb.GetDocumentRequest{Owner: "alice"}, "", errored, connect.CodePermissionDenied},
		{"no roles claim, own document", noRoles, &testpb.GetDocumentRequest{Owner: "bob"}, "bob", "", 0},
		{"no token", "", &testpb.GetDocumentRequest{Owner: "alice"}, "", protojwt.ReasonTokenMissing, connect.CodeUnauthenticated},
		{"transfer within the limit", payer, &testpb.TransferRequest{Amount: 100, From: from(1234567890123456789)}, "alice", "", 0},
		{"transfer over the limit", payer, &testpb.TransferRequest{Amount: 101, From: from(1234567890123456789)}, "", denied, connect.CodePermissionDenied},
		{"transfer from the account's neighbour", payer, &testpb.TransferRequest{Amount: 1, From: from(1234567890123456788)}, "", denied, connect.CodePermissionDenied},
		{"transfer with no limit claim", noLimit, &testpb.TransferRequest{Amount: 1, From: from(1234567890123456789)}, "", errored, connect.CodePermissionDenied},
		{"transfer without the scope: declarative parts first", alice, &testpb.TransferRequest{Amount: 1}, "", protojwt.ReasonScopeMissing, connect.CodePermissionDenied},
		{"gold tier", alice, &testpb.ListTiersRequest{}, "alice", "", 0},
		{"bronze tier", admin, &testpb.ListTiersRequest{}, "", denied, connect.CodePermissionDenied},
		{"no tier claim", noRoles, &testpb.ListTiersRequest{}, "", errored, connect.CodePermissionDenied},
		{"audit of 10 tags", alice, &testpb.AuditRequest{Tags: make([]string, 10)}, "10", "", 0},
		{"audit of 1000 tags: the cost limit", alice, &testpb.AuditRequest{Tags: make([]string, 1000)}, "", errored, connect.CodePermissionDenied},
		{"account 2^53", edge, &testpb.LookupRequest{Id: p53}, "alice", "", 0},
		{"account 2^53+1 against a claim of 2^53", edge, &testpb.LookupRequest{Id: p53 + 1}, "", denied, connect.CodePermissionDenied},
		{"account 2^53-1 against a claim of 2^53", edge, &testpb.LookupRequest{Id: p53 - 1}, "", denied, connect.CodePermissionDenied},
		{"unsigned account 2^53+1 against a claim of 2^53", edge, &testpb.LookupRequest{Uid: uint64(p53) + 1}, "", denied, connect.CodePermissionDenied},
		{"account int64 min", minAccount, &testpb.LookupRequest{Id: math.MinInt64}, "alice", "", 0},
		{"account int64 min+1", minAccount, &testpb.LookupRequest{Id: math.MinInt64 + 1}, "", denied, connect.CodePermissionDenied},
		{"unsigned account uint64 max", maxAccount, &testpb.LookupRequest{Uid: math.MaxUint64}, "alice", "", 0},
		{"unsigned account uint64 max-1", maxAccount, &testpb.LookupRequest{Uid: math.MaxUint64 - 1}, "", denied, connect.CodePermissionDenied},
		{"account int64 max against uint64 max", maxAccount, &testpb.LookupRequest{Id: math.MaxInt64}, "", denied, connect.CodePermissionDenied},
		{"search, a short text", alice, find("alice's notes", "^alice"), "alice", "", 0},
		{"search, no match", alice, find("bob's notes", "^alice"), "", denied, connect.CodePermissionDenied},
		{"search, a text at the message limit", alice, find(hostileText(messageLimit-64), "a+"), "", errored, connect.CodePermissionDenied},
		{"search, a text and a pattern at the message limit", alice, find(hostileText(messageLimit/2), hostilePattern(messageLimit/2-64)), "", errored, connect.CodePermissionDenied},
		{"search, a pattern at the message limit", alice, find("a", hostilePattern(messageLimit-64)), "", errored, connect.CodePermissionDenied},
	}
	for _, p := range connectProtocols {
		t.Run(p.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := s.unary.Load()
					got, err := s.call(t, p, tt.token, tt.req)
					ran := s.unary.Load() - before
					if tt.reason == "" {
						if err != nil || got != tt.want || ran != 1 {
							t.Fatalf("answer %q, %v, handler ran %d times; want %q from one run", got, err, ran, tt.want)
						}
						return
					}
					wantConnectDenied(t, err, tt.code, tt.reason)
					if ran != 0 {
						t.Fatalf("denied, but the handler ran %d times", ran)
					}
				})
			}
		})
	}
}

// TestConnectStreams: on a real connect server and under each protocol, an
// expression that reads the request decides every message the client
// sends on a bidi stream, and the handler never receives the refused one;
// one that reads only claims decides the stream when it opens.
func TestConnectStreams(t *testing.T) {
	m := newManager(t)
	s := serveConnect(t, m, connectauth.WithExpressions(celexpr.New()))
	alice := token(t, m, "alice", nil, map[string]any{"tier": "gold"})
	bob := token(t, m, "bob", nil, map[string]any{"tier": "silver"})

	for _, p := range connectProtocols {
		t.Run(p.name, func(t *testing.T) {
			t.Run("every message", func(t *testing.T) {
				s.takeWatched()
				stream := openStream[testpb.WatchRequest, testpb.WatchResponse](t, s, p, watch, alice)
				for range 3 {
					if err := stream.Send(&testpb.WatchRequest{Owner: "alice"}); err != nil {
						t.Fatal(err)
					}
					resp, err := stream.Receive()
					if err != nil || resp.GetOwner() != "alice" {
						t.Fatalf("Receive = %v, %v; want alice's echo", resp, err)
					}
				}
				if err := stream.Send(&testpb.WatchRequest{Owner: "bob"}); err != nil && !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				resp, err := stream.Receive()
				if err == nil {
					t.Fatalf("the handler answered bob's message: %v", resp)
				}
				wantConnectDenied(t, err, connect.CodePermissionDenied, protojwt.ReasonExpressionFalse)
				if got := s.takeWatched(); !slices.Equal(got, []string{"alice", "alice", "alice"}) {
					t.Fatalf("the handler received %q, want alice's three messages only", got)
				}
			})
			t.Run("first message", func(t *testing.T) {
				s.takeWatched()
				stream := openStream[testpb.WatchRequest, testpb.WatchResponse](t, s, p, watch, bob)
				if err := stream.Send(&testpb.WatchRequest{Owner: "alice"}); err != nil && !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				_, err := stream.Receive()
				wantConnectDenied(t, err, connect.CodePermissionDenied, protojwt.ReasonExpressionFalse)
				if got := s.takeWatched(); len(got) != 0 {
					t.Fatalf("the handler received %q, want nothing", got)
				}
			})
			t.Run("claims at open, allowed", func(t *testing.T) {
				before := s.subscribed.Load()
				stream := openStream[testpb.SubscribeRequest, testpb.SubscribeResponse](t, s, p, subscribe, alice)
				for _, topic := range []string{"a", "b"} {
					if err := stream.Send(&testpb.SubscribeRequest{Topic: topic}); err != nil {
						t.Fatal(err)
					}
					if resp, err := stream.Receive(); err != nil || resp.GetTopic() != topic {
						t.Fatalf("Receive = %v, %v; want %s", resp, err, topic)
					}
				}
				if err := stream.CloseRequest(); err != nil {
					t.Fatal(err)
				}
				if _, err := stream.Receive(); !errors.Is(err, io.EOF) {
					t.Fatalf("Receive after CloseRequest = %v, want EOF", err)
				}
				if n := s.subscribed.Load() - before; n != 1 {
					t.Fatalf("handler entered %d times, want 1", n)
				}
			})
			t.Run("claims at open, denied before any message", func(t *testing.T) {
				before := s.subscribed.Load()
				stream := openStream[testpb.SubscribeRequest, testpb.SubscribeResponse](t, s, p, subscribe, bob)
				if err := stream.Send(nil); err != nil && !errors.Is(err, io.EOF) { // the headers alone
					t.Fatal(err)
				}
				_, err := stream.Receive()
				wantConnectDenied(t, err, connect.CodePermissionDenied, protojwt.ReasonExpressionFalse)
				if n := s.subscribed.Load() - before; n != 0 {
					t.Fatalf("handler entered %d times, want 0", n)
				}
			})
		})
	}
}

// TestConnectStreamEvaluations: the hook sees one evaluation of Watch's
// expression per received message, and none of Subscribe's after it opens.
func TestConnectStreamEvaluations(t *testing.T) {
	m := newManager(t)
	calls := make(chan protojwt.Decision, 64)
	s := serveConnect(t, m, connectauth.WithExpressions(celexpr.New()),
		connectauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
			calls <- d
		}))
	alice := token(t, m, "alice", nil, map[string]any{"tier": "gold"})
	p := connectProtocols[0]

	w := openStream[testpb.WatchRequest, testpb.WatchResponse](t, s, p, watch, alice)
	for range 4 {
		if err := w.Send(&testpb.WatchRequest{Owner: "alice"}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Receive(); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.CloseRequest()
	if _, err := w.Receive(); !errors.Is(err, io.EOF) {
		t.Fatalf("Receive after CloseRequest = %v, want EOF", err)
	}
	if got := count(calls, true); got != 4 {
		t.Fatalf("Watch: %d message checks, want 4", got)
	}

	sub := openStream[testpb.SubscribeRequest, testpb.SubscribeResponse](t, s, p, subscribe, alice)
	for range 4 {
		if err := sub.Send(&testpb.SubscribeRequest{Topic: "t"}); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Receive(); err != nil {
			t.Fatal(err)
		}
	}
	_ = sub.CloseRequest()
	if _, err := sub.Receive(); !errors.Is(err, io.EOF) {
		t.Fatalf("Receive after CloseRequest = %v, want EOF", err)
	}
	if got := count(calls, true); got != 0 {
		t.Fatalf("Subscribe: %d message checks, want 0", got)
	}
}

// TestConnectCompileErrors: connectauth.New refuses a procedure whose
// expression can't be used, naming it and saying CEL's message, and a rule
// with an expr when no engine is given.
func TestConnectCompileErrors(t *testing.T) {
	m := newManager(t)
	for _, tt := range ruleErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := connectauth.New(m, connectauth.WithResolver(filesWithRule(t, tt.expr)), connectauth.WithExpressions(celexpr.New()))
			wantRuleError(t, err, tt.want)
		})
	}
	t.Run("no engine", func(t *testing.T) {
		_, err := connectauth.New(m, connectauth.WithResolver(filesWithRule(t, "claims.sub == request.owner")))
		wantNoEngine(t, err)
	})
	t.Run("no engine, DocumentService", func(t *testing.T) {
		_, err := connectauth.New(m) // the global registry, which holds DocumentService
		wantNoEngine(t, err)
		var re *protojwt.RuleError
		if !errors.As(err, &re) || !strings.HasPrefix(re.Procedure, "/protojwt.celexpr.test.v1.DocumentService/") {
			t.Fatalf("New = %v, want a RuleError naming a procedure of DocumentService", err)
		}
	})
	t.Run("a good rule compiles", func(t *testing.T) {
		if _, err := connectauth.New(m, connectauth.WithResolver(filesWithRule(t, "claims.sub == request.owner")), connectauth.WithExpressions(celexpr.New())); err != nil {
			t.Fatal(err)
		}
	})
}
