// Package rpctest is the table of calls that protojwt's RPC adapters must
// decide alike: the gRPC interceptor (package interceptor, grpc-go) and the
// connect interceptor (package connectauth, connect-go), both enforcing the
// rules of protojwt's test services (internal/testpb). Each case names the
// procedure, the request, the Authorization values and the outcome: the
// subject the handler sees, or the status code and stable reason of the
// denial. Each adapter's tests run the table over their own servers, the
// interceptor's over one grpc-go connection, connectauth's under each
// protocol connect serves, through a Client.
//
//	m := rpctest.NewManager(t)
//	client := rpctest.GRPC(conn) // or one Client per protocol
//	rpctest.RunUnary(t, client, rpctest.RuleCases(t, m))
//	rpctest.RunChat(t, client, &chatHandlersEntered, rpctest.ChatCases(t, m))
//	rpctest.RunWatch(t, client, rpctest.WatchCases(t, m))
//
// The other tables: TokenCases, StoreDownCases, OpenedCases (what options
// that open methods open), HookCases (what a decision hook is told), and
// RunStreamOutlivesToken's scenarios. The tables of hostile Authorization
// values are internal/hostiletest's; RunHostileUnary and RunHostileChat
// send them through a Client, and RunHostileChecksUnary,
// RunHostileChecksChat and RunChecksOnEveryMessage its table of claim
// checks. FileDescriptorSet writes a set of descriptors as buf build does,
// for tests that read or audit one. It is test support: only tests import
// it.
package rpctest
