package httpauth

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// DefaultCSRFHeader is the request header that carries the CSRF token of a
// request authenticated by a cookie, unless [WithCSRFHeader] names another.
const DefaultCSRFHeader = "X-CSRF-Token"

// csrfLabel separates CSRF tokens from any other digest of a JWT.
const csrfLabel = "protojwt httpauth CSRF token v1\x00"

// CSRFToken returns the CSRF token of the compact JWT token: the value a
// browser client sends in the X-CSRF-Token header ([DefaultCSRFHeader]) of
// every state-changing request that the token cookie of [WithCookie]
// authenticates. It is a double-submit token bound to the session, as
// OWASP's CSRF cheat sheet recommends (and as Flask-JWT-Extended's csrf
// claim is), the session here being the token itself: the base64url
// SHA-256 digest of the token under a fixed protojwt label, which only a
// holder of the token can compute. Only a page that can read the token, or
// this value handed to it, can send it; a cross-site page can
// neither read the cookie nor the value, and a browser does not let it set
// the header on a cross-origin request without the server's consent. No
// key is needed, so every instance of a service computes the same value,
// and a new token (a refresh) has a new one.
//
// Hand it to the browser when the token cookie is set: in the login
// response's body, or in a second, readable cookie (not HttpOnly, no Domain
// attribute, SameSite=Strict) that the page's script copies into the header:
//
//	http.SetCookie(w, &http.Cookie{Name: "token", Value: tok.Signed, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode, Path: "/"})
//	http.SetCookie(w, &http.Cookie{Name: "csrf_token", Value: httpauth.CSRFToken(tok.Signed), Secure: true, SameSite: http.SameSiteStrictMode, Path: "/"})
//
//	// in the page
//	fetch("/orders", {method: "POST", headers: {"X-CSRF-Token": readCookie("csrf_token")}, body})
//
// The value reveals nothing of the token, but it is worth no more than the
// cookie: treat it as a credential of the same lifetime.
func CSRFToken(token string) string {
	var d [csrfTokenLen]byte
	csrfDigest(&d, token)
	return string(d[:])
}

// csrfTokenLen is the length of a CSRF token: 32 bytes in base64url.
const csrfTokenLen = 43

// csrfDigest writes CSRFToken(token) to d without allocating for tokens of
// usual sizes.
func csrfDigest(d *[csrfTokenLen]byte, token string) {
	var buf [2048]byte
	sum := sha256.Sum256(append(append(buf[:0], csrfLabel...), token...))
	base64.RawURLEncoding.Encode(d[:], sum[:])
}

// csrfProven reports whether r, authenticated by the cookie token raw,
// may proceed: a GET or HEAD (safe methods, RFC 9110 section 9.2.1) needs
// no proof unless it is a cross-site WebSocket handshake (crossSiteUpgrade);
// any other request needs exactly one CSRF header whose value is
// CSRFToken(raw). OPTIONS and TRACE never get here: the cookie does not
// authenticate them (Guard.token).
func (g *Guard) csrfProven(r *http.Request, raw string) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if !crossSiteUpgrade(r) {
			return true
		}
	}
	values := r.Header.Values(g.csrfHeader)
	if len(values) != 1 || len(values[0]) != csrfTokenLen {
		return false
	}
	var want [csrfTokenLen]byte
	csrfDigest(&want, raw)
	// In constant time, so that the timing of refusals does not tell an
	// attacker how much of a guess was right.
	var diff byte
	for i := range want {
		diff |= values[0][i] ^ want[i]
	}
	return diff == 0
}

// crossSiteUpgrade reports whether r asks to upgrade to a WebSocket from
// another site: its Sec-Fetch-Site is "cross-site", or its Origin is not
// the server's (by host and port, as gorilla/websocket's origin check
// compares them; "null" is no host). A WebSocket is not bound by the
// same-origin policy, and its handshake is a GET that a browser sends with
// the cookie from any page: the connection it opens acts for the cookie's
// owner, as an unsafe method would. A request with neither header comes
// from no browser, which is what a CSRF attack needs.
func crossSiteUpgrade(r *http.Request) bool {
	if !upgradesToWebSocket(r) {
		return false
	}
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return true
	}
	origin := r.Header.Values("Origin")
	switch len(origin) {
	case 0:
		return false
	case 1:
	default:
		return true
	}
	u, err := url.Parse(origin[0])
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
}

// upgradesToWebSocket reports whether one of r's Upgrade values names the
// websocket protocol.
func upgradesToWebSocket(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for p := range strings.SplitSeq(v, ",") {
			if name, _, _ := strings.Cut(strings.TrimSpace(p), "/"); strings.EqualFold(name, "websocket") {
				return true
			}
		}
	}
	return false
}
