package tokensource_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

// An edge service calls the service behind it on behalf of its caller:
// the handler's outgoing request carries the caller's verified token.
// Both services accept the same audience here; see Exchange where they
// don't.
func ExampleForward() {
	login := newLoginService()
	guard := httpauth.New(login.m)
	greeter := httptest.NewServer(guard.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context())
		fmt.Fprintf(w, "Hello, %s", tok.Subject)
	})))
	defer greeter.Close()

	toGreeter := &http.Client{Transport: tokensource.RoundTripper(tokensource.Forward(), nil)}
	edge := http.NewServeMux()
	callGreeter := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, greeter.URL, nil) // the handler's context
		if err != nil {
			log.Fatal(err)
		}
		resp, err := toGreeter.Do(req)
		if errors.Is(err, tokensource.ErrNoIncomingToken) {
			http.Error(w, "no caller to speak for", http.StatusInternalServerError)
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	edge.Handle("GET /greet", guard.Require()(callGreeter))
	edge.Handle("GET /public", guard.Require(httpauth.Public())(callGreeter))
	srv := httptest.NewServer(edge)
	defer srv.Close()

	auth, _ := login.login("alice")
	for _, path := range []string{"/greet", "/public"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %s\n", path, body)
	}
	// Output:
	// /greet: Hello, alice
	// /public: no caller to speak for
}
