package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/protojwt/protojwt/examples/multiservice/orderspb"
	"github.com/protojwt/protojwt/tokensource"
)

// startAll runs the three services on loopback with the demo's timing.
func startAll(t *testing.T) (s *services, authURL, ordersAddr, inventoryURL string) {
	t.Helper()
	var lis []net.Listener
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis = append(lis, l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := start(ctx, lis[0], lis[1], lis[2], demoTiming)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.shutdown)
	return s, loopbackURLOf(lis[0].Addr()), lis[1].Addr().String(), loopbackURLOf(lis[2].Addr())
}

// login gets a customer's token with the client-credentials grant.
func login(t *testing.T, authURL, id string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, authURL+"/token", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, demoSecret(id))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("login of %s: %v", id, err)
	}
	return body.AccessToken
}

// TestInventoryRequiresTheActor: the inventory service takes only tokens
// of its audience that name the orders service as the actor and hold the
// customer's scope; the auth service exchanges only a token issued for
// the orders service, presented by it, for inventory, within the scopes
// the token holds.
func TestInventoryRequiresTheActor(t *testing.T) {
	s, authURL, _, inventoryURL := startAll(t)
	alice, bob := login(t, authURL, "alice"), login(t, authURL, "bob")
	exchange := func(subject, client string, change func(*tokensource.ExchangeConfig)) (string, error) {
		cfg := tokensource.ExchangeConfig{
			TokenURL: authURL + "/token", ClientID: client, ClientSecret: demoSecret(client),
			Audience: inventoryAudience, Scope: []string{"orders:write"}, Subject: tokensource.Static(subject),
		}
		if change != nil {
			change(&cfg)
		}
		return tokensource.Exchange(cfg).Token(context.Background())
	}
	mint := func(scope string, custom map[string]any) string {
		tok, err := s.auth.forInventory.AuthToken("alice", scope, custom)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Signed
	}
	exchanged, err := exchange(alice, "orders", nil)
	if err != nil {
		t.Fatal(err)
	}

	reserve := []struct {
		name  string
		token string
		want  int
	}{
		{"exchanged by orders for alice", exchanged, http.StatusNoContent},
		{"alice's own token", alice, http.StatusUnauthorized},
		{"inventory audience, no act", mint("orders:write", nil), http.StatusForbidden},
		{"act names another service", mint("orders:write", map[string]any{"act": map[string]any{"sub": "billing"}}), http.StatusForbidden},
		{"act a string", mint("orders:write", map[string]any{"act": "orders"}), http.StatusForbidden},
		{"without the customer's scope", mint("orders:read", map[string]any{"act": map[string]any{"sub": "orders"}}), http.StatusForbidden},
	}
	for _, tt := range reserve {
		t.Run("reserve/"+tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, inventoryURL+"/reservations?item=tea&quantity=1", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}

	refused := []struct {
		name    string
		subject string
		client  string
		change  func(*tokensource.ExchangeConfig)
		code    string
	}{
		{"a customer as the client", alice, "alice", nil, "invalid_client"},
		{"wrong secret", alice, "orders", func(c *tokensource.ExchangeConfig) { c.ClientSecret = "guess" }, "invalid_client"},
		{"audience not delegated", alice, "orders", func(c *tokensource.ExchangeConfig) { c.Audience = "billing" }, "invalid_target"},
		{"scope the customer lacks", bob, "orders", nil, "invalid_scope"},
		{"subject token of inventory's audience", exchanged, "orders", nil, "invalid_grant"},
		{"subject token forged", alice[:len(alice)-4] + "AAAA", "orders", nil, "invalid_grant"},
	}
	for _, tt := range refused {
		t.Run("exchange/"+tt.name, func(t *testing.T) {
			tok, err := exchange(tt.subject, tt.client, tt.change)
			var re *tokensource.ResponseError
			if !errors.Is(err, tokensource.ErrExchangeRefused) || !errors.As(err, &re) || re.Code != tt.code || tok != "" {
				t.Fatalf("exchange = %q, %v; want ErrExchangeRefused, %s", tok, err, tt.code)
			}
		})
	}
}

// TestOrderReservesStock: placing an order reserves stock at inventory,
// whose rule requires the customer's scope and orders as the actor.
func TestOrderReservesStock(t *testing.T) {
	s, authURL, ordersAddr, _ := startAll(t)
	conn, err := grpc.NewClient(ordersAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	alice := login(t, authURL, "alice")
	orders := orderspb.NewOrdersServiceClient(conn)
	creds := grpc.PerRPCCredentials(tokensource.PerRPCCredentials(tokensource.Static(alice), tokensource.WithInsecureTransport()))
	for range 3 {
		if _, err := orders.CreateOrder(context.Background(), &orderspb.CreateOrderRequest{Item: "tea", Quantity: 2}, creds); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.inventory.reserved.Load(); n != 3 {
		t.Fatalf("%d reservations, want 3", n)
	}
}
