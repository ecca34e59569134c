package main

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// newGRPCServer returns the quickstart's gRPC server: the QuickstartService,
// whose rules are declared in quickstart.proto, plus health checks and
// reflection, opened to callers without a token explicitly.
func newGRPCServer(m *manager.Manager, a *accounts, hook func(context.Context, protojwt.Decision)) (*grpc.Server, error) {
	auth, err := interceptor.New(m, interceptor.WithHealthAndReflection(), interceptor.WithDecisionHook(hook),
		interceptor.WithDPoP(a.proofs))
	if err != nil {
		return nil, err // a bad rule or field path in quickstart.proto
	}
	s := grpc.NewServer(auth.ServerOptions()...)
	pb.RegisterQuickstartServiceServer(s, &quickstartService{accounts: a})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	// Every registered method has a rule or is opened: checked now, not at
	// the first call.
	if err := auth.CheckServer(s); err != nil {
		return nil, err
	}
	return s, nil
}

// quickstartService implements the methods; the interceptor has already
// enforced each method's rule when they run.
type quickstartService struct {
	pb.UnimplementedQuickstartServiceServer
	accounts *accounts
}

func (s *quickstartService) Login(ctx context.Context, req *pb.LoginRequest) (*pb.LoginResponse, error) {
	proof, err := grpcProof(ctx)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	jkt, err := s.accounts.loginKey(ctx, proof, grpcCall(ctx, pb.QuickstartService_Login_FullMethodName))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	t, err := s.accounts.login(req.GetUsername(), req.GetPassword(), jkt)
	if errors.Is(err, errLogin) {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if err != nil {
		return nil, status.Error(codes.Internal, "issuing tokens failed")
	}
	return &pb.LoginResponse{AuthToken: t.Auth, RefreshToken: t.Refresh}, nil
}

func (s *quickstartService) Refresh(ctx context.Context, _ *pb.RefreshRequest) (*pb.RefreshResponse, error) {
	t, err := s.accounts.refresh(ctx)
	if err != nil {
		// The interceptor's codes and reasons: a reused refresh token is
		// Unauthenticated with TOKEN_REVOKED, and the client's login is over.
		return nil, interceptor.Deny(err)
	}
	return &pb.RefreshResponse{AuthToken: t.Auth, RefreshToken: t.Refresh}, nil
}

func (s *quickstartService) Protected(context.Context, *pb.ProtectedRequest) (*pb.ProtectedResponse, error) {
	return &pb.ProtectedResponse{Message: "You've reached the protected route!"}, nil
}

func (s *quickstartService) UserSpecific(_ context.Context, req *pb.UserSpecificRequest) (*pb.UserSpecificResponse, error) {
	return &pb.UserSpecificResponse{Message: fmt.Sprintf("Hello, %s!", req.GetUsername())}, nil
}

func (s *quickstartService) CustomClaim(context.Context, *pb.CustomClaimRequest) (*pb.CustomClaimResponse, error) {
	return &pb.CustomClaimResponse{Message: "You've reached the custom claim route!"}, nil
}

func (s *quickstartService) AdminDashboard(context.Context, *pb.AdminDashboardRequest) (*pb.AdminDashboardResponse, error) {
	return &pb.AdminDashboardResponse{Message: "Hello admin!"}, nil
}

func (s *quickstartService) Orders(context.Context, *pb.OrdersRequest) (*pb.OrdersResponse, error) {
	return &pb.OrdersResponse{Message: "Here are the orders."}, nil
}

func (s *quickstartService) Catalog(ctx context.Context, _ *pb.CatalogRequest) (*pb.CatalogResponse, error) {
	return &pb.CatalogResponse{Message: catalogFor(ctx)}, nil
}

func (s *quickstartService) TokenInfo(ctx context.Context, _ *pb.TokenInfoRequest) (*pb.TokenInfoResponse, error) {
	tok, ok := manager.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no token in context")
	}
	scope, err := structpb.NewValue(tok.Scope)
	if err != nil {
		return nil, status.Error(codes.Internal, "scope is not JSON")
	}
	claims, err := structpb.NewStruct(tok.Claims)
	if err != nil {
		return nil, status.Error(codes.Internal, "claims are not JSON")
	}
	return &pb.TokenInfoResponse{
		TokenType:   string(tok.Type),
		Subject:     tok.Subject,
		Scope:       scope,
		Claims:      claims,
		IsSigned:    tok.IsSigned(),
		SignedToken: tok.Signed,
	}, nil
}
