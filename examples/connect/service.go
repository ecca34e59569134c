package main

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
	"github.com/protojwt/protojwt/examples/quickstart/quickstartpb/quickstartpbconnect"
	"github.com/protojwt/protojwt/manager"
)

// user is an account of the in-memory user table.
type user struct {
	passwordHash []byte         // bcrypt
	scope        map[string]any // the authorizations put in auth tokens
	claims       map[string]any // extra claims put in auth tokens
}

// users is the quickstart's user table: alice/wonderland (an administrator
// holding the custom claim, the orders-admin role and the gold tier) and
// bob/builder (a reader of the silver tier). Roles sit where Keycloak puts
// realm roles.
var users = map[string]user{
	"alice": {
		passwordHash: []byte("$2a$10$5.BXcykfodT/hQQDQeOzYeXIB8TDe4YXSCIoIOFRccbTstNDxzgvu"),
		scope:        map[string]any{"admin": true},
		claims: map[string]any{
			"custom_claim": "Arbitrary Required Value",
			"realm_access": map[string]any{"roles": []string{"reader", "orders-admin"}},
			"tier":         "gold",
		},
	},
	"bob": {
		passwordHash: []byte("$2a$10$QFe/BLSspofjN1iiPIi3I.BXEQ9iBptGRdI8QHa/g/eJZg8BbuNlu"),
		scope:        map[string]any{"admin": false},
		claims: map[string]any{
			"realm_access": map[string]any{"roles": []string{"reader"}},
			"tier":         "silver",
		},
	},
}

// dummyHash is compared against when the user does not exist, so that a
// wrong username costs as much time as a wrong password.
var dummyHash = users["bob"].passwordHash

var (
	errLogin = errors.New("invalid login credentials")
	errReuse = errors.New("refresh token reused: every token of this login is revoked")
)

// quickstartService implements the procedures; connectauth has already
// enforced each one's rule from quickstart.proto when they run.
type quickstartService struct {
	quickstartpbconnect.UnimplementedQuickstartServiceHandler
	m *manager.Manager
}

func (s *quickstartService) Login(_ context.Context, req *connect.Request[pb.LoginRequest]) (*connect.Response[pb.LoginResponse], error) {
	u, ok := users[req.Msg.GetUsername()]
	hash := u.passwordHash
	if !ok {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(req.Msg.GetPassword())) != nil || !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errLogin)
	}
	auth, err := s.m.AuthToken(req.Msg.GetUsername(), u.scope, u.claims)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, errors.New("issuing tokens failed"))
	}
	refresh, err := s.m.RefreshToken(req.Msg.GetUsername(), nil)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, errors.New("issuing tokens failed"))
	}
	return connect.NewResponse(&pb.LoginResponse{AuthToken: auth.Signed, RefreshToken: refresh.Signed}), nil
}

// Refresh exchanges the caller's refresh token (verified by connectauth:
// the rule asks for one) for a new auth token and a new refresh token. The
// old one is used up: presented again, it revokes every token of the login.
func (s *quickstartService) Refresh(ctx context.Context, _ *connect.Request[pb.RefreshRequest]) (*connect.Response[pb.RefreshResponse], error) {
	tok, ok := manager.FromContext(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeInternal, errors.New("no refresh token in context"))
	}
	auth, next, err := s.m.RotateRefreshToken(ctx, tok.Signed, currentGrant)
	if errors.Is(err, manager.ErrRefreshReuse) {
		return nil, connect.NewError(connect.CodeUnauthenticated, errReuse)
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("refresh refused"))
	}
	return connect.NewResponse(&pb.RefreshResponse{AuthToken: auth.Signed, RefreshToken: next.Signed}), nil
}

// currentGrant returns what the user table grants the subject of a refresh
// token now: a user removed since the login can't refresh.
func currentGrant(_ context.Context, refresh *manager.Token) (any, map[string]any, error) {
	u, ok := users[refresh.Subject]
	if !ok {
		return nil, nil, errLogin
	}
	return u.scope, u.claims, nil
}

func (s *quickstartService) Protected(context.Context, *connect.Request[pb.ProtectedRequest]) (*connect.Response[pb.ProtectedResponse], error) {
	return connect.NewResponse(&pb.ProtectedResponse{Message: "You've reached the protected route!"}), nil
}

func (s *quickstartService) UserSpecific(_ context.Context, req *connect.Request[pb.UserSpecificRequest]) (*connect.Response[pb.UserSpecificResponse], error) {
	return connect.NewResponse(&pb.UserSpecificResponse{Message: "Hello, " + req.Msg.GetUsername() + "!"}), nil
}

func (s *quickstartService) CustomClaim(context.Context, *connect.Request[pb.CustomClaimRequest]) (*connect.Response[pb.CustomClaimResponse], error) {
	return connect.NewResponse(&pb.CustomClaimResponse{Message: "You've reached the custom claim route!"}), nil
}

func (s *quickstartService) AdminDashboard(context.Context, *connect.Request[pb.AdminDashboardRequest]) (*connect.Response[pb.AdminDashboardResponse], error) {
	return connect.NewResponse(&pb.AdminDashboardResponse{Message: "Hello admin!"}), nil
}

func (s *quickstartService) Orders(context.Context, *connect.Request[pb.OrdersRequest]) (*connect.Response[pb.OrdersResponse], error) {
	return connect.NewResponse(&pb.OrdersResponse{Message: "Here are the orders."}), nil
}

// Catalog is open to callers without a token (allow_missing); a caller who
// sends one gets the members' catalog.
func (s *quickstartService) Catalog(ctx context.Context, _ *connect.Request[pb.CatalogRequest]) (*connect.Response[pb.CatalogResponse], error) {
	msg := "The public catalog."
	if tok, ok := manager.FromContext(ctx); ok {
		msg = "The members' catalog, for " + tok.Subject + "."
	}
	return connect.NewResponse(&pb.CatalogResponse{Message: msg}), nil
}

func (s *quickstartService) TokenInfo(ctx context.Context, _ *connect.Request[pb.TokenInfoRequest]) (*connect.Response[pb.TokenInfoResponse], error) {
	tok, ok := manager.FromContext(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeInternal, errors.New("no token in context"))
	}
	scope, err := structpb.NewValue(tok.Scope)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, errors.New("scope is not JSON"))
	}
	claims, err := structpb.NewStruct(tok.Claims)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, errors.New("claims are not JSON"))
	}
	return connect.NewResponse(&pb.TokenInfoResponse{
		TokenType:   string(tok.Type),
		Subject:     tok.Subject,
		Scope:       scope,
		Claims:      claims,
		IsSigned:    tok.IsSigned(),
		SignedToken: tok.Signed,
	}), nil
}
