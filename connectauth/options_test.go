package connectauth_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
)

// TestPublicOptions checks what each option opens, and that it opens
// nothing else.
func TestPublicOptions(t *testing.T) {
	m := newManager(t)
	opened := rpctest.OpenedCases(t, m)
	tests := []struct {
		name  string
		opts  []connectauth.Option
		cases []unaryCase
	}{
		{name: "WithPublicProcedures", opts: []connectauth.Option{connectauth.WithPublicProcedures(methodUndeclared)}, cases: opened.Methods},
		{name: "WithPublicServices", opts: []connectauth.Option{connectauth.WithPublicServices(rpctest.OpenedService)}, cases: opened.Services},
		{name: "AllowUnannotated", opts: []connectauth.Option{connectauth.AllowUnannotated()}, cases: opened.Unannotated},
		{name: "none", cases: opened.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runUnary(t, startServer(t, m, tt.opts...), tt.cases)
		})
	}
}

// TestWithHeader checks that the token is read from the configured header
// only, whatever the case the client writes it in.
func TestWithHeader(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m, connectauth.WithHeader("X-Api-Token"))
	signed := authToken(t, m, "alice", nil, nil)
	req := &testpb.FieldTopRequest{Username: "alice"}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			_, err := p.unary(t, ts, methodFieldTop, req, []string{bearer(signed)})
			checkDenial(t, err, connect.CodeUnauthenticated, "TOKEN_MISSING", signed)
		})
	}
	for _, name := range []string{"X-Api-Token", "x-api-token", "X-API-TOKEN"} {
		client := testpbconnect.NewGuardedServiceClient(ts.http1, ts.url)
		r := connect.NewRequest(req)
		r.Header()[name] = []string{bearer(signed)} // as written, not canonicalized
		resp, err := client.FieldTop(ctxFor(t), r)
		checkReply(t, resp.Msg.GetReply(), err, "alice")
	}
	_, err := rpctest.GRPC(ts.grpc).Unary(t, methodFieldTop, req, nil)
	checkDenial(t, err, connect.CodeUnauthenticated, "TOKEN_MISSING")
}

// TestNewOptionErrors checks that New refuses every unusable option with an
// error wrapping ErrInvalidOption that names what is wrong.
func TestNewOptionErrors(t *testing.T) {
	m := newManager(t)
	var nilManager *manager.Manager
	tests := []struct {
		name     string
		v        manager.Verifier
		opts     []connectauth.Option
		wantText string
		notText  string // not in the error
	}{
		{name: "nil verifier", opts: nil, wantText: "nil verifier"},
		{name: "nil manager", v: nilManager, wantText: "nil verifier"},
		{name: "nil resolver", v: m, opts: []connectauth.Option{connectauth.WithResolver(nil)}, wantText: "nil resolver"},
		{name: "procedure without slash", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures("protojwt.test.v1.OpenService/Ping")}, wantText: `WithPublicProcedures: "protojwt.test.v1.OpenService/Ping"`},
		{name: "procedure without method", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures("/protojwt.test.v1.OpenService/")}, wantText: `"/protojwt.test.v1.OpenService/"`},
		{name: "procedure with three parts", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures("/a.B/C/D")}, wantText: `"/a.B/C/D"`},
		{name: "empty procedure", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures("")}, wantText: `""`},
		{name: "procedure with a rule", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures(methodLiteralString)}, wantText: "WithPublicProcedures names " + methodLiteralString + ", which has a rule"},
		{name: "procedure with a default rule", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures(methodInherit)}, wantText: methodInherit},
		{name: "service with slash", v: m, opts: []connectauth.Option{connectauth.WithPublicServices("/protojwt.test.v1.OpenService")}, wantText: `"/protojwt.test.v1.OpenService"`},
		{name: "empty service", v: m, opts: []connectauth.Option{connectauth.WithPublicServices("")}, wantText: `""`},
		{name: "service with a default rule", v: m, opts: []connectauth.Option{connectauth.WithPublicServices("protojwt.test.v1.DefaultedService")}, wantText: "protojwt.test.v1.DefaultedService"},
		{name: "service with method rules", v: m, opts: []connectauth.Option{connectauth.WithPublicServices("protojwt.test.v1.GuardedService")}, wantText: methodLiteralString},
		{name: "empty header", v: m, opts: []connectauth.Option{connectauth.WithHeader("")}, wantText: "WithHeader"},
		{name: "binary header", v: m, opts: []connectauth.Option{connectauth.WithHeader("Token-Bin")}, wantText: `"Token-Bin"`},
		{name: "grpc header", v: m, opts: []connectauth.Option{connectauth.WithHeader("Grpc-Token")}, wantText: `"Grpc-Token"`},
		{name: "connect header", v: m, opts: []connectauth.Option{connectauth.WithHeader("Connect-Token")}, wantText: `"Connect-Token"`},
		{name: "content type", v: m, opts: []connectauth.Option{connectauth.WithHeader("Content-Type")}, wantText: `"Content-Type"`},
		{name: "header with space", v: m, opts: []connectauth.Option{connectauth.WithHeader("My Token")}, wantText: `"My Token"`},
		{name: "header with colon", v: m, opts: []connectauth.Option{connectauth.WithHeader("token:")}, wantText: `"token:"`},
		{name: "negative recheck", v: m, opts: []connectauth.Option{connectauth.WithStreamRecheck(-1)}, wantText: "WithStreamRecheck"},
		// Names that match nothing in the resolver: a misspelling would
		// leave the procedure it meant denied.
		{name: "unknown procedure", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures("/unknown.v1.NopeService/Nope")}, wantText: "WithPublicProcedures: /unknown.v1.NopeService/Nope is no procedure of the resolver", notText: "did you mean"},
		{name: "misspelled procedure", v: m, opts: []connectauth.Option{connectauth.WithPublicProcedures("/protojwt.test.v1.GuardedService/Undeclard")}, wantText: `did you mean "` + methodUndeclared + `"?`},
		{name: "unknown service", v: m, opts: []connectauth.Option{connectauth.WithPublicServices("unknown.v1.NopeService")}, wantText: "WithPublicServices: unknown.v1.NopeService is no service of the resolver", notText: "did you mean"},
		{name: "misspelled service", v: m, opts: []connectauth.Option{connectauth.WithPublicServices("protojwt.test.v1.OpenServce")}, wantText: `did you mean "protojwt.test.v1.OpenService"?`},
		{name: "service prefix", v: m, opts: []connectauth.Option{connectauth.WithPublicServices("unknown.v1.Nope")}, wantText: "unknown.v1.Nope is no service"},
		{name: "procedure outside an empty resolver", v: m, opts: []connectauth.Option{connectauth.WithResolver(new(protoregistry.Files)), connectauth.WithPublicProcedures(methodUndeclared)}, wantText: methodUndeclared + " is no procedure of the resolver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := connectauth.New(tt.v, tt.opts...)
			if !errors.Is(err, protojwt.ErrInvalidOption) {
				t.Fatalf("New error = %v, want ErrInvalidOption", err)
			}
			if i != nil {
				t.Errorf("New returned an Interceptor with its error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not name %s", err, tt.wantText)
			}
			if tt.notText != "" && strings.Contains(err.Error(), tt.notText) {
				t.Errorf("error %q says %q", err, tt.notText)
			}
		})
	}

	t.Run("good options", func(t *testing.T) {
		_, err := connectauth.New(m,
			connectauth.WithResolver(protoregistry.GlobalFiles),
			connectauth.WithPublicProcedures(methodUndeclared, "/grpc.health.v1.Health/Check"),
			connectauth.WithPublicServices("protojwt.test.v1.OpenService"),
			connectauth.WithHealthAndReflection(),
			connectauth.WithHeader("X-Token"),
			connectauth.WithStreamRecheck(0),
			connectauth.AllowUnannotated(),
			connectauth.WithExpressions(nil), // ignored
			nil,                              // ignored
		)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
	})
}

// mountExtra mounts handlers of procedures outside the generated
// services on a server behind auth: Ping's messages under other names.
func mountExtra(t *testing.T, auth *connectauth.Interceptor, procedures ...string) *testServer {
	t.Helper()
	ts := serve(t, upload{}, connect.WithInterceptors(auth))
	mux := http.NewServeMux()
	mux.Handle("/", ts.srv.Config.Handler)
	for _, p := range procedures {
		mux.Handle(p, connect.NewUnaryHandler(p, open{}.Ping, connect.WithInterceptors(auth)))
		stream := p + "Stream"
		mux.Handle(stream, connect.NewServerStreamHandler(stream, func(ctx context.Context, _ *connect.Request[testpb.PingRequest], s *connect.ServerStream[testpb.PingResponse]) error {
			return s.Send(&testpb.PingResponse{Reply: reply(ctx)})
		}, connect.WithInterceptors(auth)))
	}
	ts.srv.Config.Handler = mux
	return ts
}

// TestProceduresOutsideResolver serves procedures that no resolver
// describes, unary and streaming, over a real server: denied unless an
// option opens them, and then their handlers get no token.
func TestProceduresOutsideResolver(t *testing.T) {
	m := newManager(t)
	valid := []string{bearer(authToken(t, m, "alice", nil, nil))}
	const unknown = "/unknown.v1.NopeService/Nope"
	const healthCheck = "/grpc.health.v1.Health/Check"
	empty := connectauth.WithResolver(new(protoregistry.Files))

	tests := []struct {
		name       string
		procedure  string // unknown when ""
		opts       []connectauth.Option
		wantReason string // "" when the handler runs
	}{
		{name: "fail closed", wantReason: "METHOD_NOT_DECLARED"},
		// The health and reflection services may be opened by name when the
		// resolver does not describe them.
		{name: "public procedure", procedure: healthCheck, opts: []connectauth.Option{empty, connectauth.WithPublicProcedures(healthCheck, healthCheck+"Stream")}},
		{name: "other procedure of public procedure's service", procedure: healthCheck, opts: []connectauth.Option{empty, connectauth.WithPublicProcedures("/grpc.health.v1.Health/Other")}, wantReason: "METHOD_NOT_DECLARED"},
		{name: "public service", procedure: healthCheck, opts: []connectauth.Option{empty, connectauth.WithPublicServices("grpc.health.v1.Health")}},
		{name: "public service, other service", opts: []connectauth.Option{empty, connectauth.WithPublicServices("grpc.health.v1.Health")}, wantReason: "METHOD_NOT_DECLARED"},
		{name: "allow unannotated", opts: []connectauth.Option{connectauth.AllowUnannotated()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := connectauth.New(m, tt.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			procedure := tt.procedure
			if procedure == "" {
				procedure = unknown
			}
			ts := mountExtra(t, auth, procedure)
			for _, p := range protocols {
				r, err := p.unary(t, ts, procedure, &testpb.PingRequest{}, valid)
				if tt.wantReason == "" {
					checkReply(t, r, err, "")
				} else {
					checkDenial(t, err, connect.CodePermissionDenied, tt.wantReason)
				}
			}
			client := connect.NewClient[testpb.PingRequest, testpb.PingResponse](ts.http1, ts.url+procedure+"Stream")
			req := connect.NewRequest(&testpb.PingRequest{})
			addAuth(req.Header(), valid)
			stream, err := client.CallServerStream(ctxFor(t), req)
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			got := stream.Receive()
			if tt.wantReason == "" {
				if !got {
					t.Fatalf("stream: %v", stream.Err())
				}
				checkReply(t, stream.Msg().GetReply(), nil, "")
				return
			}
			if got {
				t.Fatal("stream handler ran")
			}
			checkDenial(t, stream.Err(), connect.CodePermissionDenied, tt.wantReason)
		})
	}
}

// TestHealthAndReflection: the option opens the health and reflection
// services by name, and nothing else.
func TestHealthAndReflection(t *testing.T) {
	m := newManager(t)
	health := "/grpc.health.v1.Health/Check"
	reflection := "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	for _, open := range []bool{false, true} {
		var opts []connectauth.Option
		if open {
			opts = append(opts, connectauth.WithHealthAndReflection())
		}
		auth, err := connectauth.New(m, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ts := mountExtra(t, auth, health, reflection, "/grpc.health.v2.Health/Check")
		for _, procedure := range []string{health, reflection} {
			r, err := rpctest.GRPC(ts.grpc).Unary(t, procedure, &testpb.PingRequest{}, nil)
			if open {
				checkReply(t, r, err, "")
			} else {
				checkDenial(t, err, connect.CodePermissionDenied, protojwt.ReasonMethodNotDeclared)
			}
		}
		_, err = rpctest.GRPC(ts.grpc).Unary(t, "/grpc.health.v2.Health/Check", &testpb.PingRequest{}, nil)
		checkDenial(t, err, connect.CodePermissionDenied, protojwt.ReasonMethodNotDeclared)
	}
	if !slices.Contains(connectauth.HealthAndReflection, "grpc.health.v1.Health") {
		t.Errorf("HealthAndReflection = %q", connectauth.HealthAndReflection)
	}
}

// TestClientPassThrough: given to a client, the interceptor decides
// nothing: a call without a token reaches a server that checks none.
func TestClientPassThrough(t *testing.T) {
	auth, err := connectauth.New(newManager(t))
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, upload{}) // no interceptor on the server
	client := testpbconnect.NewGuardedServiceClient(ts.h2c, ts.url, connect.WithInterceptors(auth))
	resp, err := client.FieldTop(ctxFor(t), connect.NewRequest(&testpb.FieldTopRequest{Username: "alice"}))
	checkReply(t, resp.Msg.GetReply(), err, "")
	chat := client.Chat(ctxFor(t))
	if err := chat.Send(&testpb.ChatRequest{Sender: "bob"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := chat.Receive(); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	_ = chat.CloseRequest()
	_ = chat.CloseResponse()
}

// TestDecisionHook checks that the hooks, in the order given, are told
// every decision once, with the procedure, the outcome, the reason and
// the token: unary calls allowed, denied and public, and a stream's open
// and messages.
func TestDecisionHook(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	var order []string
	ts := startServer(t, m,
		connectauth.WithDecisionHook(rec.Hook),
		connectauth.WithDecisionHook(func(context.Context, protojwt.Decision) { order = append(order, "second") }))
	cases := rpctest.HookCases(t, m)
	rpctest.RunDecisionHook(t, protocols[0].client(ts), &rec, cases)
	var decisions int
	for _, c := range cases {
		decisions += len(c.Wants)
	}
	if len(order) != decisions {
		t.Errorf("second hook called %d times, want %d", len(order), decisions)
	}
}
