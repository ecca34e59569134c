package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/dpop"
	pb "github.com/protojwt/protojwt/examples/idp/idppb"
	"github.com/protojwt/protojwt/examples/idp/provider"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/tokensource"
)

// newClientKey returns a client's DPoP signer and its tokensource DPoP.
func newClientKey(t *testing.T) (*dpop.Signer, *tokensource.DPoP) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tokensource.NewDPoP(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, d
}

// outcomeOf is "OK", or the protojwt reason of a refusal.
func outcomeOf(err error) string {
	if err == nil {
		return "OK"
	}
	if r, ok := protojwt.ReasonOf(err); ok {
		return r
	}
	var re *tokensource.ResponseError
	if errors.As(err, &re) && re.Reason != "" {
		return re.Reason
	}
	return err.Error()
}

// TestOPDPoP: oidc-provider's DPoP-bound access tokens (RFC 9449) pass
// the gRPC interceptor, connect (three protocols) and the HTTP guard with
// tokensource's proofs by the client's key, and fail as bearer tokens
// (PROOF_MISSING) or with proofs of another key (PROOF_INVALID).
func TestOPDPoP(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	svc, err := newService(ctx, op.Issuer, provider.Resource, []byte("jobs-secret-for-tests-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.close()
	ownerKey, owner := newClientKey(t)
	_, thief := newClientKey(t)

	access, err := op.DPoPServiceToken(ctx, "orders:read", ownerKey)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.idp.Verify(ctx, access)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := dpop.BindingOf(tok.Claims); err != nil || b.JKT != ownerKey.Thumbprint() {
		t.Fatalf("provider's token binding = %+v, %v; want cnf.jkt of the client's key", b, err)
	}
	bearer, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}

	// gRPC: the example's service, behind the interceptor.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go svc.server.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(owner.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// connect: the same rules, from the same descriptors, behind Wrap and
	// the interceptor.
	ca, err := connectauth.New(svc.idp)
	if err != nil {
		t.Fatal(err)
	}
	procedure := pb.OrdersService_ListOrders_FullMethodName
	mux := http.NewServeMux()
	mux.Handle(procedure, connect.NewUnaryHandler(procedure,
		func(context.Context, *connect.Request[pb.ListOrdersRequest]) (*connect.Response[pb.ListOrdersResponse], error) {
			return connect.NewResponse(&pb.ListOrdersResponse{}), nil
		}, connect.WithInterceptors(ca)))
	cs := httptest.NewUnstartedServer(ca.Wrap(mux))
	cs.EnableHTTP2 = true
	cs.StartTLS()
	defer cs.Close()

	// net/http: the guard.
	guard := httpauth.New(svc.idp)
	hs := httptest.NewServer(guard.Require(httpauth.Scopes("orders:read"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer hs.Close()

	callEach := func(token string, d *tokensource.DPoP) map[string]string {
		src := tokensource.Static(token)
		var opts []tokensource.TransportOption
		if d != nil {
			opts = append(opts, tokensource.WithDPoP(d))
		}
		got := map[string]string{}
		_, err := pb.NewOrdersServiceClient(conn).ListOrders(ctx, &pb.ListOrdersRequest{Tenant: "acme"},
			grpc.PerRPCCredentials(tokensource.PerRPCCredentials(src, append(opts, tokensource.WithInsecureTransport())...)))
		got["grpc"] = outcomeOf(err)
		for name, protocol := range map[string]connect.ClientOption{
			"connect": connect.WithProtoJSON(), "connect grpc": connect.WithGRPC(), "connect grpc-web": connect.WithGRPCWeb(),
		} {
			client := connect.NewClient[pb.ListOrdersRequest, pb.ListOrdersResponse](cs.Client(), cs.URL+procedure, protocol,
				connect.WithInterceptors(tokensource.ConnectInterceptor(src, append(opts, tokensource.WithBaseURL(cs.URL))...)))
			_, err := client.CallUnary(ctx, connect.NewRequest(&pb.ListOrdersRequest{Tenant: "acme"}))
			got[name] = outcomeOf(err)
		}
		resp, err := (&http.Client{Transport: tokensource.RoundTripper(src, nil, opts...)}).Get(hs.URL + "/orders")
		if err == nil {
			err = tokensource.CheckResponse(resp)
			resp.Body.Close()
		}
		got["http"] = outcomeOf(err)
		return got
	}
	for _, tt := range []struct {
		name  string
		token string
		d     *tokensource.DPoP
		want  string
	}{
		{"bound token, client's proofs", access, owner, "OK"},
		{"bound token as a bearer token", access, nil, protojwt.ReasonProofMissing},
		{"bound token, another key's proofs", access, thief, protojwt.ReasonProofInvalid},
		{"bearer token", bearer, nil, "OK"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := callEach(tt.token, tt.d)
			if len(got) != 5 {
				t.Fatalf("outcomes %v, want 5 transports", got)
			}
			for transport, g := range got {
				if g != tt.want {
					t.Errorf("%s: %s, want %s", transport, g, tt.want)
				}
			}
		})
	}
}
