package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

func TestWithCookie(t *testing.T) {
	m := newManager(t)
	const name = "access_token"
	withCookie := httpauth.New(m, httpauth.WithCookie(name))
	without := httpauth.New(m)
	alice := authToken(t, m, "alice", nil, nil)
	admin := authToken(t, m, "root", map[string]any{"admin": true}, nil)
	cookie := func(value string) *http.Cookie { return &http.Cookie{Name: name, Value: value} }

	tests := []struct {
		name   string
		guard  *httpauth.Guard
		reqs   []httpauth.Requirement
		req    request
		reason string // "" when allowed
		body   string
	}{
		{name: "cookie alone", guard: withCookie,
			req: request{cookies: []*http.Cookie{cookie(alice)}}, body: "alice auth"},
		{name: "cookie among others", guard: withCookie,
			req: request{cookies: []*http.Cookie{{Name: "session", Value: "x"}, cookie(alice)}}, body: "alice auth"},
		{name: "header wins over cookie", guard: withCookie, reqs: []httpauth.Requirement{httpauth.Scope(map[string]any{"admin": true})},
			req: request{auth: bearer(alice), cookies: []*http.Cookie{cookie(admin)}}, reason: "SCOPE_MISSING"},
		{name: "valid header, garbage cookie", guard: withCookie,
			req: request{auth: bearer(alice), cookies: []*http.Cookie{cookie("garbage")}}, body: "alice auth"},
		{name: "malformed header, valid cookie", guard: withCookie,
			req: request{auth: []string{"Basic YWxpY2U6c2VjcmV0"}, cookies: []*http.Cookie{cookie(alice)}}, reason: "REQUEST_MALFORMED"},
		{name: "empty header, valid cookie", guard: withCookie,
			req: request{auth: []string{""}, cookies: []*http.Cookie{cookie(alice)}}, reason: "TOKEN_MISSING"},
		{name: "cookie ignored without option", guard: without,
			req: request{cookies: []*http.Cookie{cookie(alice)}}, reason: "TOKEN_MISSING"},
		{name: "no cookie", guard: withCookie,
			req: request{}, reason: "TOKEN_MISSING"},
		{name: "cookie of another name", guard: withCookie,
			req: request{cookies: []*http.Cookie{{Name: "token", Value: alice}}}, reason: "TOKEN_MISSING"},
		{name: "empty cookie", guard: withCookie,
			req: request{cookies: []*http.Cookie{cookie("")}}, reason: "TOKEN_MISSING"},
		{name: "two cookies", guard: withCookie,
			req: request{cookies: []*http.Cookie{cookie(alice), cookie(alice)}}, reason: "TOKEN_INVALID"},
		{name: "garbage cookie", guard: withCookie,
			req: request{cookies: []*http.Cookie{cookie("garbage")}}, reason: "TOKEN_INVALID"},
		{name: "expired cookie", guard: withCookie,
			req: request{cookies: []*http.Cookie{cookie(expiredToken(t, "alice"))}}, reason: "TOKEN_EXPIRED"},
		{name: "refresh token in cookie", guard: withCookie,
			req: request{cookies: []*http.Cookie{cookie(refreshToken(t, m, "alice"))}}, reason: "TOKEN_TYPE"},
		{name: "empty name turns cookies off", guard: httpauth.New(m, httpauth.WithCookie(name), httpauth.WithCookie("")),
			req: request{cookies: []*http.Cookie{cookie(alice)}}, reason: "TOKEN_MISSING"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.target = "/"
			w := tc.req.serve(tc.guard.Require(tc.reqs...)(echo))
			if tc.reason == "" {
				checkAllowed(t, w, tc.body)
			} else {
				checkRefused(t, w, tc.reason)
			}
		})
	}
}

// paramsKey is where a chi-like router keeps a request's path parameters.
type paramsKey struct{}

func TestWithPathValue(t *testing.T) {
	m := newManager(t)
	param := func(r *http.Request, name string) string {
		p, _ := r.Context().Value(paramsKey{}).(map[string]string)
		return p[name]
	}
	guarded := httpauth.New(m, httpauth.WithPathValue(param)).Require(httpauth.ClaimFromPath("sub", "user"))(echo)
	// route stands for the router: it finds the parameters, then calls the
	// guarded handler. r.PathValue is set too, and must not be read.
	route := func(params map[string]string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.SetPathValue("user", "alice")
			guarded.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), paramsKey{}, params)))
		})
	}
	alice := bearer(authToken(t, m, "alice", nil, nil))
	bob := bearer(authToken(t, m, "bob", nil, nil))

	checkAllowed(t, request{target: "/", auth: alice}.serve(route(map[string]string{"user": "alice"})), "alice auth")
	checkAllowed(t, request{target: "/", auth: bob}.serve(route(map[string]string{"user": "bob"})), "bob auth")
	checkRefused(t, request{target: "/", auth: bob}.serve(route(map[string]string{"user": "alice"})), "CLAIM_MISMATCH")
	checkRefused(t, request{target: "/", auth: alice}.serve(route(map[string]string{"user": ""})), "CLAIM_MISMATCH")
	checkRefused(t, request{target: "/", auth: alice}.serve(route(nil)), "CLAIM_MISMATCH")
	checkRefused(t, request{target: "/", auth: alice}.serve(route(map[string]string{"id": "alice"})), "CLAIM_MISMATCH")

	// Without the option the guard reads r.PathValue; a nil value keeps it.
	for _, g := range []*httpauth.Guard{httpauth.New(m), httpauth.New(m, httpauth.WithPathValue(nil))} {
		h := g.Require(httpauth.ClaimFromPath("sub", "user"))(echo)
		byPathValue := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.SetPathValue("user", "alice")
			h.ServeHTTP(w, r)
		})
		checkAllowed(t, request{target: "/", auth: alice}.serve(byPathValue), "alice auth")
		checkRefused(t, request{target: "/", auth: alice}.serve(h), "CLAIM_MISMATCH") // no path value at all
	}
}

func TestWithErrorHandler(t *testing.T) {
	m := newManager(t)
	var got []httpauth.Error
	handle := func(w http.ResponseWriter, r *http.Request, e *httpauth.Error) {
		got = append(got, *e)
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("custom " + e.Reason))
	}
	g := httpauth.New(m, httpauth.WithErrorHandler(handle))
	expired := expiredToken(t, "alice")

	tests := []struct {
		name     string
		h        http.Handler
		req      request
		status   int
		reason   string
		sentinel error
	}{
		{"missing", g.Require()(echo), request{}, 401, "TOKEN_MISSING", manager.ErrNoToken},
		{"malformed", g.Require()(echo), request{auth: []string{"Basic x"}}, 400, "REQUEST_MALFORMED", manager.ErrMalformed},
		{"expired", g.Require()(echo), request{auth: bearer(expired)}, 401, "TOKEN_EXPIRED", manager.ErrExpired},
		{"token type", g.Require()(echo), request{auth: bearer(refreshToken(t, m, "alice"))}, 401, "TOKEN_TYPE", manager.ErrTokenType},
		{"claim", g.Require(httpauth.Claim("tenant", "acme"))(echo), request{auth: bearer(authToken(t, m, "alice", nil, nil))}, 403, "CLAIM_MISMATCH", manager.ErrClaim},
		{"scope", g.Require(httpauth.Scopes("read"))(echo), request{auth: bearer(authToken(t, m, "alice", nil, nil))}, 403, "SCOPE_MISSING", manager.ErrScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			tc.req.target = "/"
			w := tc.req.serve(tc.h)
			if w.Code != http.StatusTeapot || w.Body.String() != "custom "+tc.reason {
				t.Errorf("response = %d %q, want the handler's", w.Code, w.Body.String())
			}
			if h := w.Header(); len(h) != 0 {
				t.Errorf("headers = %v, want none: the response is the handler's", h)
			}
			if len(got) != 1 {
				t.Fatalf("handler called %d times, want 1", len(got))
			}
			e := got[0]
			if e.Status != tc.status || e.Reason != tc.reason {
				t.Errorf("Error = %d %s, want %d %s", e.Status, e.Reason, tc.status, tc.reason)
			}
			if !errors.Is(&e, tc.sentinel) {
				t.Errorf("Error %v does not wrap %v", &e, tc.sentinel)
			}
			if !strings.HasPrefix(e.Error(), "httpauth: "+tc.reason+": ") {
				t.Errorf("Error() = %q", e.Error())
			}
			if strings.Contains(e.Error(), strings.Split(expired, ".")[1]) {
				t.Errorf("Error() carries the token: %q", e.Error())
			}
		})
	}

	// A nil handler keeps the default response.
	g = httpauth.New(m, httpauth.WithErrorHandler(nil))
	checkRefused(t, request{target: "/"}.serve(g.Require()(echo)), "TOKEN_MISSING")
}

func TestErrorWithoutCause(t *testing.T) {
	e := &httpauth.Error{Status: 401, Reason: "TOKEN_MISSING"}
	if got := e.Error(); got != "httpauth: TOKEN_MISSING" {
		t.Errorf("Error() = %q", got)
	}
	if e.Unwrap() != nil {
		t.Errorf("Unwrap() = %v, want nil", e.Unwrap())
	}
}

func TestWithRealm(t *testing.T) {
	m := newManager(t)
	expired := bearer(expiredToken(t, "alice"))
	forbidden := bearer(authToken(t, m, "alice", nil, nil))
	tests := []struct {
		name, realm, want string
	}{
		{"default", "", "protojwt"},
		{"plain", "api.example.com", "api.example.com"},
		{"quotes and backslash", `say "hi" \o/`, `say \"hi\" \\o/`},
		{"control characters", "a\r\nb\x00c\x7fd\te", "abcd\te"},
		{"non-ASCII", "réalm", "réalm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := httpauth.New(m)
			if tc.realm != "" {
				g = httpauth.New(m, httpauth.WithRealm(tc.realm))
			}
			checkRefusedIn(t, request{target: "/"}.serve(g.Require()(echo)), tc.want, "TOKEN_MISSING")
			checkRefusedIn(t, request{target: "/", auth: expired}.serve(g.Require()(echo)), tc.want, "TOKEN_EXPIRED")
			checkRefusedIn(t, request{target: "/", auth: forbidden}.serve(g.Require(httpauth.Scopes("x"))(echo)), tc.want, "SCOPE_MISSING")
		})
	}
	// An empty realm keeps the one set before.
	g := httpauth.New(m, httpauth.WithRealm("api"), httpauth.WithRealm(""))
	checkRefusedIn(t, request{target: "/"}.serve(g.Require()(echo)), "api", "TOKEN_MISSING")
}

// Nil options are skipped.
func TestNilOption(t *testing.T) {
	g := httpauth.New(newManager(t), nil, httpauth.WithRealm("api"), nil)
	checkRefusedIn(t, request{target: "/"}.serve(g.Require()(echo)), "api", "TOKEN_MISSING")
}
