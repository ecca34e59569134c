// Command idp is a gRPC service that does not issue the tokens it accepts:
// it trusts two issuers, an OpenID Provider found by discovery and its own
// jobs issuer, and its rules read the claims identity providers put in
// access tokens (scopes, a tenant, realm roles, a namespaced tier).
//
//	go run ./examples/idp -demo
//
// starts a real OpenID Provider on loopback (panva's oidc-provider under
// Node.js; the first run installs it with npm), gets tokens from it as a
// service and as a browser login would, and walks calls that are allowed
// and denied, exiting non-zero if one does not behave as documented.
// Without -demo it serves on -grpc, trusting the provider at -issuer.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	pb "github.com/protojwt/protojwt/examples/idp/idppb"
	"github.com/protojwt/protojwt/examples/idp/provider"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// jobsIssuer is the issuer of the service's own jobs' tokens.
const jobsIssuer = "https://jobs.internal"

func main() {
	demo := flag.Bool("demo", false, "start a local OpenID Provider and the service on loopback, walk allowed and denied calls, and exit non-zero if any misbehaves")
	addr := flag.String("grpc", "127.0.0.1:50052", "gRPC listen address")
	issuer := flag.String("issuer", "", "the OpenID Provider's issuer URL, whose discovery document names its JWK Set")
	audience := flag.String("audience", provider.Resource, "the audience (resource) the provider's access tokens must name")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *demo {
		if err := runDemo(ctx, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "idp demo:", err)
			os.Exit(1)
		}
		return
	}
	if *issuer == "" {
		log.Fatal("idp: -issuer is required without -demo")
	}
	svc, err := newService(ctx, *issuer, *audience, mustSecret())
	if err != nil {
		log.Fatal(err)
	}
	defer svc.close()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("idp: gRPC on %s, trusting %s and %s", lis.Addr(), *issuer, jobsIssuer)
	go func() {
		<-ctx.Done()
		svc.server.GracefulStop()
	}()
	if err := svc.server.Serve(lis); err != nil {
		log.Fatal(err)
	}
}

// mustSecret returns the jobs issuer's secret from JOBS_SECRET.
func mustSecret() []byte {
	s := os.Getenv("JOBS_SECRET")
	if len(s) < 32 {
		log.Fatal("idp: JOBS_SECRET must hold at least 32 bytes")
	}
	return []byte(s)
}

// service is the gRPC server with the managers it verifies with.
type service struct {
	server *grpc.Server
	idp    *manager.Manager // the OpenID Provider's access tokens
	jobs   *manager.Manager // the jobs issuer: issues and verifies
}

// newService trusts the provider at issuer, by discovery, for tokens of
// audience, and the jobs issuer with secret.
func newService(ctx context.Context, issuer, audience string, secret []byte) (*service, error) {
	idp, err := manager.Open(ctx, manager.Config{
		Issuer:    issuer,
		Discovery: true,               // jwks_uri from the provider's metadata
		Audience:  []string{audience}, // tokens for this API only
		// Algorithm left empty: the asymmetric algorithms its keys fit.
	}, manager.WithAccessTokenProfile()) // RFC 9068 access tokens; ID tokens refused
	if err != nil {
		return nil, fmt.Errorf("idp: trust %s: %w", issuer, err)
	}
	jobs, err := manager.New(manager.Config{Issuer: jobsIssuer, Algorithm: "HS256", Secret: secret})
	if err != nil {
		idp.Close()
		return nil, err
	}
	issuers, err := manager.NewIssuers(idp, jobs)
	if err != nil {
		idp.Close()
		return nil, err
	}
	auth, err := interceptor.New(issuers, interceptor.WithHealthAndReflection())
	if err != nil {
		idp.Close()
		return nil, err
	}
	s := grpc.NewServer(auth.ServerOptions()...)
	pb.RegisterOrdersServiceServer(s, orders{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	if err := auth.CheckServer(s); err != nil {
		idp.Close()
		return nil, err
	}
	return &service{server: s, idp: idp, jobs: jobs}, nil
}

func (s *service) close() {
	s.server.Stop()
	s.idp.Close()
}

// orders serves OrdersService; the interceptor has checked every rule.
type orders struct {
	pb.UnimplementedOrdersServiceServer
}

func (orders) ListOrders(_ context.Context, req *pb.ListOrdersRequest) (*pb.ListOrdersResponse, error) {
	return &pb.ListOrdersResponse{Orders: []string{req.GetTenant() + "-1001", req.GetTenant() + "-1002"}}, nil
}

func (orders) DeleteOrder(_ context.Context, req *pb.DeleteOrderRequest) (*pb.DeleteOrderResponse, error) {
	return &pb.DeleteOrderResponse{Deleted: req.GetOrder()}, nil
}

func (orders) RunBilling(ctx context.Context, _ *pb.RunBillingRequest) (*pb.RunBillingResponse, error) {
	tok, _ := manager.FromContext(ctx)
	return &pb.RunBillingResponse{Subject: tok.Subject}, nil
}
