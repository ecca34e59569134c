package connectauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
)

// TestIssuersAudiences runs the table of per-method issuers and audiences
// through connect-go, under each protocol it serves.
func TestIssuersAudiences(t *testing.T) {
	rec := new(rpctest.Decisions)
	auth, err := connectauth.New(rpctest.IssuersVerifier(t),
		connectauth.WithResolver(rpctest.IssuersFiles(t, rpctest.IssuersRules())), connectauth.WithDecisionHook(rec.Hook))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for name := range rpctest.IssuersRules() {
		procedure := "/" + rpctest.IssuersService + "/" + name
		mux.Handle(procedure, connect.NewUnaryHandler(procedure,
			func(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
				return connect.NewResponse(new(emptypb.Empty)), nil
			}, connect.WithInterceptors(auth)))
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, protocol := range []struct {
		name string
		opts []connect.ClientOption
	}{{"connect", nil}, {"grpc", []connect.ClientOption{connect.WithGRPC()}}, {"grpcweb", []connect.ClientOption{connect.WithGRPCWeb()}}} {
		t.Run(protocol.name, func(t *testing.T) {
			rpctest.RunIssuers(t, func(ctx context.Context, method, authz string) error {
				client := connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+"/"+rpctest.IssuersService+"/"+method, protocol.opts...)
				req := connect.NewRequest(new(emptypb.Empty))
				req.Header().Set("Authorization", authz)
				_, err := client.CallUnary(ctx, req)
				return err
			}, rec, rpctest.IssuersCases(t))
		})
	}
}

// TestIssuersRuleErrors refuses an empty issuer or audience when the
// interceptor is built, with a RuleError naming the procedure.
func TestIssuersRuleErrors(t *testing.T) {
	for name, rule := range map[string]*annotations.Rule{
		"issuers[0] is empty":            {Issuers: []string{""}},
		"audiences[1] is empty":          {Audiences: []string{"orders", ""}},
		"any_of[0]: issuers[0] is empty": {AnyOf: []*annotations.Rule{{Issuers: []string{""}}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := connectauth.New(rpctest.IssuersVerifier(t), connectauth.WithResolver(rpctest.IssuersFiles(t, map[string]*annotations.Rule{"Bad": rule})))
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
