package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// newHTTPHandler returns the quickstart's routes, each wrapped in the same
// requirement as its gRPC twin.
func newHTTPHandler(m *manager.Manager, a *accounts, hook func(context.Context, protojwt.Decision)) http.Handler {
	guard := httpauth.New(m, httpauth.WithDecisionHook(hook), httpauth.WithDPoP(a.proofs))
	mux := http.NewServeMux()
	// guard.Handle panics, as mux.Handle does, on a wildcard the pattern
	// lacks or requirements that can't hold: mistakes stop main.
	mux.HandleFunc("POST /login", a.handleLogin)
	guard.HandleFunc(mux, "POST /refresh", a.handleRefresh(guard), httpauth.TokenType(manager.Refresh))
	guard.Handle(mux, "GET /protected_route", message("You've reached the protected route!"))
	guard.HandleFunc(mux, "GET /user_specific_route/{username}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "Hello, " + r.PathValue("username") + "!"})
	}, httpauth.ClaimFromPath("sub", "username"))
	guard.Handle(mux, "GET /custom_claim_route", message("You've reached the custom claim route!"),
		httpauth.Claim("custom_claim", "Arbitrary Required Value"))
	guard.Handle(mux, "GET /admin_dashboard", message("Hello admin!"), httpauth.Scope(map[string]any{"admin": true}))
	guard.HandleFunc(mux, "GET /token/info", tokenInfo)
	// Claim checks at any depth, and a route open to callers without a
	// token: the rules of Orders and Catalog in quickstart.proto.
	guard.Handle(mux, "GET /orders", message("Here are the orders."),
		httpauth.Check("realm_access", "roles").Contains("orders-admin"))
	guard.HandleFunc(mux, "GET /catalog", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": catalogFor(r.Context())})
	}, httpauth.AllowMissing(), httpauth.Check("tier").In("gold", "platinum"))
	return mux
}

// catalogFor says which catalog the caller of ctx sees: the members'
// catalog with a token (whose tier the rule has checked), else the public
// one.
func catalogFor(ctx context.Context) string {
	if tok, ok := manager.FromContext(ctx); ok {
		return "The members' catalog, for " + tok.Subject + "."
	}
	return "The public catalog."
}

// handleLogin takes a form (username, password) or the same as JSON.
func (a *accounts) handleLogin(w http.ResponseWriter, r *http.Request) {
	var creds struct{ Username, Password string }
	if r.Header.Get("Content-Type") == "application/json" {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&creds); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is not a JSON login"})
			return
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
		creds.Username, creds.Password = r.PostFormValue("username"), r.PostFormValue("password")
	}
	proof, err := proofFor(r.Header.Values("DPoP"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_dpop_proof"})
		return
	}
	jkt, err := a.loginKey(r.Context(), proof, httpCall(r))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_dpop_proof"})
		return
	}
	t, err := a.login(creds.Username, creds.Password, jkt)
	switch {
	case errors.Is(err, errLogin):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "issuing tokens failed"})
	default:
		writeJSON(w, http.StatusOK, t)
	}
}

// handleRefresh answers a refused refresh as guard refuses requests: a
// reused refresh token is 401 with reason TOKEN_REVOKED, which tells a
// client (tokensource) that the login is over.
func (a *accounts) handleRefresh(guard *httpauth.Guard) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := a.refresh(r.Context())
		if err != nil {
			guard.Deny(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, t)
	}
}

func tokenInfo(w http.ResponseWriter, r *http.Request) {
	tok, _ := manager.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":   tok.Type,
		"subject":      tok.Subject,
		"scope":        tok.Scope,
		"claims":       tok.Claims,
		"is_signed":    tok.IsSigned(),
		"signed_token": tok.Signed,
	})
}

// message is a handler answering {"message": text}.
func message(text string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": text})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
