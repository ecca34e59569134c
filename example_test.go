package protojwt_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// A Go client reads why a call was denied with ReasonOf, and decides what
// to do: refresh on TOKEN_EXPIRED, log in again on TOKEN_REVOKED, report a
// server mistake on METHOD_NOT_DECLARED.
func ExampleReasonOf() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	// A server that forgot to open health checking: protojwt fails closed.
	auth, err := interceptor.New(m)
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()))
	healthpb.RegisterHealthServer(s, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go s.Serve(lis)
	defer s.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})

	switch reason, _ := protojwt.ReasonOf(err); reason {
	case protojwt.ReasonTokenExpired:
		fmt.Println("refresh the token and retry")
	case protojwt.ReasonMethodNotDeclared:
		fmt.Println("the server declares no rule for this method:", reason)
	default:
		fmt.Println(reason, err)
	}
	// Output:
	// the server declares no rule for this method: METHOD_NOT_DECLARED
}
