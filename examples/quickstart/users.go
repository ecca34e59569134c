package main

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/manager"
)

// user is an account of the in-memory user table.
type user struct {
	passwordHash []byte         // bcrypt
	scope        map[string]any // the authorizations put in auth tokens
	claims       map[string]any // extra claims put in auth tokens
}

// users is the example's user table. The hashes are bcrypt hashes of the
// demo passwords: alice/wonderland (an administrator holding the custom
// claim, the orders-admin role and the gold tier) and bob/builder (a reader
// of the silver tier). Roles sit where Keycloak puts realm roles.
var users = map[string]user{
	"alice": {
		passwordHash: []byte("$2a$10$5.BXcykfodT/hQQDQeOzYeXIB8TDe4YXSCIoIOFRccbTstNDxzgvu"),
		scope:        map[string]any{"admin": true},
		claims: map[string]any{
			"custom_claim": "Arbitrary Required Value",
			"realm_access": map[string]any{"roles": []string{"reader", "orders-admin"}},
			"tier":         "gold",
		},
	},
	"bob": {
		passwordHash: []byte("$2a$10$QFe/BLSspofjN1iiPIi3I.BXEQ9iBptGRdI8QHa/g/eJZg8BbuNlu"),
		scope:        map[string]any{"admin": false},
		claims: map[string]any{
			"realm_access": map[string]any{"roles": []string{"reader"}},
			"tier":         "silver",
		},
	},
}

// errLogin means the username or password is wrong; which one is not said.
var errLogin = errors.New("invalid login credentials")

// dummyHash is compared against when the user does not exist, so that a
// wrong username costs as much time as a wrong password.
var dummyHash = []byte("$2a$10$QFe/BLSspofjN1iiPIi3I.BXEQ9iBptGRdI8QHa/g/eJZg8BbuNlu")

// accounts issues tokens to the users of the table. The gRPC service and
// the HTTP routes share it.
type accounts struct {
	m      *manager.Manager
	proofs *dpop.Verifier // checks the DPoP proofs of logins and refreshes
}

// tokens is what a login or a refresh returns.
type tokens struct {
	Auth    string `json:"auth_token"`
	Refresh string `json:"refresh_token,omitempty"`
	// Type is how the auth token is sent: "DPoP" when it is bound to the
	// client's key, else "Bearer" (RFC 9449 §5).
	Type string `json:"token_type"`
}

// login checks a password and issues an auth and a refresh token, both
// bound to the key whose thumbprint is jkt when it is not empty.
func (a *accounts) login(username, password, jkt string) (tokens, error) {
	u, ok := users[username]
	hash := u.passwordHash
	if !ok {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return tokens{}, errLogin
	}
	claims, refreshClaims, typ := u.claims, map[string]any(nil), "Bearer"
	if jkt != "" {
		refreshClaims, typ = manager.DPoPBinding(jkt), "DPoP"
		claims = manager.DPoPBinding(jkt)
		for k, v := range u.claims {
			claims[k] = v
		}
	}
	auth, err := a.m.AuthToken(username, u.scope, claims)
	if err != nil {
		return tokens{}, fmt.Errorf("issuing auth token: %w", err)
	}
	refresh, err := a.m.RefreshToken(username, refreshClaims)
	if err != nil {
		return tokens{}, fmt.Errorf("issuing refresh token: %w", err)
	}
	return tokens{Auth: auth.Signed, Refresh: refresh.Signed, Type: typ}, nil
}

// refresh exchanges the caller's verified refresh token for a new auth
// token, with the authorizations the user has now, and a new refresh token.
// The old refresh token is used up: presented again, it revokes every token
// of the login (see [manager.Manager.RotateRefreshToken]). A refresh token bound to a
// key came with a proof of that key, which the adapters checked as for any
// bound token; the new tokens are bound to the same key.
func (a *accounts) refresh(ctx context.Context) (tokens, error) {
	tok, ok := manager.FromContext(ctx)
	if !ok {
		return tokens{}, errors.New("no refresh token in context")
	}
	// A refresh token presented a second time ([manager.ErrRefreshReuse]) is
	// a sign that it was stolen: every token of its login is now revoked.
	auth, refresh, err := a.m.RotateRefreshToken(ctx, tok.Signed, currentGrant)
	if err != nil {
		return tokens{}, fmt.Errorf("rotating refresh token: %w", err)
	}
	typ := "Bearer"
	if _, bound := auth.Claims["cnf"]; bound {
		typ = "DPoP"
	}
	return tokens{Auth: auth.Signed, Refresh: refresh.Signed, Type: typ}, nil
}

// currentGrant returns the scope and claims that the user table gives the
// subject of a refresh token now: a user removed since the login can't
// refresh.
func currentGrant(_ context.Context, refresh *manager.Token) (any, map[string]any, error) {
	u, ok := users[refresh.Subject]
	if !ok {
		return nil, nil, errLogin
	}
	return u.scope, u.claims, nil
}
