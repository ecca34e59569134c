// Command usermodule is a gRPC service of a module outside protojwt: its
// .proto file imports protojwt's options from the file that
// `protojwt proto export` writes, and it generates only its own code. One
// rule is a CEL expression (Forward's expr), compiled by the celexpr module
// when the interceptor is built; `go generate` compiles it first, with the
// protojwt command built with CEL, so a bad one fails there.
//
//	go generate ./...   # proto export, buf lint, buf generate, buf build, rules --strict
//	JWT_ISSUER=greeter JWT_AUTHTYPE=HS256 JWT_SECRET_FILE=secret.txt go run . -addr :50051
package main

import (
	"context"
	"flag"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"example.com/usermodule/greeterpb"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

func main() {
	addr := flag.String("addr", "localhost:50051", "address to serve gRPC on")
	flag.Parse()
	cfg, err := manager.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	m, err := manager.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	s, err := newServer(m)
	if err != nil {
		log.Fatal(err) // a bad rule, or a registered method that no rule covers
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving gRPC on %s", lis.Addr())
	log.Fatal(s.Serve(lis))
}

// newServer returns the server with the GreeterService behind the rules of
// greeter.proto, and health and reflection open to callers without a
// token. It fails when a registered method would be denied to everyone, or
// when an expr does not compile against its request message.
func newServer(v manager.Verifier) (*grpc.Server, error) {
	auth, err := interceptor.New(v,
		interceptor.WithHealthAndReflection(),
		interceptor.WithExpressions(celexpr.New()))
	if err != nil {
		return nil, err
	}
	s := grpc.NewServer(auth.ServerOptions()...)
	greeterpb.RegisterGreeterServiceServer(s, greeter{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	if err := auth.CheckServer(s); err != nil {
		return nil, err
	}
	return s, nil
}

// greeter implements the GreeterService; the interceptor has enforced each
// method's rule before they run.
type greeter struct {
	greeterpb.UnimplementedGreeterServiceServer
}

func (greeter) Hello(ctx context.Context, _ *greeterpb.HelloRequest) (*greeterpb.HelloResponse, error) {
	tok, _ := manager.FromContext(ctx)
	return &greeterpb.HelloResponse{Greeting: "Hello, " + tok.Subject + "!"}, nil
}

func (greeter) Mailbox(_ context.Context, req *greeterpb.MailboxRequest) (*greeterpb.MailboxResponse, error) {
	return &greeterpb.MailboxResponse{Unread: unread[req.GetName()]}, nil
}

func (greeter) Forward(_ context.Context, req *greeterpb.ForwardRequest) (*greeterpb.ForwardResponse, error) {
	return &greeterpb.ForwardResponse{ForwardedTo: req.GetTo()}, nil
}

// unread is the number of unread messages of each mailbox.
var unread = map[string]int32{"alice": 2, "bob": 5}
