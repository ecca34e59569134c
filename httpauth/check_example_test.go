package httpauth_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// Test claims at any depth, as identity providers nest them: a Keycloak
// role, one of the caller's accounts named by the path, a tier from a list;
// and a catalog that anyone may read, showing more to a signed-in caller.
func ExampleCheck() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	guard := httpauth.New(m)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := manager.FromContext(r.Context()); ok {
			fmt.Fprintf(w, "hello %s", tok.Subject)
			return
		}
		fmt.Fprint(w, "hello stranger")
	})
	mux := http.NewServeMux()
	handle := func(pattern string, reqs ...httpauth.Requirement) {
		mw, err := guard.Compile(reqs...)
		if err != nil {
			log.Fatal(err)
		}
		mux.Handle(pattern, mw(hello))
	}
	handle("GET /orders/{account}",
		httpauth.Check("realm_access", "roles").Contains("orders-admin"),
		httpauth.Check("https://acme.example/accounts").ContainsPath("account"),
		httpauth.Check("tier").In("gold", "platinum"))
	handle("GET /catalog", httpauth.AllowMissing(), httpauth.Check("email").Suffix("@acme.example"))

	alice, err := m.AuthToken("alice", nil, map[string]any{
		"realm_access":                  map[string]any{"roles": []string{"orders-admin"}},
		"https://acme.example/accounts": []int64{1234567890123456789},
		"tier":                          "gold",
		"email":                         "alice@acme.example",
	})
	if err != nil {
		log.Fatal(err)
	}
	get := func(path, token string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(path, w.Code, strings.TrimSpace(w.Body.String()))
	}
	get("/orders/1234567890123456789", alice.Signed)
	get("/orders/1234567890123456788", alice.Signed)
	get("/catalog", alice.Signed)
	get("/catalog", "")
	get("/catalog", "not-a-token")
	// Output:
	// /orders/1234567890123456789 200 hello alice
	// /orders/1234567890123456788 403 {"error":"claim mismatch","reason":"CLAIM_MISMATCH"}
	// /catalog 200 hello alice
	// /catalog 200 hello stranger
	// /catalog 401 {"error":"invalid token","reason":"TOKEN_INVALID"}
}
