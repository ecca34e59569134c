package manager_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// Issue an auth token with HS256 and verify it.
func Example() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}

	issued, err := m.AuthToken("alice", map[string]any{"admin": true}, map[string]any{"tenant": "acme"})
	if err != nil {
		log.Fatal(err)
	}

	tok, err := m.Verify(context.Background(), issued.Signed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type, tok.Subject, tok.Scope, tok.Claims["tenant"])
	fmt.Println(tok.ExpiresAt.Sub(tok.IssuedAt))

	// A manager with another secret refuses the token.
	other, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("another-secret-of-at-least-32-bytes"),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = other.Verify(context.Background(), issued.Signed)
	fmt.Println(errors.Is(err, manager.ErrSignature))
	// Output:
	// auth alice map[admin:true] acme
	// 1h0m0s
	// true
}

// A token issued two hours ago has expired.
func ExampleWithClock() {
	cfg := manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	}
	past, err := manager.New(cfg, manager.WithClock(func() time.Time {
		return time.Now().Add(-2 * time.Hour)
	}))
	if err != nil {
		log.Fatal(err)
	}
	issued, err := past.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}

	m, err := manager.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	_, err = m.Verify(context.Background(), issued.Signed)
	fmt.Println(errors.Is(err, manager.ErrExpired))
	// Output:
	// true
}

func ExampleConfigFromEnv() {
	// In production the environment is set by the deployment.
	for name, value := range map[string]string{
		"JWT_ISSUER":     "https://auth.example.com",
		"JWT_AUTHTYPE":   "HS256",
		"JWT_SECRET":     "use-32-random-bytes-in-real-life",
		"JWT_AUTHMAXAGE": "900",
		"JWT_AUDIENCE":   "orders, billing",
	} {
		os.Setenv(name, value)
		defer os.Unsetenv(name)
	}

	cfg, err := manager.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Issuer, cfg.Algorithm, cfg.AuthMaxAge, cfg.Audience)

	if _, err := manager.New(cfg); err != nil {
		log.Fatal(err)
	}
	// Output:
	// https://auth.example.com HS256 15m0s [orders billing]
}

// Decode a verified token's claims into a struct: an account number above
// 2^53 stays exact in an int64 field.
func ExampleToken_Decode() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	issued, err := m.AuthToken("alice", "read", map[string]any{
		"account": int64(1234567890123456789),
		"org":     map[string]any{"name": "acme", "roles": []string{"admin"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := m.Verify(context.Background(), issued.Signed)
	if err != nil {
		log.Fatal(err)
	}

	var claims struct {
		Subject string `json:"sub"`
		Account int64  `json:"account"`
		Org     struct {
			Name  string   `json:"name"`
			Roles []string `json:"roles"`
		} `json:"org"`
	}
	if err := tok.Decode(&claims); err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Account, claims.Org.Name, claims.Org.Roles)

	var wrong struct {
		Subject int `json:"sub"`
	}
	err = tok.Decode(&wrong)
	fmt.Println(errors.Is(err, manager.ErrClaim))
	// Output:
	// alice 1234567890123456789 acme [admin]
	// true
}
