package interceptor_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// users implements UserSpecific of the quickstart's QuickstartService
// (examples/quickstart/proto/quickstart/v1/quickstart.proto), whose rule is
//
//	rpc UserSpecific(UserSpecificRequest) returns (UserSpecificResponse) {
//	  option (protojwt.v1.rule) = {
//	    claims: { key: "sub" value: { field: "username" } }
//	  };
//	}
type users struct {
	pb.UnimplementedQuickstartServiceServer
}

func (users) UserSpecific(ctx context.Context, req *pb.UserSpecificRequest) (*pb.UserSpecificResponse, error) {
	tok, _ := manager.FromContext(ctx) // the caller's verified token
	return &pb.UserSpecificResponse{Message: "Hello, " + tok.Subject + "!"}, nil
}

// Example builds the interceptors from the rules of the registered services
// and serves them; a client calls UserSpecific as alice, for alice, for bob,
// and with no token.
func Example() {
	m, err := manager.New(manager.Config{
		Issuer:    "example",
		Algorithm: "HS256",
		Secret:    []byte("an example secret of at least 32 bytes"),
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := interceptor.New(m, interceptor.WithHealthAndReflection())
	if err != nil {
		log.Fatal(err) // a bad rule or field path in a .proto file
	}
	s := grpc.NewServer(auth.ServerOptions()...)
	pb.RegisterQuickstartServiceServer(s, users{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	if err := auth.CheckServer(s); err != nil {
		log.Fatal(err) // a registered method that no rule covers
	}
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
	client := pb.NewQuickstartServiceClient(conn)

	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	asAlice := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok.Signed)

	resp, err := client.UserSpecific(asAlice, &pb.UserSpecificRequest{Username: "alice"})
	fmt.Println("for alice:", resp.GetMessage(), err)
	_, err = client.UserSpecific(asAlice, &pb.UserSpecificRequest{Username: "bob"})
	reason, _ := protojwt.ReasonOf(err)
	fmt.Println("for bob:", status.Code(err), reason)
	_, err = client.UserSpecific(context.Background(), &pb.UserSpecificRequest{Username: "alice"})
	reason, _ = protojwt.ReasonOf(err)
	fmt.Println("no token:", status.Code(err), reason)
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println("health, no token:", err)
	// Output:
	// for alice: Hello, alice! <nil>
	// for bob: PermissionDenied CLAIM_MISMATCH
	// no token: Unauthenticated TOKEN_MISSING
	// health, no token: <nil>
}
