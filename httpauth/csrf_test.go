package httpauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/httpauth"
)

// csrfServer serves, over real HTTP on loopback, routes that a cookie
// authenticates, and records each decision's reason.
func csrfServer(t *testing.T, opts ...httpauth.Option) (*httptest.Server, *[]string) {
	t.Helper()
	var reasons []string
	opts = append([]httpauth.Option{
		httpauth.WithCookie("token"),
		httpauth.WithDecisionHook(func(_ context.Context, d protojwt.Decision) {
			reasons = append(reasons, d.Reason)
		}),
	}, opts...)
	g := httpauth.New(newManager(t), opts...)
	mux := http.NewServeMux()
	for _, method := range []string{"GET", "HEAD", "OPTIONS", "TRACE", "POST", "PUT", "PATCH", "DELETE", "PROPFIND"} {
		g.Handle(mux, method+" /orders", echo)
	}
	g.Handle(mux, "POST /users/{username}/email", echo, httpauth.ClaimFromPath("sub", "username"))
	g.Handle(mux, "POST /public", echo, httpauth.Public())
	g.Handle(mux, "POST /optional", echo, httpauth.FromRule(&annotations.Rule{AllowMissing: true}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &reasons
}

// call sends method to srv's path with the headers (name, value, ...) and
// returns the status and the reason of the JSON body, if any.
func call(t *testing.T, srv *httptest.Server, method, path string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var refusal struct{ Reason string }
	if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(body, &refusal)
	}
	return resp.StatusCode, refusal.Reason
}

func TestCSRFOverHTTP(t *testing.T) {
	m := newManager(t)
	tok := authToken(t, m, "alice", nil, nil)
	other := authToken(t, m, "alice", nil, nil) // the same user, another token
	cookie := "token=" + tok
	proof := httpauth.CSRFToken(tok)
	srv, reasons := csrfServer(t)
	srvOrigin := srv.URL

	tests := []struct {
		name    string
		method  string
		path    string
		headers []string
		status  int
		reason  string
	}{
		// A cross-site form or fetch: the browser adds the cookie, nothing else.
		{"cross-site POST with the cookie alone", "POST", "/orders", []string{"Cookie", cookie}, 403, protojwt.ReasonCSRF},
		{"cross-site PUT", "PUT", "/orders", []string{"Cookie", cookie}, 403, protojwt.ReasonCSRF},
		{"cross-site PATCH", "PATCH", "/orders", []string{"Cookie", cookie}, 403, protojwt.ReasonCSRF},
		{"cross-site DELETE", "DELETE", "/orders", []string{"Cookie", cookie}, 403, protojwt.ReasonCSRF},
		{"an unknown method is not safe", "PROPFIND", "/orders", []string{"Cookie", cookie}, 403, protojwt.ReasonCSRF},
		{"wrong proof", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", "not-the-proof"}, 403, protojwt.ReasonCSRF},
		{"empty proof", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", ""}, 403, protojwt.ReasonCSRF},
		{"proof of another token", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", httpauth.CSRFToken(other)}, 403, protojwt.ReasonCSRF},
		{"the token itself as proof", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", tok}, 403, protojwt.ReasonCSRF},
		{"proof with a suffix", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", proof + "x"}, 403, protojwt.ReasonCSRF},
		{"proof truncated", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", proof[:len(proof)-1]}, 403, protojwt.ReasonCSRF},
		{"proof twice", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", proof, "X-CSRF-Token", proof}, 403, protojwt.ReasonCSRF},
		{"proof in another header", "POST", "/orders", []string{"Cookie", cookie, "X-XSRF-Token", proof}, 403, protojwt.ReasonCSRF},
		// The proof is checked before the token: a forged cookie learns
		// nothing more than a missing proof.
		{"forged cookie without proof", "POST", "/orders", []string{"Cookie", "token=" + tamperedToken(t, tok, "bob")}, 403, protojwt.ReasonCSRF},
		{"forged cookie with its proof", "POST", "/orders", []string{"Cookie", "token=" + tamperedToken(t, tok, "bob"), "X-CSRF-Token", httpauth.CSRFToken(tamperedToken(t, tok, "bob"))}, 401, protojwt.ReasonTokenInvalid},
		{"right proof, then the rule", "POST", "/users/bob/email", []string{"Cookie", cookie, "X-CSRF-Token", proof}, 403, protojwt.ReasonClaimMismatch},
		{"no cookie, no token", "POST", "/orders", nil, 401, protojwt.ReasonTokenMissing},
		// A token is optional there, but a cookie sent is not ignored: the
		// handler would act for its owner.
		{"optional token, cookie alone", "POST", "/optional", []string{"Cookie", cookie}, 403, protojwt.ReasonCSRF},
		{"optional token, no cookie", "POST", "/optional", nil, 200, ""},
		{"optional token, cookie and proof", "POST", "/optional", []string{"Cookie", cookie, "X-CSRF-Token", proof}, 200, ""},

		{"right proof", "POST", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", proof}, 200, ""},
		{"right proof, lower-case header name", "DELETE", "/orders", []string{"Cookie", cookie, "x-csrf-token", proof}, 200, ""},
		{"right proof and rule", "POST", "/users/alice/email", []string{"Cookie", cookie, "X-CSRF-Token", proof}, 200, ""},
		{"GET needs no proof", "GET", "/orders", []string{"Cookie", cookie}, 200, ""},
		{"HEAD needs no proof", "HEAD", "/orders", []string{"Cookie", cookie}, 200, ""},
		// The cookie does not authenticate OPTIONS and TRACE: alone, it is
		// no token; a bearer header is read as on any method.
		{"OPTIONS with the cookie alone", "OPTIONS", "/orders", []string{"Cookie", cookie}, 401, protojwt.ReasonTokenMissing},
		{"TRACE with the cookie alone", "TRACE", "/orders", []string{"Cookie", cookie}, 401, protojwt.ReasonTokenMissing},
		{"OPTIONS with the cookie and its proof", "OPTIONS", "/orders", []string{"Cookie", cookie, "X-CSRF-Token", proof}, 401, protojwt.ReasonTokenMissing},
		{"OPTIONS with a bearer header", "OPTIONS", "/orders", []string{"Authorization", "Bearer " + tok}, 200, ""},
		{"TRACE with a bearer header and the cookie", "TRACE", "/orders", []string{"Authorization", "Bearer " + tok, "Cookie", cookie}, 200, ""},
		// A WebSocket handshake is a GET that opens a connection acting for
		// the cookie's owner: from another site it needs the proof, which a
		// browser can't add to a handshake.
		{"cross-site WebSocket handshake", "GET", "/orders", []string{"Cookie", cookie, "Connection", "Upgrade", "Upgrade", "websocket", "Origin", "https://evil.example"}, 403, protojwt.ReasonCSRF},
		{"cross-site WebSocket handshake, Upgrade in upper case", "GET", "/orders", []string{"Cookie", cookie, "Connection", "Upgrade", "Upgrade", "WebSocket", "Origin", "https://evil.example"}, 403, protojwt.ReasonCSRF},
		{"cross-site WebSocket handshake, Upgrade list", "GET", "/orders", []string{"Cookie", cookie, "Connection", "Upgrade", "Upgrade", "h2c, websocket", "Origin", "https://evil.example"}, 403, protojwt.ReasonCSRF},
		{"WebSocket handshake by Sec-Fetch-Site", "GET", "/orders", []string{"Cookie", cookie, "Connection", "Upgrade", "Upgrade", "websocket", "Sec-Fetch-Site", "cross-site"}, 403, protojwt.ReasonCSRF},
		{"WebSocket handshake, same Origin but Sec-Fetch-Site cross-site", "GET", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket", "Origin", srvOrigin, "Sec-Fetch-Site", "cross-site"}, 403, protojwt.ReasonCSRF},
		{"WebSocket handshake from a null Origin", "GET", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket", "Origin", "null"}, 403, protojwt.ReasonCSRF},
		{"WebSocket handshake from another port", "GET", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket", "Origin", "http://127.0.0.1:1"}, 403, protojwt.ReasonCSRF},
		{"WebSocket handshake with two Origins", "GET", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket", "Origin", srvOrigin, "Origin", "https://evil.example"}, 403, protojwt.ReasonCSRF},
		{"HEAD WebSocket handshake from another site", "HEAD", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket", "Origin", "https://evil.example"}, 403, protojwt.ReasonCSRF},
		{"same-origin WebSocket handshake", "GET", "/orders", []string{"Cookie", cookie, "Connection", "Upgrade", "Upgrade", "websocket", "Origin", srvOrigin, "Sec-Fetch-Site", "same-origin"}, 200, ""},
		{"same-origin WebSocket handshake without Sec-Fetch-Site", "GET", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket", "Origin", srvOrigin}, 200, ""},
		{"WebSocket handshake from no browser", "GET", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket"}, 200, ""},
		{"cross-site WebSocket handshake with the proof", "GET", "/orders", []string{"Cookie", cookie, "Upgrade", "websocket", "Origin", "https://evil.example", "X-CSRF-Token", proof}, 200, ""},
		{"cross-site WebSocket handshake with a bearer header", "GET", "/orders", []string{"Authorization", "Bearer " + tok, "Upgrade", "websocket", "Origin", "https://evil.example"}, 200, ""},
		{"cross-site GET that is no handshake", "GET", "/orders", []string{"Cookie", cookie, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 200, ""},
		// A page can't make a browser send an Authorization header across
		// sites: a bearer request needs no proof, even with the cookie.
		{"bearer POST", "POST", "/orders", []string{"Authorization", "Bearer " + tok}, 200, ""},
		{"bearer POST with a cookie too", "POST", "/orders", []string{"Authorization", "Bearer " + tok, "Cookie", cookie}, 200, ""},
		{"public route reads no cookie", "POST", "/public", []string{"Cookie", cookie}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			*reasons = nil
			status, reason := call(t, srv, tc.method, tc.path, tc.headers...)
			if status != tc.status || (tc.method != "HEAD" && reason != tc.reason) {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, status, reason, tc.status, tc.reason)
			}
			if len(*reasons) != 1 || (*reasons)[0] != tc.reason {
				t.Errorf("decision hook saw reasons %q, want [%q]", *reasons, tc.reason)
			}
		})
	}
}

func TestWithCSRFHeader(t *testing.T) {
	m := newManager(t)
	tok := authToken(t, m, "alice", nil, nil)
	srv, _ := csrfServer(t, httpauth.WithCSRFHeader("X-XSRF-TOKEN"))
	cookie := "token=" + tok
	if status, _ := call(t, srv, "POST", "/orders", "Cookie", cookie, "X-XSRF-Token", httpauth.CSRFToken(tok)); status != 200 {
		t.Errorf("proof in the named header: %d, want 200", status)
	}
	if status, reason := call(t, srv, "POST", "/orders", "Cookie", cookie, "X-CSRF-Token", httpauth.CSRFToken(tok)); status != 403 || reason != protojwt.ReasonCSRF {
		t.Errorf("proof in the default header only: %d %s, want 403 %s", status, reason, protojwt.ReasonCSRF)
	}
	// An empty name keeps the header named before: the proof can't be
	// turned off.
	srv, _ = csrfServer(t, httpauth.WithCSRFHeader(""))
	if status, reason := call(t, srv, "POST", "/orders", "Cookie", cookie); status != 403 || reason != protojwt.ReasonCSRF {
		t.Errorf("WithCSRFHeader(\"\"), no proof: %d %s, want 403 %s", status, reason, protojwt.ReasonCSRF)
	}
}

func TestCSRFToken(t *testing.T) {
	m := newManager(t)
	a, b := authToken(t, m, "alice", nil, nil), authToken(t, m, "alice", nil, nil)
	if first, again := httpauth.CSRFToken(a), httpauth.CSRFToken(a); first != again {
		t.Error("CSRFToken is not deterministic")
	}
	if httpauth.CSRFToken(a) == httpauth.CSRFToken(b) {
		t.Error("two tokens share a CSRF token")
	}
	got := httpauth.CSRFToken(a)
	if len(got) != 43 || strings.ContainsAny(got, "+/=.") {
		t.Errorf("CSRFToken = %q, want 43 base64url characters (256 bits)", got)
	}
	for _, part := range strings.Split(a, ".") {
		if strings.Contains(got, part) {
			t.Errorf("CSRFToken holds a part of the token")
		}
	}
}

// BenchmarkCSRF serves one POST through Require with the token in the
// Authorization header, then in the cookie with its CSRF proof: the
// difference is the proof's cost (the cookie parse and a SHA-256).
func BenchmarkCSRF(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", nil, nil)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := httpauth.New(m, httpauth.WithCookie("token")).Require()(ok)
	bearerReq := httptest.NewRequest(http.MethodPost, "/orders", nil)
	bearerReq.Header.Set("Authorization", "Bearer "+signed)
	cookieReq := httptest.NewRequest(http.MethodPost, "/orders", nil)
	cookieReq.AddCookie(&http.Cookie{Name: "token", Value: signed})
	cookieReq.Header.Set(httpauth.DefaultCSRFHeader, httpauth.CSRFToken(signed))
	for _, c := range []struct {
		name string
		r    *http.Request
	}{{"bearer", bearerReq}, {"cookie+proof", cookieReq}} {
		b.Run(c.name, func(b *testing.B) {
			w := newDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				w.code = 0
				h.ServeHTTP(w, c.r)
				if w.code != http.StatusNoContent {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
