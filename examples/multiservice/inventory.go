package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

// inventoryAudience is the aud of the tokens the inventory service
// accepts: tokens that the orders service obtained by token exchange.
const inventoryAudience = "inventory"

// inventoryService holds the stock. It is called by the orders service on
// behalf of a customer, never by customers: its rule requires the
// customer's scope and the orders service as the actor.
type inventoryService struct {
	reserved atomic.Int64 // reservations made
}

// newInventoryHandler returns the inventory service's routes, verifying
// tokens of the inventory audience with the JWK Set at jwksURL, and its
// Manager, to close when the server stops.
func newInventoryHandler(ctx context.Context, jwksURL string, client *http.Client, t timing) (http.Handler, *inventoryService, *manager.Manager, error) {
	m, err := manager.Open(ctx, manager.Config{
		Issuer:    issuer,
		Algorithm: "ES256",
		Audience:  []string{inventoryAudience},
		JWKSURL:   jwksURL,
	}, manager.WithJWKSRefreshInterval(t.refresh), manager.WithJWKSHTTPClient(client))
	if err != nil {
		return nil, nil, nil, err
	}
	inv := &inventoryService{}
	guard := httpauth.New(m)
	mux := http.NewServeMux()
	// Called by the orders service on behalf of the customer: the
	// customer's scope, and orders as the actor (act.sub).
	mux.Handle("POST /reservations", guard.Require(
		httpauth.Scopes("orders:write"),
		httpauth.Check("act", "sub").Equals(audience),
	)(http.HandlerFunc(inv.reserve)))
	return mux, inv, m, nil
}

func (inv *inventoryService) reserve(w http.ResponseWriter, r *http.Request) {
	if qty, err := strconv.Atoi(r.FormValue("quantity")); err != nil || qty <= 0 || r.FormValue("item") == "" {
		http.Error(w, "a reservation needs an item and a positive quantity", http.StatusBadRequest)
		return
	}
	inv.reserved.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// inventoryClient reserves stock at the inventory service from a handler
// of the orders service, with a token exchanged for the customer's:
// [tokensource.Exchange] reads the customer's verified token from the
// handler's context, and the auth service issues one for the inventory
// audience that names orders as the actor.
type inventoryClient struct {
	url  string
	http *http.Client
}

// newInventoryClient returns the orders service's client of the inventory
// service at inventoryURL; tokens are exchanged at the auth service's
// token endpoint, tokenURL.
func newInventoryClient(inventoryURL, tokenURL string) *inventoryClient {
	exchanged := tokensource.Exchange(tokensource.ExchangeConfig{
		TokenURL:     tokenURL,
		ClientID:     audience, // the orders service's own credentials
		ClientSecret: demoSecret(audience),
		Audience:     inventoryAudience,
		Scope:        []string{"orders:write"},
	})
	return &inventoryClient{url: inventoryURL, http: &http.Client{Transport: tokensource.RoundTripper(exchanged, nil)}}
}

// reserve reserves quantity of item for the customer of ctx, a handler's
// context.
func (c *inventoryClient) reserve(ctx context.Context, item string, quantity int32) error {
	form := url.Values{"item": {item}, "quantity": {strconv.Itoa(int(quantity))}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/reservations", nil)
	if err != nil {
		return err
	}
	req.URL.RawQuery = form.Encode()
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := tokensource.CheckResponse(resp); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	return nil
}
