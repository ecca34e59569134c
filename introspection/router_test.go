package introspection_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/protojwt/protojwt/introspection"
	"github.com/protojwt/protojwt/manager"
)

// TestIsJWT tells compact JWTs from opaque tokens by their form.
func TestIsJWT(t *testing.T) {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		token string
		want  bool
	}{
		{seg(`{"alg":"RS256"}`) + "." + seg(`{}`) + ".c2ln", true},
		{seg(` {"alg":"none"}`) + "..", true},
		{"2YotnFZFEjr1zCsicMWpAA", false},
		{"a.b.c", false}, // "a" is no JSON object
		{seg(`{"alg":"RS256"}`) + "." + seg(`{}`), false},
		{seg(`{"alg":"RS256"}`) + ".x.y.z", false},
		{seg(`["alg"]`) + ".x.y", false},
		{seg(`{"alg":`) + ".x.y", true}, // the form of one: the JWT Verifier refuses it
		{".x.y", false},
		{"!!!.x.y", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := introspection.IsJWT(tt.token); got != tt.want {
			t.Errorf("IsJWT(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
}

// TestRouter sends JWTs to the Manager and the rest to the endpoint: a
// forged JWT is refused locally, and never introspected.
func TestRouter(t *testing.T) {
	s := newServer(t)
	s.add("opaque-alice", map[string]any{"sub": "alice"})
	in := newIntrospector(t, s)
	m, err := manager.New(manager.Config{Issuer: "https://jwt.test", Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := introspection.NewRouter(m, in)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := r.Verify(context.Background(), signed.Signed); err != nil || tok.Subject != "bob" {
		t.Fatalf("JWT: %v, %v", tok, err)
	}
	if tok, err := r.Verify(context.Background(), "opaque-alice"); err != nil || tok.Subject != "alice" {
		t.Fatalf("opaque: %v, %v", tok, err)
	}
	calls := s.calls.Load()
	forged := signed.Signed[:len(signed.Signed)-4] + "AAAA"
	if _, err := r.Verify(context.Background(), forged); !errors.Is(err, manager.ErrSignature) {
		t.Errorf("forged JWT: %v, want ErrSignature", err)
	}
	if s.calls.Load() != calls {
		t.Errorf("a JWT was introspected")
	}
	if _, err := introspection.NewRouter(nil, in); !errors.Is(err, manager.ErrConfig) {
		t.Errorf("NewRouter(nil, ...) = %v, want ErrConfig", err)
	}
}

// TestDiscovery finds the endpoint in OpenID Connect Discovery's document,
// then RFC 8414's, and refuses metadata of another issuer or without an
// endpoint.
func TestDiscovery(t *testing.T) {
	var srv *httptest.Server
	docs := map[string]map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(doc)
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	docs["/oidc/.well-known/openid-configuration"] = map[string]string{"issuer": srv.URL + "/oidc", "introspection_endpoint": srv.URL + "/oidc/introspect"}
	docs["/.well-known/oauth-authorization-server/oauth"] = map[string]string{"issuer": srv.URL + "/oauth", "introspection_endpoint": srv.URL + "/oauth/introspect"}
	docs["/other/.well-known/openid-configuration"] = map[string]string{"issuer": srv.URL + "/elsewhere", "introspection_endpoint": srv.URL + "/x"}
	docs["/none/.well-known/openid-configuration"] = map[string]string{"issuer": srv.URL + "/none"}
	docs["/cleartext/.well-known/openid-configuration"] = map[string]string{"issuer": srv.URL + "/cleartext", "introspection_endpoint": "http://idp.example/introspect"}
	open := func(issuer string) (*introspection.Introspector, error) {
		return introspection.New(context.Background(), introspection.Config{Issuer: issuer, ClientID: "api", ClientSecret: "x"})
	}
	for path, want := range map[string]string{"/oidc": srv.URL + "/oidc/introspect", "/oauth": srv.URL + "/oauth/introspect"} {
		in, err := open(srv.URL + path)
		if err != nil || in.Endpoint() != want {
			t.Errorf("%s: %v, endpoint %v; want %s", path, err, in, want)
		}
	}
	for _, path := range []string{"/other", "/none", "/missing", "/cleartext"} {
		if in, err := open(srv.URL + path); err == nil || in != nil {
			t.Errorf("%s: New = %v, want an error", path, in)
		}
	}
}
