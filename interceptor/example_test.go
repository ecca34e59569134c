package interceptor_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// users implements FieldTop, whose rule in the .proto file is
//
//	option (protojwt.v1.rule) = {
//	  claims: { key: "sub" value: { field: "username" } }
//	};
type users struct {
	testpb.UnimplementedGuardedServiceServer
}

func (users) FieldTop(ctx context.Context, req *testpb.FieldTopRequest) (*testpb.FieldTopResponse, error) {
	tok, _ := manager.FromContext(ctx) // the caller's verified token
	return &testpb.FieldTopResponse{Reply: &testpb.Reply{Subject: tok.Subject, HasToken: true}}, nil
}

// Example builds the interceptors from the rules of the registered services
// and serves them; a client calls FieldTop as alice, for alice, for bob, and
// with no token.
func Example() {
	m, err := manager.New(manager.Config{
		Issuer:    "example",
		Algorithm: "HS256",
		Secret:    []byte("an example secret of at least 32 bytes"),
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := interceptor.New(m, interceptor.WithPublicServices("grpc.health.v1.Health"))
	if err != nil {
		log.Fatal(err) // a bad rule or field path in a .proto file
	}
	s := grpc.NewServer(
		grpc.UnaryInterceptor(auth.Unary()),
		grpc.StreamInterceptor(auth.Stream()),
	)
	testpb.RegisterGuardedServiceServer(s, users{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	defer s.Stop()

	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := testpb.NewGuardedServiceClient(conn)

	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	asAlice := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok.Signed)

	resp, err := client.FieldTop(asAlice, &testpb.FieldTopRequest{Username: "alice"})
	fmt.Println("for alice:", resp.GetReply().GetSubject(), err)
	_, err = client.FieldTop(asAlice, &testpb.FieldTopRequest{Username: "bob"})
	fmt.Println("for bob:", status.Code(err), reason(err))
	_, err = client.FieldTop(context.Background(), &testpb.FieldTopRequest{Username: "alice"})
	fmt.Println("no token:", status.Code(err), reason(err))
	// Output:
	// for alice: alice <nil>
	// for bob: PermissionDenied CLAIM_MISMATCH
	// no token: Unauthenticated TOKEN_MISSING
}

// reason returns the reason of the ErrorInfo detail of a denial.
func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
