package rpctest

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// OpenedService is the service that OpenedCases' Services open.
const OpenedService = "protojwt.test.v1.OpenService"

// Opened are the calls that tell what each way an adapter opens methods
// without a rule opens, and that it opens nothing else.
type Opened struct {
	// Methods are the calls of a server that opens the method
	// testpb.GuardedService_Undeclared_FullMethodName by its name
	// (WithPublicMethods, WithPublicProcedures).
	Methods []UnaryCase
	// Services are the calls of a server that opens OpenedService by its
	// name (WithPublicServices).
	Services []UnaryCase
	// Unannotated are the calls of a server that opens every method
	// without a rule (AllowUnannotated).
	Unannotated []UnaryCase
	// None are the calls of a server that opens nothing.
	None []UnaryCase
}

// OpenedCases are the calls of Opened, with tokens of m (a NewManager).
func OpenedCases(tb testing.TB, m *manager.Manager) Opened {
	tb.Helper()
	valid := []string{Bearer(AuthToken(tb, m, "alice", nil, nil))}
	garbage := []string{"Bearer garbage"}
	const denied = codes.PermissionDenied
	return Opened{
		Methods: []UnaryCase{
			{Name: "opened/no token", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}},
			{Name: "opened/token not verified", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}, Auth: garbage},
			{Name: "opened/token not passed", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}, Auth: valid},
			{Name: "other service closed", Method: testpb.OpenService_Ping_FullMethodName, Request: &testpb.PingRequest{}, Auth: valid, Code: denied, Reason: "METHOD_NOT_DECLARED"},
			{Name: "rules enforced", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: valid, Code: denied, Reason: "CLAIM_MISMATCH"},
		},
		Services: []UnaryCase{
			{Name: "opened/no token", Method: testpb.OpenService_Ping_FullMethodName, Request: &testpb.PingRequest{}},
			{Name: "opened/token not verified", Method: testpb.OpenService_Ping_FullMethodName, Request: &testpb.PingRequest{}, Auth: garbage},
			{Name: "opened/token not passed", Method: testpb.OpenService_Ping_FullMethodName, Request: &testpb.PingRequest{}, Auth: valid},
			{Name: "undeclared elsewhere closed", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}, Auth: valid, Code: denied, Reason: "METHOD_NOT_DECLARED"},
		},
		Unannotated: []UnaryCase{
			{Name: "undeclared method", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}, Auth: garbage},
			{Name: "undeclared service", Method: testpb.OpenService_Ping_FullMethodName, Request: &testpb.PingRequest{}},
			{Name: "rules enforced", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: valid, Code: denied, Reason: "CLAIM_MISMATCH"},
			{Name: "default rule enforced", Method: testpb.DefaultedService_Inherit_FullMethodName, Request: &testpb.InheritRequest{}, Code: codes.Unauthenticated, Reason: "TOKEN_MISSING"},
		},
		None: []UnaryCase{
			{Name: "undeclared method", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}, Code: denied, Reason: "METHOD_NOT_DECLARED"},
			{Name: "undeclared service", Method: testpb.OpenService_Ping_FullMethodName, Request: &testpb.PingRequest{}, Auth: valid, Code: denied, Reason: "METHOD_NOT_DECLARED"},
		},
	}
}
