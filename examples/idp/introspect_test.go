package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/connectauth"
	pb "github.com/protojwt/protojwt/examples/idp/idppb"
	"github.com/protojwt/protojwt/examples/idp/provider"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/introspection"
	"github.com/protojwt/protojwt/manager"
)

// introspector opens an Introspector of op's endpoint, found by discovery,
// authenticated as ResourceServer (client_secret_basic) or, with jwtAuth,
// as ResourceServerJWT (private_key_jwt).
func introspector(t *testing.T, op *provider.Provider, jwtAuth bool) *introspection.Introspector {
	t.Helper()
	cfg := introspection.Config{Issuer: op.Issuer, ClientID: provider.ResourceServer, ClientSecret: op.ResourceServerSecret(), Audience: []string{provider.OpaqueResource}}
	if jwtAuth {
		key, kid := op.ResourceServerKey()
		cfg = introspection.Config{Issuer: op.Issuer, ClientID: provider.ResourceServerJWT, PrivateKey: key, KeyID: kid, Audience: []string{provider.OpaqueResource}}
	}
	in, err := introspection.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestOPIntrospection verifies the provider's opaque access tokens at its
// introspection endpoint, with both client authentications, and its JWTs
// beside them through one Router.
func TestOPIntrospection(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	opaque, err := op.OpaqueServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if introspection.IsJWT(opaque) {
		t.Fatalf("the provider's opaque token looks like a JWT")
	}
	access, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	for _, jwtAuth := range []bool{false, true} {
		in := introspector(t, op, jwtAuth)
		if in.Endpoint() != op.Issuer+"/token/introspection" {
			t.Errorf("discovered endpoint %q", in.Endpoint())
		}
		tok, err := in.Verify(ctx, opaque)
		if err != nil {
			t.Fatalf("private_key_jwt %v: Verify(opaque): %v", jwtAuth, err)
		}
		if tok.Issuer != op.Issuer || tok.Type != manager.Auth || tok.Scope != "orders:read" || tok.Claims["client_id"] != "service" ||
			tok.Claims["tenant"] != "acme" || tok.Claims["aud"] != provider.OpaqueResource || tok.ExpiresAt.IsZero() {
			t.Errorf("private_key_jwt %v: token %+v", jwtAuth, tok)
		}
		// A JWT sent to the endpoint is not one of its opaque tokens.
		if _, err := in.Verify(ctx, "not-a-token-of-this-provider"); !errors.Is(err, introspection.ErrInactive) {
			t.Errorf("an unknown token: %v, want ErrInactive", err)
		}
	}
	// A client the provider does not know: its answer is an outage here.
	wrong, err := introspection.New(ctx, introspection.Config{Issuer: op.Issuer, ClientID: provider.ResourceServer, ClientSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Verify(ctx, opaque); !errors.Is(err, manager.ErrKeysUnavailable) {
		t.Errorf("wrong client secret: %v, want ErrKeysUnavailable", err)
	}

	router, err := introspection.NewRouter(discovered(t, op), introspector(t, op, false))
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"JWT": access, "opaque": opaque} {
		if tok, err := router.Verify(ctx, token); err != nil || tok.Claims["tenant"] != "acme" {
			t.Errorf("Router.Verify(%s) = %v, %v", name, tok, err)
		}
	}
}

// listOrdersRule is the rule of OrdersService.ListOrders, as declared.
func listOrdersRule(t *testing.T) *annotations.Rule {
	t.Helper()
	md := pb.File_idp_v1_orders_proto.Services().ByName("OrdersService").Methods().ByName("ListOrders")
	return proto.GetExtension(md.Options(), annotations.E_Rule).(*annotations.Rule)
}

// TestOPOpaqueAdapters sends the provider's opaque tokens and JWTs through
// the gRPC interceptor, connect and the HTTP guard, over one Router: the
// rules read the introspected claims as they read a JWT's; an inactive
// token is TOKEN_INVALID; the provider down is KEYS_UNAVAILABLE for a
// token not cached, and answers resume without restarting the service.
func TestOPOpaqueAdapters(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	router, err := introspection.NewRouter(discovered(t, op), introspector(t, op, true))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(scope string, opaque bool) string {
		t.Helper()
		var tok string
		var err error
		if opaque {
			tok, err = op.OpaqueServiceToken(ctx, scope)
		} else {
			tok, err = op.ServiceToken(ctx, scope)
		}
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	opaque, writeOnly, jwtAccess := mint("orders:read", true), mint("orders:write", true), mint("orders:read", false)
	cases := []struct {
		name, token, tenant string
		reason              string // "" allowed
	}{
		{"opaque", opaque, "acme", ""},
		{"opaque, another tenant", opaque, "globex", protojwt.ReasonClaimMismatch},
		{"opaque without orders:read", writeOnly, "acme", protojwt.ReasonScopeMissing},
		{"JWT beside", jwtAccess, "acme", ""},
		{"unknown opaque token", "bm90LWEtdG9rZW4", "acme", protojwt.ReasonTokenInvalid},
	}

	// gRPC
	auth, err := interceptor.New(router)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(auth.ServerOptions()...)
	pb.RegisterOrdersServiceServer(s, orders{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(lis)
	defer s.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	grpcClient := pb.NewOrdersServiceClient(conn)
	callGRPC := func(token, tenant string) error {
		_, err := grpcClient.ListOrders(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), &pb.ListOrdersRequest{Tenant: tenant})
		return err
	}

	// connect
	cauth, err := connectauth.New(router)
	if err != nil {
		t.Fatal(err)
	}
	const procedure = "/idp.v1.OrdersService/ListOrders"
	cmux := http.NewServeMux()
	cmux.Handle(procedure, connect.NewUnaryHandler(procedure, func(ctx context.Context, req *connect.Request[pb.ListOrdersRequest]) (*connect.Response[pb.ListOrdersResponse], error) {
		res, err := orders{}.ListOrders(ctx, req.Msg)
		return connect.NewResponse(res), err
	}, connect.WithInterceptors(cauth)))
	csrv := httptest.NewServer(cmux)
	defer csrv.Close()
	connectClient := connect.NewClient[pb.ListOrdersRequest, pb.ListOrdersResponse](csrv.Client(), csrv.URL+procedure)
	callConnect := func(token, tenant string) error {
		req := connect.NewRequest(&pb.ListOrdersRequest{Tenant: tenant})
		req.Header().Set("Authorization", "Bearer "+token)
		_, err := connectClient.CallUnary(ctx, req)
		return err
	}

	// HTTP: the same declaration, and the audiences of both kinds of token.
	guard := httpauth.New(router)
	hmux := http.NewServeMux()
	guard.Handle(hmux, "GET /tenants/{tenant}/orders", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		httpauth.FromRule(listOrdersRule(t)))
	guard.Handle(hmux, "GET /opaque-only/{tenant}", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		httpauth.Audiences(provider.OpaqueResource))
	hsrv := httptest.NewServer(hmux)
	defer hsrv.Close()
	callHTTP := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, hsrv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, reasonOfBody(t, resp)
	}
	statusOf := map[string]int{"": 200, protojwt.ReasonClaimMismatch: 403, protojwt.ReasonScopeMissing: 403,
		protojwt.ReasonTokenInvalid: 401, protojwt.ReasonKeysUnavailable: 503}

	check := func(t *testing.T, token, tenant, reason string) {
		t.Helper()
		for transport, call := range map[string]func(string, string) error{"gRPC": callGRPC, "connect": callConnect} {
			err := call(token, tenant)
			got, _ := protojwt.ReasonOf(err)
			if reason == "" && err != nil || reason != "" && got != reason {
				t.Errorf("%s: %v (reason %q), want %q", transport, err, got, reason)
			}
		}
		if code, got := callHTTP("/tenants/"+tenant+"/orders", token); code != statusOf[reason] || got != reason {
			t.Errorf("HTTP: %d %q, want %d %q", code, got, statusOf[reason], reason)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.token, tc.tenant, tc.reason) })
	}
	t.Run("audiences", func(t *testing.T) {
		if code, reason := callHTTP("/opaque-only/acme", opaque); code != 200 {
			t.Errorf("opaque token: %d %s", code, reason)
		}
		if code, reason := callHTTP("/opaque-only/acme", jwtAccess); code != 403 || reason != protojwt.ReasonClaimMismatch {
			t.Errorf("JWT for another audience: %d %s", code, reason)
		}
	})

	t.Run("provider down", func(t *testing.T) {
		fresh := mint("orders:read", true) // never introspected: not cached
		op.Stop()
		check(t, fresh, "acme", protojwt.ReasonKeysUnavailable)
		if err := callGRPC(fresh, "acme"); status.Code(err) != codes.Unavailable {
			t.Errorf("gRPC code %v, want Unavailable", status.Code(err))
		}
		check(t, opaque, "acme", "")                    // cached: served through the outage
		if _, err := op.Rotate(ctx, true); err != nil { // the provider back
			t.Fatal(err)
		}
		eventually(t, func() error {
			_, err := router.Verify(ctx, mint("orders:read", true))
			return err
		})
		check(t, mint("orders:read", true), "acme", "")
	})
}

// reasonOfBody reads the reason of a refusal's JSON body, "" for none.
func reasonOfBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	var body struct{ Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Reason
}
