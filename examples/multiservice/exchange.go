package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

// grantTokenExchange is the grant_type of OAuth 2.0 Token Exchange.
const grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// serviceClient is a service that may act for the users who call it: it
// exchanges their tokens, which must have been issued for it (their aud
// is the service), for tokens of the audiences it calls.
type serviceClient struct {
	secretHash [32]byte
	audiences  []string
}

// serviceClients: the orders service reserves stock at inventory for the
// customer who places an order.
var serviceClients = map[string]serviceClient{
	audience: {sha256.Sum256([]byte(demoSecret(audience))), []string{inventoryAudience}},
}

// exchange answers a token exchange (RFC 8693, section 2): a service
// client, authenticated with HTTP Basic, presents a user's token issued
// for it (subject_token) and asks for a token of one of its audiences,
// with scopes the user's token holds. The token it gets keeps the user as
// sub and names the service in act, with the subject token's act nested
// inside for a chain of services.
func (a *authService) exchange(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, code string) {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		writeJSON(w, status, map[string]string{"error": code})
	}
	id, secret, ok := r.BasicAuth()
	c, known := serviceClients[id]
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], c.secretHash[:]) != 1 || !ok || !known {
		refuse(http.StatusUnauthorized, "invalid_client")
		return
	}
	if t := r.PostFormValue("subject_token_type"); t != tokensource.TokenTypeAccessToken && t != tokensource.TokenTypeJWT {
		refuse(http.StatusBadRequest, "invalid_request")
		return
	}
	target := r.PostFormValue("audience")
	if !slices.Contains(c.audiences, target) {
		refuse(http.StatusBadRequest, "invalid_target")
		return
	}
	// The user's token must be valid, and issued for the service that
	// presents it: a.m checks its signature, expiry and aud (orders).
	user, err := a.m.Verify(r.Context(), r.PostFormValue("subject_token"))
	if err != nil || user.Type != manager.Auth || id != audience {
		refuse(http.StatusBadRequest, "invalid_grant")
		return
	}
	held, _ := user.Scope.(string)
	scope := strings.Fields(r.PostFormValue("scope"))
	for _, s := range scope {
		if !slices.Contains(strings.Fields(held), s) {
			refuse(http.StatusBadRequest, "invalid_scope")
			return
		}
	}
	act := map[string]any{"sub": id}
	if prior, ok := user.Claims["act"].(map[string]any); ok {
		act["act"] = prior
	}
	tok, err := a.forInventory.AuthToken(user.Subject, strings.Join(scope, " "), map[string]any{"act": act})
	if err != nil {
		refuse(http.StatusInternalServerError, "server_error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok.Signed,
		"issued_token_type": tokensource.TokenTypeAccessToken,
		"token_type":        "Bearer",
		// The token's life in whole seconds, as its exp and iat are: time
		// left until exp, truncated, is 0 for a token of one second.
		"expires_in": int64(tok.ExpiresAt.Sub(tok.IssuedAt) / time.Second),
		"scope":      strings.Join(scope, " "),
	})
}
