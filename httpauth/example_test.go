package httpauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

// Guard the routes of a ServeMux: a user's page for that user only, an
// admin page for tokens whose scope says admin, a public health check.
func Example() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	guard := httpauth.New(m)

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context()) // the caller's verified token
		fmt.Fprintf(w, "Hello, %s!", tok.Subject)
	})
	mux := http.NewServeMux()
	// A misspelled wildcard or requirements that can't hold panic here, as
	// ServeMux.Handle does with a bad pattern.
	guard.Handle(mux, "GET /users/{username}", hello, httpauth.ClaimFromPath("sub", "username"))
	guard.Handle(mux, "GET /admin", hello, httpauth.Scope(map[string]any{"admin": true}))
	guard.HandleFunc(mux, "GET /health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") },
		httpauth.Public())

	alice, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	get := func(path, token string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
		if c := w.Header().Get("WWW-Authenticate"); c != "" {
			fmt.Println("  WWW-Authenticate:", c)
		}
	}
	get("/users/alice", alice.Signed)
	get("/users/bob", alice.Signed)
	get("/admin", alice.Signed)
	get("/users/alice", "")
	get("/health", "")
	// Output:
	// 200 Hello, alice!
	// 403 {"error":"claim mismatch","reason":"CLAIM_MISMATCH"}
	//   WWW-Authenticate: Bearer realm="protojwt", error="insufficient_scope", error_description="claim mismatch"
	// 403 {"error":"insufficient scope","reason":"SCOPE_MISSING"}
	//   WWW-Authenticate: Bearer realm="protojwt", error="insufficient_scope", error_description="insufficient scope"
	// 401 {"error":"missing bearer token","reason":"TOKEN_MISSING"}
	//   WWW-Authenticate: Bearer realm="protojwt"
	// 200 ok
}

// Compile reports requirements that can't be combined, at start-up.
func ExampleGuard_Compile() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	guard := httpauth.New(m)

	_, err = guard.Compile(httpauth.TokenType(manager.Auth), httpauth.TokenType(manager.Refresh))
	fmt.Println(errors.Is(err, protojwt.ErrInvalidRule))
	fmt.Println(err)
	// Output:
	// true
	// protojwt: invalid rule: token types "auth" and "refresh" both required
}

// Read path wildcards from another router's context, as chi.URLParam does.
func ExampleWithPathValue() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	type paramsKey struct{}
	param := func(r *http.Request, name string) string { // chi.URLParam(r, name) with chi
		params, _ := r.Context().Value(paramsKey{}).(map[string]string)
		return params[name]
	}
	guard := httpauth.New(m, httpauth.WithPathValue(param))
	h := guard.Require(httpauth.ClaimFromPath("sub", "username"))(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "welcome") }))

	bob, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, username := range []string{"bob", "alice"} {
		ctx := context.WithValue(context.Background(), paramsKey{}, map[string]string{"username": username})
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/users/"+username, nil)
		r.Header.Set("Authorization", "Bearer "+bob.Signed)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(username, w.Code)
	}
	// Output:
	// bob 200
	// alice 403
}

// Log each refusal and answer in the API's own error format.
func ExampleWithErrorHandler() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	guard := httpauth.New(m, httpauth.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, e *httpauth.Error) {
		fmt.Println("refused:", e.Reason, errors.Is(e, manager.ErrNoToken)) // log e, with its cause
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		http.Error(w, e.Reason, e.Status)
	}))
	h := guard.Require()(http.NotFoundHandler())

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// refused: TOKEN_MISSING true
	// 401 TOKEN_MISSING
}

// A browser keeps its token in an HttpOnly cookie; the login hands the
// page the token's CSRF token in a readable cookie, which the page's script
// copies into the X-CSRF-Token header of every state-changing request. A
// cross-site form posts with the cookie alone and is refused.
func ExampleCSRFToken() {
	m, err := manager.New(manager.Config{
		Issuer:    "https://auth.example.com",
		Algorithm: "HS256",
		Secret:    []byte("use-32-random-bytes-in-real-life"),
	})
	if err != nil {
		log.Fatal(err)
	}
	guard := httpauth.New(m, httpauth.WithCookie("token"))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (check the password first)
		tok, err := m.AuthToken("alice", nil, nil)
		if err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "token", Value: tok.Signed, Path: "/",
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "csrf_token", Value: httpauth.CSRFToken(tok.Signed), Path: "/",
			Secure: true, SameSite: http.SameSiteStrictMode})
	})
	guard.HandleFunc(mux, "POST /orders", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "order placed")
	})

	login := httptest.NewRecorder()
	mux.ServeHTTP(login, httptest.NewRequest(http.MethodPost, "/login", nil))
	cookies := login.Result().Cookies()
	post := func(csrf string) {
		r := httptest.NewRequest(http.MethodPost, "/orders", nil)
		for _, c := range cookies {
			r.AddCookie(c) // what a browser sends with every request
		}
		if csrf != "" {
			r.Header.Set(httpauth.DefaultCSRFHeader, csrf)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	post("") // a cross-site form: the cookies alone
	for _, c := range cookies {
		if c.Name == "csrf_token" {
			post(c.Value) // the page's own script
		}
	}
	// Output:
	// 403 {"error":"missing or wrong CSRF token","reason":"CSRF_MISMATCH"}
	// 200 order placed
}
