package interceptor_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

const (
	methodPublic        = testpb.GuardedService_Public_FullMethodName
	methodRefresh       = testpb.GuardedService_Refresh_FullMethodName
	methodLiteralString = testpb.GuardedService_LiteralString_FullMethodName
	methodLiteralNumber = testpb.GuardedService_LiteralNumber_FullMethodName
	methodLiteralBool   = testpb.GuardedService_LiteralBool_FullMethodName
	methodFieldTop      = testpb.GuardedService_FieldTop_FullMethodName
	methodFieldNested   = testpb.GuardedService_FieldNested_FullMethodName
	methodFieldNumber   = testpb.GuardedService_FieldNumber_FullMethodName
	methodFieldEnum     = testpb.GuardedService_FieldEnum_FullMethodName
	methodScopeContains = testpb.GuardedService_ScopeContains_FullMethodName
	methodScopes        = testpb.GuardedService_Scopes_FullMethodName
	methodAnyOf         = testpb.GuardedService_AnyOf_FullMethodName
	methodUndeclared    = testpb.GuardedService_Undeclared_FullMethodName
	methodInherit       = testpb.DefaultedService_Inherit_FullMethodName
	methodOverride      = testpb.DefaultedService_Override_FullMethodName
	methodPing          = testpb.OpenService_Ping_FullMethodName
)

// call invokes a unary test method; every test response has the handler's
// Reply as field 1, so PingResponse decodes them all.
func call(ctx context.Context, ts *testServer, method string, req proto.Message) (*testpb.Reply, error) {
	resp := new(testpb.PingResponse)
	err := ts.conn.Invoke(ctx, method, req, resp)
	return resp.GetReply(), err
}

// unaryCase is one call: see rpctest.UnaryCase.
type unaryCase = rpctest.UnaryCase

// runUnary runs the cases over the gRPC connection of ts.
func runUnary(t *testing.T, ts *testServer, tests []unaryCase) {
	t.Helper()
	rpctest.RunUnary(t, rpctest.GRPC(ts.conn), tests)
}

// TestUnaryRules runs every kind of rule over a real server whose
// interceptor reads the rules of the generated code in GlobalFiles: the
// acceptance table both RPC adapters decide.
func TestUnaryRules(t *testing.T) {
	m := newManager(t)
	runUnary(t, startServer(t, m), rpctest.RuleCases(t, m))
}

// TestUnaryTokens checks every way a token can fail authentication: each is
// Unauthenticated with its reason, and no message quotes the token.
func TestUnaryTokens(t *testing.T) {
	m := newManager(t, manager.WithRevocation(revocationStore(t)))
	runUnary(t, startServer(t, m), rpctest.TokenCases(t, m))
}

// TestUnaryRevocationUnavailable: a valid token that can't be checked
// against the revocation store is refused Unavailable, so that clients
// retry rather than log in again, and the store's error is not shown.
func TestUnaryRevocationUnavailable(t *testing.T) {
	m := newManager(t, manager.WithRevocation(rpctest.DownStore{Store: revocationStore(t)}))
	runUnary(t, startServer(t, m), rpctest.StoreDownCases(authToken(t, m, "alice", nil, nil)))
}
