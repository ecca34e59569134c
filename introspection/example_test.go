package introspection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/protojwt/protojwt/introspection"
)

// An authorization server's introspection endpoint, on loopback: it knows
// one active opaque token.
func exampleEndpoint() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, secret, _ := r.BasicAuth(); id != "orders-api" || secret != "example-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		answer := map[string]any{"active": false}
		if r.PostFormValue("token") == "2YotnFZFEjr1zCsicMWpAA" {
			answer = map[string]any{"active": true, "sub": "alice", "scope": "orders:read", "client_id": "web", "tenant": "acme"}
		}
		_ = json.NewEncoder(w).Encode(answer)
	}))
}

func Example() {
	endpoint := exampleEndpoint()
	defer endpoint.Close()

	in, err := introspection.New(context.Background(), introspection.Config{
		Endpoint:     endpoint.URL, // or Issuer, to discover it
		ClientID:     "orders-api",
		ClientSecret: "example-secret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := in.Verify(context.Background(), "2YotnFZFEjr1zCsicMWpAA")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Subject, tok.Scope, tok.Claims["tenant"])
	_, err = in.Verify(context.Background(), "an-unknown-token")
	fmt.Println(err)
	// Output:
	// alice orders:read acme
	// introspection: protojwt: token not active
}
