package manager_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/protojwt/protojwt/manager"
)

// Trust an identity provider found by discovery: the Manager reads
// jwks_uri from the provider's metadata, checks that its issuer is
// Config.Issuer, and verifies with the keys of that JWK Set, whatever
// asymmetric algorithm each key fits.
func ExampleConfig_discovery() {
	// A provider on loopback: its metadata and its JWK Set.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mux := http.NewServeMux()
	idp := httptest.NewServer(mux)
	defer idp.Close()
	provider, err := manager.New(manager.Config{Issuer: idp.URL, Algorithm: "ES256", PrivateKey: key, KeyID: "k1"})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("GET /jwks", provider.JWKSHandler())
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"issuer": %q, "jwks_uri": %q}`, idp.URL, idp.URL+"/jwks")
	})

	// The API trusts it by its issuer URL alone.
	m, err := manager.Open(context.Background(), manager.Config{Issuer: idp.URL, Discovery: true})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	issued, _ := provider.AuthToken("alice", "orders:read", nil)
	tok, err := m.Verify(context.Background(), issued.Signed)
	fmt.Println(tok.Subject, tok.Scope, err)
	// Output: alice orders:read <nil>
}

// Trust two issuers: each token is verified by the Manager of its iss
// alone, and Token.Issuer says which.
func ExampleNewIssuers() {
	login, err := manager.New(manager.Config{
		Issuer: "https://login.example", Algorithm: "HS256", Secret: []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jobs, err := manager.New(manager.Config{Issuer: "https://jobs.internal", Algorithm: "ES256", PrivateKey: key})
	if err != nil {
		log.Fatal(err)
	}
	issuers, err := manager.NewIssuers(login, jobs)
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	for _, m := range []*manager.Manager{login, jobs} {
		issued, _ := m.AuthToken("alice", nil, nil)
		tok, err := issuers.Verify(ctx, issued.Signed)
		fmt.Println(tok.Issuer, err)
	}
	stranger, _ := manager.New(manager.Config{
		Issuer: "https://other.example", Algorithm: "HS256", Secret: []byte("use-32-random-bytes-in-real-life"),
	})
	issued, _ := stranger.AuthToken("alice", nil, nil)
	_, err = issuers.Verify(ctx, issued.Signed)
	fmt.Println(errors.Is(err, manager.ErrIssuer))
	// Output:
	// https://login.example <nil>
	// https://jobs.internal <nil>
	// true
}
