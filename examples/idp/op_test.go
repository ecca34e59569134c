package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	pb "github.com/protojwt/protojwt/examples/idp/idppb"
	"github.com/protojwt/protojwt/examples/idp/provider"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// startOP starts the real OpenID Provider for one test.
func startOP(t *testing.T) *provider.Provider {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	op, err := provider.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Stop)
	return op
}

// discovered opens a Manager of op's access tokens by discovery.
func discovered(t *testing.T, op *provider.Provider, opts ...manager.Option) *manager.Manager {
	t.Helper()
	m, err := manager.Open(context.Background(), manager.Config{
		Issuer: op.Issuer, Discovery: true, Audience: []string{provider.Resource},
	}, append([]manager.Option{manager.WithAccessTokenProfile()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// header decodes the JOSE header of a compact token.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOPDiscoveryAndJWKS checks protojwt against the provider's own
// metadata and JWK Set: discovery finds the keys, a Manager given the
// metadata's jwks_uri verifies the same tokens, access tokens verify with
// their claims, and ID tokens of the same keys are refused as access
// tokens.
func TestOPDiscoveryAndJWKS(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	m := discovered(t, op)

	resp, err := http.Get(op.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta.Issuer != op.Issuer || meta.JWKSURI == "" {
		t.Fatalf("metadata: issuer %q, jwks_uri %q", meta.Issuer, meta.JWKSURI)
	}
	byURL, err := manager.New(manager.Config{Issuer: op.Issuer, JWKSURL: meta.JWKSURI, Audience: []string{provider.Resource}}, manager.WithAccessTokenProfile())
	if err != nil {
		t.Fatal(err)
	}
	defer byURL.Close()

	access, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if h := header(t, access); h["typ"] != "at+jwt" || !slices.Contains(op.KeyIDs(), h["kid"].(string)) {
		t.Fatalf("access token header %v, keys %v", h, op.KeyIDs())
	}
	for name, v := range map[string]*manager.Manager{"Discovery": m, "JWKSURL": byURL} {
		tok, err := v.Verify(ctx, access)
		if err != nil {
			t.Fatalf("%s: Verify(access token): %v", name, err)
		}
		if tok.Issuer != op.Issuer || tok.Type != manager.Auth || tok.Claims["tenant"] != "acme" || tok.Scope != "orders:read" {
			t.Errorf("%s: token %+v", name, tok)
		}
	}

	idToken, loginAccess, err := op.Login(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, loginAccess); err != nil {
		t.Errorf("Verify(login access token): %v", err)
	}
	if tok, err := m.Verify(ctx, idToken); tok != nil || !errors.Is(err, manager.ErrTokenType) {
		t.Errorf("Verify(ID token) = %v, %v; want ErrTokenType", tok, err)
	}
	// Without the profile the ID token is still refused: its aud is the
	// client, not the API, and it has no type.
	plain, err := manager.Open(ctx, manager.Config{Issuer: op.Issuer, Discovery: true, Audience: []string{provider.Resource}}, manager.WithUntypedTokens(manager.Auth))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Verify(ctx, idToken); !errors.Is(err, manager.ErrAudience) {
		t.Errorf("Verify(ID token) without the profile: %v, want ErrAudience", err)
	}
	// The provider signs RS256 only: a Manager that lists ES256 alone finds
	// no usable key.
	if _, err := manager.Open(ctx, manager.Config{Issuer: op.Issuer, Discovery: true, Algorithms: []string{"ES256"}}); !errors.Is(err, manager.ErrJWKS) {
		t.Errorf("Open with ES256 only: %v, want ErrJWKS", err)
	}
}

// TestOPKeyRotation rotates the provider's signing key, keeping the old
// one published, then retiring it: tokens of the new key verify as soon as
// they are seen (a fetch for their unknown kid), tokens of a retired key
// stop verifying at the next refresh.
func TestOPKeyRotation(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	m := discovered(t, op, manager.WithVerifyCache(0),
		manager.WithJWKSRefreshInterval(200*time.Millisecond),
		manager.WithJWKSRefreshUnknownKID(10*time.Millisecond),
		manager.WithJWKSErrorHandler(func(error) {})) // the provider restarts: refreshes may fail meanwhile
	first, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, first); err != nil {
		t.Fatalf("Verify(first): %v", err)
	}

	kid, err := op.Rotate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	second, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if h := header(t, second); h["kid"] != kid || len(op.KeyIDs()) != 2 {
		t.Fatalf("after Rotate(keepOld): kid %v, keys %v", h["kid"], op.KeyIDs())
	}
	eventually(t, func() error { _, err := m.Verify(ctx, second); return err })
	if _, err := m.Verify(ctx, first); err != nil {
		t.Errorf("Verify(first) with its key still published: %v", err)
	}

	kid, err = op.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	third, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error { _, err := m.Verify(ctx, third); return err })
	for name, tok := range map[string]string{"first": first, "second": second} {
		eventually(t, func() error {
			if _, err := m.Verify(ctx, tok); !errors.Is(err, manager.ErrSignature) {
				return errors.New(name + " token still verifies or fails otherwise: " + errString(err))
			}
			return nil
		})
	}
	if ids := op.KeyIDs(); len(ids) != 1 || ids[0] != kid {
		t.Errorf("keys %v, want only %s", ids, kid)
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// eventually retries f for up to 10 seconds, until it returns nil.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOPAdapters sends the provider's tokens through the gRPC interceptor
// (the service of this example, over Issuers) and the HTTP guard.
func TestOPAdapters(t *testing.T) {
	op := startOP(t)
	ctx := context.Background()
	svc, err := newService(ctx, op.Issuer, provider.Resource, []byte("jobs-secret-for-tests-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go svc.server.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewOrdersServiceClient(conn)

	access, err := op.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	idToken, alice, err := op.Login(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	writeOnly, err := op.ServiceToken(ctx, "orders:write")
	if err != nil {
		t.Fatal(err)
	}
	_, bob, err := op.Login(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	withToken := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}

	t.Run("gRPC", func(t *testing.T) {
		tests := []struct {
			name   string
			call   func() error
			code   codes.Code
			reason string
		}{
			{"access token", func() error {
				_, err := client.ListOrders(withToken(access), &pb.ListOrdersRequest{Tenant: "acme"})
				return err
			}, codes.OK, ""},
			{"ID token", func() error {
				_, err := client.ListOrders(withToken(idToken), &pb.ListOrdersRequest{Tenant: "acme"})
				return err
			}, codes.Unauthenticated, protojwt.ReasonTokenType},
			{"realm role", func() error {
				_, err := client.DeleteOrder(withToken(alice), &pb.DeleteOrderRequest{Tenant: "acme", Order: "acme-1"})
				return err
			}, codes.OK, ""},
			{"realm role missing", func() error {
				_, err := client.DeleteOrder(withToken(bob), &pb.DeleteOrderRequest{Tenant: "globex", Order: "globex-1"})
				return err
			}, codes.PermissionDenied, protojwt.ReasonClaimMismatch},
			{"tampered access token", func() error {
				_, err := client.ListOrders(withToken(access[:len(access)-4]+"AAAA"), &pb.ListOrdersRequest{Tenant: "acme"})
				return err
			}, codes.Unauthenticated, protojwt.ReasonTokenInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call()
				reason, _ := protojwt.ReasonOf(err)
				if status.Code(err) != tt.code || reason != tt.reason {
					t.Fatalf("%v (reason %q); want %v %q", err, reason, tt.code, tt.reason)
				}
			})
		}
	})

	t.Run("HTTP", func(t *testing.T) {
		guard := httpauth.New(svc.idp)
		mux := http.NewServeMux()
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
		guard.Handle(mux, "GET /tenants/{tenant}/orders", ok,
			httpauth.Scopes("orders:read"), httpauth.Check("tenant").EqualsPath("tenant"))
		guard.Handle(mux, "DELETE /tenants/{tenant}/orders/{id}", ok,
			httpauth.Check("tenant").EqualsPath("tenant"),
			httpauth.Check("realm_access", "roles").Contains("orders-admin"),
			httpauth.Check("https://acme.example/tier").In("gold", "platinum"))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		tests := []struct {
			name, method, path, token string
			status                    int
			reason                    string
		}{
			{"access token", "GET", "/tenants/acme/orders", access, 200, ""},
			{"another tenant", "GET", "/tenants/globex/orders", access, 403, protojwt.ReasonClaimMismatch},
			{"ID token", "GET", "/tenants/acme/orders", idToken, 401, protojwt.ReasonTokenType},
			{"alice deletes", "DELETE", "/tenants/acme/orders/1", alice, 200, ""},
			{"bob deletes", "DELETE", "/tenants/globex/orders/1", bob, 403, protojwt.ReasonClaimMismatch},
			{"login access token", "GET", "/tenants/acme/orders", alice, 200, ""},
			{"token without orders:read", "GET", "/tenants/acme/orders", writeOnly, 403, protojwt.ReasonScopeMissing},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
				req.Header.Set("Authorization", "Bearer "+tt.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body struct{ Reason string }
				json.NewDecoder(resp.Body).Decode(&body)
				if resp.StatusCode != tt.status || body.Reason != tt.reason {
					t.Fatalf("%d %q; want %d %q", resp.StatusCode, body.Reason, tt.status, tt.reason)
				}
			})
		}
	})
}
