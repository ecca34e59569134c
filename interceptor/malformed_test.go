package interceptor_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// bearerCredentials sends one token as call credentials, as a token source
// does.
type bearerCredentials string

func (c bearerCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(c)}, nil
}

func (bearerCredentials) RequireTransportSecurity() bool { return false }

// TestCredentialsTwice checks the common way to send two authorization
// values with grpc-go: a per-call credential on a connection that already
// has one. The call is REQUEST_MALFORMED, and its message says so; either
// credential alone is accepted.
func TestCredentialsTwice(t *testing.T) {
	m := newManager(t)
	alice, bob := authToken(t, m, "alice", nil, nil), authToken(t, m, "bob", nil, nil)
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()), grpc.StreamInterceptor(auth.Stream()))
	testpb.RegisterGuardedServiceServer(s, &guarded{})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(bearerCredentials(alice)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := testpb.NewGuardedServiceClient(conn)

	resp, err := client.FieldTop(rpctest.Context(t), &testpb.FieldTopRequest{Username: "alice"})
	checkReply(t, resp.GetReply(), err, "alice")

	_, err = client.FieldTop(rpctest.Context(t), &testpb.FieldTopRequest{Username: "alice"}, grpc.PerRPCCredentials(bearerCredentials(bob)))
	checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonRequestMalformed, alice, bob)
	if msg := rpctest.MessageOf(err); msg != "2 authorization values, expected one" {
		t.Errorf("message %q, want it to say there were 2 authorization values", msg)
	}
}
