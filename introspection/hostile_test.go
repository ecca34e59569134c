package introspection_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/introspection"
)

// TestHostileThroughRouter sends the hostile table through a Router of the
// table's Manager and an Introspector, over HTTP: every case is decided as
// the Manager alone decides it (a token that is no JWT is inactive at the
// endpoint: TOKEN_INVALID either way), no token header's URL is fetched,
// and no JWT-shaped token reaches the endpoint.
func TestHostileThroughRouter(t *testing.T) {
	env := hostiletest.New(t)
	s := newServer(t)
	router, err := introspection.NewRouter(env.Manager, newIntrospector(t, s))
	if err != nil {
		t.Fatal(err)
	}
	mw, err := httpauth.New(router).Compile(httpauth.FromRule(hostiletest.Rule()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /users/{"+hostiletest.Variable+"}", mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range hostiletest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			values := c.Authorization(env)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/users/"+hostiletest.Subject, nil)
			for _, v := range values {
				req.Header.Add("Authorization", v)
			}
			before := s.calls.Load()
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Reason string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if c.Reason == "" && resp.StatusCode != http.StatusOK || body.Reason != c.Reason {
				t.Errorf("status %d, reason %q; want reason %q", resp.StatusCode, body.Reason, c.Reason)
			}
			if s.calls.Load() != before {
				for _, v := range values {
					if tok, ok := strings.CutPrefix(v, "Bearer "); ok && introspection.IsJWT(tok) {
						t.Errorf("a JWT-shaped token was introspected")
					}
				}
			}
		})
	}
	if hits := env.TrapHits(); hits != 0 {
		t.Errorf("a URL of a token header was fetched %d times", hits)
	}
}
