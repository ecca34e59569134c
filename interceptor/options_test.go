package interceptor_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestPublicOptions checks what each option opens, and that it opens
// nothing else.
func TestPublicOptions(t *testing.T) {
	m := newManager(t)
	opened := rpctest.OpenedCases(t, m)
	tests := []struct {
		name  string
		opts  []interceptor.Option
		cases []unaryCase
	}{
		{name: "WithPublicMethods", opts: []interceptor.Option{interceptor.WithPublicMethods(methodUndeclared)}, cases: opened.Methods},
		{name: "WithPublicServices", opts: []interceptor.Option{interceptor.WithPublicServices(rpctest.OpenedService)}, cases: opened.Services},
		{name: "AllowUnannotated", opts: []interceptor.Option{interceptor.AllowUnannotated()}, cases: opened.Unannotated},
		{name: "none", cases: opened.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runUnary(t, startServer(t, m, tt.opts...), tt.cases)
		})
	}
}

// TestWithMetadataKey checks that the token is read from the configured key
// only.
func TestWithMetadataKey(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m, interceptor.WithMetadataKey("X-Api-Token"))
	signed := authToken(t, m, "alice", nil, nil)
	req := &testpb.FieldTopRequest{Username: "alice"}

	ctx := metadata.AppendToOutgoingContext(withToken(t), "x-api-token", bearer(signed))
	r, err := call(ctx, ts, methodFieldTop, req)
	checkReply(t, r, err, "alice")

	_, err = call(withToken(t, bearer(signed)), ts, methodFieldTop, req)
	checkDenial(t, err, codes.Unauthenticated, "TOKEN_MISSING", signed)
}

// TestNewOptionErrors checks that New refuses every unusable option with an
// error wrapping ErrInvalidOption that names what is wrong.
func TestNewOptionErrors(t *testing.T) {
	m := newManager(t)
	tests := []struct {
		name     string
		m        *manager.Manager
		opts     []interceptor.Option
		wantText string
		notText  string // not in the error
	}{
		{name: "nil verifier", opts: nil, wantText: "nil verifier"},
		{name: "nil resolver", m: m, opts: []interceptor.Option{interceptor.WithResolver(nil)}, wantText: "nil resolver"},
		{name: "method without slash", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("protojwt.test.v1.OpenService/Ping")}, wantText: `"protojwt.test.v1.OpenService/Ping"`},
		{name: "method without method", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/protojwt.test.v1.OpenService/")}, wantText: `"/protojwt.test.v1.OpenService/"`},
		{name: "method without service", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/Ping")}, wantText: `"/Ping"`},
		{name: "method with three parts", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/a.B/C/D")}, wantText: `"/a.B/C/D"`},
		{name: "method with space", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/a.B/C D")}, wantText: `"/a.B/C D"`},
		{name: "empty method", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("")}, wantText: `""`},
		{name: "method with a rule", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods(methodLiteralString)}, wantText: methodLiteralString},
		{name: "method with a public rule", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods(methodPublic)}, wantText: methodPublic},
		{name: "method with a default rule", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods(methodInherit)}, wantText: methodInherit},
		{name: "service with slash", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("/protojwt.test.v1.OpenService")}, wantText: `"/protojwt.test.v1.OpenService"`},
		{name: "service with empty part", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("protojwt..OpenService")}, wantText: `"protojwt..OpenService"`},
		{name: "empty service", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("")}, wantText: `""`},
		{name: "service with a default rule", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("protojwt.test.v1.DefaultedService")}, wantText: "protojwt.test.v1.DefaultedService"},
		{name: "service with method rules", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("protojwt.test.v1.GuardedService")}, wantText: methodLiteralString},
		{name: "empty metadata key", m: m, opts: []interceptor.Option{interceptor.WithMetadataKey("")}, wantText: "WithMetadataKey"},
		{name: "binary metadata key", m: m, opts: []interceptor.Option{interceptor.WithMetadataKey("token-bin")}, wantText: `"token-bin"`},
		{name: "reserved metadata key", m: m, opts: []interceptor.Option{interceptor.WithMetadataKey("grpc-token")}, wantText: `"grpc-token"`},
		{name: "metadata key with space", m: m, opts: []interceptor.Option{interceptor.WithMetadataKey("my token")}, wantText: `"my token"`},
		// Names that match nothing in the resolver: a misspelling would
		// leave the method it meant denied.
		{name: "unknown method", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/unknown.v1.NopeService/Nope")}, wantText: "WithPublicMethods: /unknown.v1.NopeService/Nope is no method of the resolver", notText: "did you mean"},
		{name: "misspelled method", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/protojwt.test.v1.GuardedService/Undeclard")}, wantText: `did you mean "` + methodUndeclared + `"?`},
		{name: "method of misspelled service", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/protojwt.test.v1.OpenServce/Ping")}, wantText: `did you mean "/protojwt.test.v1.OpenService/Ping"?`},
		{name: "unknown service", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("unknown.v1.NopeService")}, wantText: "WithPublicServices: unknown.v1.NopeService is no service of the resolver", notText: "did you mean"},
		{name: "misspelled service", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("protojwt.test.v1.OpenServce")}, wantText: `did you mean "protojwt.test.v1.OpenService"?`},
		{name: "misspelled health service", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("grpc.health.v1.Healthh")}, wantText: `did you mean "grpc.health.v1.Health"?`},
		{name: "service prefix", m: m, opts: []interceptor.Option{interceptor.WithPublicServices("unknown.v1.Nope")}, wantText: "unknown.v1.Nope is no service"},
		{name: "every unknown name", m: m, opts: []interceptor.Option{interceptor.WithPublicMethods("/a.B/C"), interceptor.WithPublicServices("d.E")}, wantText: "/a.B/C is no method of the resolver\nWithPublicServices: d.E is no service"},
		{name: "name outside an empty resolver", m: m, opts: []interceptor.Option{interceptor.WithResolver(new(protoregistry.Files)), interceptor.WithPublicMethods(methodUndeclared)}, wantText: methodUndeclared + " is no method of the resolver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := interceptor.New(tt.m, tt.opts...)
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
		_, err := interceptor.New(m,
			interceptor.WithResolver(protoregistry.GlobalFiles),
			interceptor.WithPublicMethods(methodUndeclared, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
			interceptor.WithPublicServices("protojwt.test.v1.OpenService", "grpc.health.v1.Health"),
			interceptor.WithMetadataKey("X-Token"),
			interceptor.AllowUnannotated(),
			nil, // ignored
		)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
	})
}

// TestMethodsOutsideResolver calls the interceptors directly with methods
// that no resolver describes (gRPC itself answers Unimplemented for them
// before any interceptor runs, unless the server has an unknown service
// handler).
func TestMethodsOutsideResolver(t *testing.T) {
	m := newManager(t)
	valid := bearer(authToken(t, m, "alice", nil, nil))
	const unknown = "/unknown.v1.NopeService/Nope"
	const healthCheck = "/grpc.health.v1.Health/Check"
	empty := interceptor.WithResolver(new(protoregistry.Files))

	tests := []struct {
		name       string
		opts       []interceptor.Option
		method     string
		wantReason string // "" when the handler runs
	}{
		{name: "fail closed", method: unknown, wantReason: "METHOD_NOT_DECLARED"},
		{name: "malformed name", method: "nonsense", wantReason: "METHOD_NOT_DECLARED"},
		{name: "empty name", method: "", wantReason: "METHOD_NOT_DECLARED"},
		// The health and reflection services may be opened by name when the
		// resolver does not describe them.
		{name: "public method", opts: []interceptor.Option{empty, interceptor.WithPublicMethods(healthCheck)}, method: healthCheck},
		{name: "other method of public method's service", opts: []interceptor.Option{empty, interceptor.WithPublicMethods(healthCheck)}, method: "/grpc.health.v1.Health/Watch", wantReason: "METHOD_NOT_DECLARED"},
		{name: "public service", opts: []interceptor.Option{empty, interceptor.WithPublicServices("grpc.health.v1.Health")}, method: healthCheck},
		{name: "public service, other service", opts: []interceptor.Option{empty, interceptor.WithPublicServices("grpc.health.v1.Health")}, method: unknown, wantReason: "METHOD_NOT_DECLARED"},
		{name: "allow unannotated", opts: []interceptor.Option{interceptor.AllowUnannotated()}, method: unknown},
		{name: "allow unannotated, malformed name", opts: []interceptor.Option{interceptor.AllowUnannotated()}, method: "nonsense"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := interceptor.New(m, tt.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", valid))

			var called bool
			_, err = auth.Unary()(ctx, &testpb.PingRequest{}, &grpc.UnaryServerInfo{FullMethod: tt.method},
				func(ctx context.Context, _ any) (any, error) {
					called = true
					if _, ok := manager.FromContext(ctx); ok {
						t.Errorf("open method's handler got a token")
					}
					return nil, nil
				})
			checkOpen(t, "unary", called, err, tt.wantReason)

			called = false
			err = auth.Stream()(nil, &fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: tt.method},
				func(_ any, ss grpc.ServerStream) error {
					called = true
					if _, ok := manager.FromContext(ss.Context()); ok {
						t.Errorf("open method's handler got a token")
					}
					return nil
				})
			checkOpen(t, "stream", called, err, tt.wantReason)
		})
	}
}

func checkOpen(t *testing.T, kind string, called bool, err error, wantReason string) {
	t.Helper()
	if wantReason == "" {
		if err != nil || !called {
			t.Errorf("%s: handler called %v, error %v; want the handler to run", kind, called, err)
		}
		return
	}
	if called {
		t.Errorf("%s: handler called, want a denial", kind)
	}
	checkDenial(t, err, codes.PermissionDenied, wantReason)
}

// fakeStream is a grpc.ServerStream with a context and queued messages.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []*testpb.ChatRequest
}

func (s *fakeStream) Context() context.Context { return s.ctx }

// RecvMsg receives the next queued message, io.EOF after the last.
func (s *fakeStream) RecvMsg(m any) error {
	if len(s.msgs) == 0 {
		return io.EOF
	}
	proto.Merge(m.(proto.Message), s.msgs[0])
	s.msgs = s.msgs[1:]
	return nil
}
