package interceptor_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
)

// issuersServer serves the methods of rpctest.IssuersService, each
// answering Empty, behind an interceptor built with opts.
func issuersServer(t *testing.T, auth *interceptor.Interceptor) *grpc.ClientConn {
	t.Helper()
	desc := grpc.ServiceDesc{ServiceName: rpctest.IssuersService, HandlerType: (*any)(nil)}
	for name := range rpctest.IssuersRules() {
		desc.Methods = append(desc.Methods, grpc.MethodDesc{MethodName: name,
			Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				info := &grpc.UnaryServerInfo{FullMethod: "/" + rpctest.IssuersService + "/" + name}
				return ic(ctx, in, info, func(context.Context, any) (any, error) { return new(emptypb.Empty), nil })
			}})
	}
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(auth.ServerOptions()...)
	s.RegisterService(&desc, struct{}{})
	go func() { _ = s.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		s.Stop()
	})
	return conn
}

// TestIssuersAudiences runs the table of per-method issuers and audiences
// through grpc-go.
func TestIssuersAudiences(t *testing.T) {
	rec := new(rpctest.Decisions)
	auth, err := interceptor.New(rpctest.IssuersVerifier(t),
		interceptor.WithResolver(rpctest.IssuersFiles(t, rpctest.IssuersRules())), interceptor.WithDecisionHook(rec.Hook))
	if err != nil {
		t.Fatal(err)
	}
	conn := issuersServer(t, auth)
	rpctest.RunIssuers(t, func(ctx context.Context, method, authz string) error {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authz)
		return conn.Invoke(ctx, "/"+rpctest.IssuersService+"/"+method, new(emptypb.Empty), new(emptypb.Empty))
	}, rec, rpctest.IssuersCases(t))
}

// TestIssuersRuleErrors refuses an empty issuer or audience when the
// interceptor is built, with a RuleError naming the method.
func TestIssuersRuleErrors(t *testing.T) {
	for name, rule := range map[string]*annotations.Rule{
		"issuers[0] is empty":            {Issuers: []string{""}},
		"audiences[1] is empty":          {Audiences: []string{"orders", ""}},
		"any_of[0]: issuers[0] is empty": {AnyOf: []*annotations.Rule{{Issuers: []string{""}}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := interceptor.New(rpctest.IssuersVerifier(t), interceptor.WithResolver(rpctest.IssuersFiles(t, map[string]*annotations.Rule{"Bad": rule})))
			var re *protojwt.RuleError
			if !errors.As(err, &re) || !errors.Is(err, protojwt.ErrInvalidRule) {
				t.Fatalf("New = %v, want a RuleError", err)
			}
			if re.Procedure != "/"+rpctest.IssuersService+"/Bad" {
				t.Errorf("RuleError.Procedure = %q", re.Procedure)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not say %q", err, name)
			}
		})
	}
}
