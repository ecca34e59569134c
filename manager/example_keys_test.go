package manager_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// Rotate the signing key of a live Manager: announce the next key, sign with
// it, and retire the old one once its tokens have expired.
func ExampleManager_RotateKey() {
	key1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	m, err := manager.New(manager.Config{
		Issuer:     "https://auth.example.com",
		Algorithm:  "ES256",
		PrivateKey: key1,
		KeyID:      "2026-01",
	})
	if err != nil {
		log.Fatal(err)
	}
	old, _ := m.AuthToken("alice", nil, nil)

	// Publish the next key first, so that verifiers know it before any
	// token names it; then sign with it.
	if err := m.AddKey(manager.Key{ID: "2026-02", PublicKey: key2.Public()}); err != nil {
		log.Fatal(err)
	}
	if err := m.RotateKey(manager.Key{ID: "2026-02", PrivateKey: key2}); err != nil {
		log.Fatal(err)
	}
	fresh, _ := m.AuthToken("alice", nil, nil)

	ctx := context.Background()
	_, errOld := m.Verify(ctx, old.Signed)
	_, errFresh := m.Verify(ctx, fresh.Signed)
	fmt.Println("both verify:", errOld == nil && errFresh == nil)

	// Once the old tokens have expired (Config.AuthMaxAge), retire the key.
	if err := m.RemoveKey("2026-01"); err != nil {
		log.Fatal(err)
	}
	_, err = m.Verify(ctx, old.Signed)
	fmt.Println("old token refused:", errors.Is(err, manager.ErrSignature))

	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		log.Fatal(err)
	}
	fmt.Println("published:", set.Keys)
	// Output:
	// both verify: true
	// old token refused: true
	// published: [{2026-02 ES256}]
}

// Verify tokens that another service issues, with the keys it publishes at
// /.well-known/jwks.json.
func ExampleOpen() {
	// The issuing service publishes its public keys.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuer, err := manager.New(manager.Config{
		Issuer:     "https://auth.example.com",
		Algorithm:  "ES256",
		PrivateKey: key,
		KeyID:      "2026-01",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", issuer.JWKSHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The verifying service fetches them, within ctx, and keeps them fresh.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := manager.Open(ctx, manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "ES256",
		JWKSURL:   srv.URL + "/.well-known/jwks.json",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	issued, _ := issuer.AuthToken("alice", "orders:read", nil)
	tok, err := m.Verify(context.Background(), issued.Signed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Subject, tok.Scope)

	// A signer the set does not know is refused.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := manager.New(manager.Config{
		Issuer: "https://auth.example.com", Algorithm: "ES256", PrivateKey: stranger, KeyID: "2026-01",
	})
	forged, _ := forger.AuthToken("mallory", "orders:read", nil)
	_, err = m.Verify(context.Background(), forged.Signed)
	fmt.Println(errors.Is(err, manager.ErrSignature))
	// Output:
	// alice orders:read
	// true
}
