package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// client is an OAuth 2.0 client of the auth service: a customer's app.
type client struct {
	secretHash [32]byte // SHA-256 of a random secret (not a password: no bcrypt needed)
	scope      string   // space-separated OAuth scopes put in its tokens
}

// demoSecret returns the secret of a demo client. Real secrets are random
// and live in a secret store; the service keeps only their hashes.
func demoSecret(id string) string { return id + "-secret-for-the-demo-only" }

// clients are the auth service's clients: alice may read and place orders,
// bob may only read his.
var clients = map[string]client{
	"alice": {sha256.Sum256([]byte(demoSecret("alice"))), "orders:read orders:write"},
	"bob":   {sha256.Sum256([]byte(demoSecret("bob"))), "orders:read"},
}

// authService issues tokens and publishes the keys that verify them. It
// owns the only private keys of the system.
type authService struct {
	m *manager.Manager
	t timing

	// forInventory issues the tokens of token exchange, for the inventory
	// audience, with the same keys as m (rotate changes both).
	forInventory *manager.Manager

	mu      sync.Mutex           // one rotation at a time
	signing string               // kid of the signing key
	retired map[string]time.Time // kid of a former signing key → when it stopped signing
	serial  int                  // number of the last key made

	rotations, removals atomic.Int64
}

// newAuthService starts with one signing key.
func newAuthService(t timing) (*authService, error) {
	a := &authService{t: t, retired: map[string]time.Time{}}
	kid, key, err := a.newKey()
	if err != nil {
		return nil, err
	}
	a.m, err = manager.New(manager.Config{
		Issuer:     issuer,
		Algorithm:  "ES256",
		PrivateKey: key,
		KeyID:      kid,
		AuthMaxAge: t.tokenTTL,
		Audience:   []string{audience},
	}, manager.WithJWKSMaxAge(t.refresh))
	if err != nil {
		return nil, err
	}
	a.forInventory, err = manager.New(manager.Config{
		Issuer: issuer, Algorithm: "ES256", PrivateKey: key, KeyID: kid,
		AuthMaxAge: t.tokenTTL, Audience: []string{inventoryAudience},
	})
	if err != nil {
		return nil, err
	}
	a.signing = kid
	return a, nil
}

// managers are the auth service's Managers: they share its keys.
func (a *authService) managers() []*manager.Manager { return []*manager.Manager{a.m, a.forInventory} }

// newKey makes the next signing key and its kid.
func (a *authService) newKey() (string, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	a.serial++
	return fmt.Sprintf("es256-%d", a.serial), key, nil
}

// handler routes the token endpoint and the JWK Set.
func (a *authService) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", a.token)
	mux.Handle("GET /.well-known/jwks.json", a.m.JWKSHandler())
	return mux
}

// tokenResponse is the answer of the token endpoint (RFC 6749, 5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// token issues an auth token to a client that authenticates with HTTP Basic
// credentials, as the client-credentials grant does (RFC 6749, 4.4).
func (a *authService) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if r.PostFormValue("grant_type") == grantTokenExchange {
		a.exchange(w, r)
		return
	}
	if r.PostFormValue("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret, ok := r.BasicAuth()
	c, known := clients[id]
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], c.secretHash[:]) != 1 || !ok || !known {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok, err := a.m.AuthToken(id, c.scope, nil)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok.Signed,
		TokenType:   "Bearer",
		ExpiresIn:   int64(time.Until(tok.ExpiresAt) / time.Second),
		Scope:       c.scope,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// rotate replaces the signing key without refusing a valid token: it
// announces the next key in the JWK Set, waits until every verifier has
// fetched it, signs with it, and removes the keys whose tokens have all
// expired.
func (a *authService) rotate(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	kid, key, err := a.newKey()
	if err != nil {
		return err
	}
	for _, m := range a.managers() {
		if err := m.AddKey(manager.Key{ID: kid, PublicKey: key.Public()}); err != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(a.t.announce):
	}
	for _, m := range a.managers() {
		if err := m.RotateKey(manager.Key{ID: kid, PrivateKey: key}); err != nil {
			return err
		}
	}
	now := time.Now()
	a.retired[a.signing] = now
	a.signing = kid
	a.rotations.Add(1)
	for old, since := range a.retired {
		if now.Sub(since) < a.t.retention() {
			continue
		}
		for _, m := range a.managers() {
			if err := m.RemoveKey(old); err != nil {
				return err
			}
		}
		delete(a.retired, old)
		a.removals.Add(1)
	}
	return nil
}

// rotateEvery rotates the signing key every period until ctx ends.
func (a *authService) rotateEvery(ctx context.Context, period time.Duration, logf func(string, ...any)) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := a.rotate(ctx); err != nil && ctx.Err() == nil {
				logf("key rotation failed, still signing with the current key: %v", err)
			}
		}
	}
}
