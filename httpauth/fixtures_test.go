package httpauth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	parser "github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/manager"
)

const testIssuer = "https://auth.test"

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newManager returns an HS256 manager of testIssuer and testSecret.
func newManager(tb testing.TB, opts ...manager.Option) *manager.Manager {
	tb.Helper()
	return newManagerOf(tb, testIssuer, testSecret, opts...)
}

func newManagerOf(tb testing.TB, issuer string, secret []byte, opts ...manager.Option) *manager.Manager {
	tb.Helper()
	m, err := manager.New(manager.Config{Issuer: issuer, Algorithm: "HS256", Secret: secret}, opts...)
	if err != nil {
		tb.Fatalf("manager.New: %v", err)
	}
	return m
}

func authToken(tb testing.TB, m *manager.Manager, sub string, scope any, claims map[string]any) string {
	tb.Helper()
	t, err := m.AuthToken(sub, scope, claims)
	if err != nil {
		tb.Fatalf("AuthToken: %v", err)
	}
	return t.Signed
}

func refreshToken(tb testing.TB, m *manager.Manager, sub string) string {
	tb.Helper()
	t, err := m.RefreshToken(sub, nil)
	if err != nil {
		tb.Fatalf("RefreshToken: %v", err)
	}
	return t.Signed
}

// expiredToken returns an auth token of m's issuer and secret that expired
// an hour ago.
func expiredToken(tb testing.TB, sub string) string {
	tb.Helper()
	past := newManager(tb, manager.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }))
	return authToken(tb, past, sub, nil, nil)
}

// tamperedToken returns signed with its payload's sub replaced and the
// signature kept.
func tamperedToken(tb testing.TB, signed, sub string) string {
	tb.Helper()
	parts := strings.Split(signed, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		tb.Fatal(err)
	}
	claims["sub"] = sub
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// unsignedToken returns a token with the "none" algorithm and valid claims.
func unsignedToken(sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{
		"iss": testIssuer, "sub": sub, "iat": now, "nbf": now, "exp": now + 3600,
		"jti": "x", "type": "auth",
	})
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "."
}

// request is one request of a test table.
type request struct {
	method  string
	target  string
	auth    []string // Authorization values, one header each
	cookies []*http.Cookie
}

func (q request) serve(h http.Handler) *httptest.ResponseRecorder {
	method := q.method
	if method == "" {
		method = http.MethodGet
	}
	r := httptest.NewRequest(method, q.target, nil)
	for _, v := range q.auth {
		r.Header.Add("Authorization", v)
	}
	for _, c := range q.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearer(tok string) []string { return []string{"Bearer " + tok} }

// descriptions are the fixed texts of the default refusals.
var descriptions = map[string]string{
	"TOKEN_MISSING":  "missing bearer token",
	"TOKEN_INVALID":  "invalid token",
	"TOKEN_EXPIRED":  "token expired",
	"TOKEN_REVOKED":  "token revoked",
	"TOKEN_TYPE":     "wrong token type",
	"CLAIM_MISMATCH": "claim mismatch",
	"SCOPE_MISSING":  "insufficient scope",
	"NO_ALTERNATIVE": "no alternative rule holds",
	"CSRF_MISMATCH":  "missing or wrong CSRF token",

	"REVOCATION_UNAVAILABLE": "token can't be checked now",
	"KEYS_UNAVAILABLE":       "token can't be checked now: no usable keys",
}

// statusOf is the status of each reason.
var statusOf = map[string]int{
	"TOKEN_MISSING":  http.StatusUnauthorized,
	"TOKEN_INVALID":  http.StatusUnauthorized,
	"TOKEN_EXPIRED":  http.StatusUnauthorized,
	"TOKEN_REVOKED":  http.StatusUnauthorized,
	"TOKEN_TYPE":     http.StatusUnauthorized,
	"CLAIM_MISMATCH": http.StatusForbidden,
	"SCOPE_MISSING":  http.StatusForbidden,
	"NO_ALTERNATIVE": http.StatusForbidden,
	"CSRF_MISMATCH":  http.StatusForbidden,

	"REVOCATION_UNAVAILABLE": http.StatusServiceUnavailable,
	"KEYS_UNAVAILABLE":       http.StatusServiceUnavailable,
	"REQUEST_MALFORMED":      http.StatusBadRequest,
}

// malformedChallenge is the start of the WWW-Authenticate value of a
// REQUEST_MALFORMED refusal with realm, whose description says what was
// wrong.
func malformedChallenge(realm string) string {
	return `Bearer realm="` + realm + `", error="invalid_request", error_description="`
}

// malformedChallenges are the WWW-Authenticate values of the
// REQUEST_MALFORMED refusals with realm, one for each mistake.
func malformedChallenges(realm string) map[string]bool {
	out := make(map[string]bool)
	for _, e := range parser.RequestErrors() {
		out[malformedChallenge(realm)+strings.ReplaceAll(e.Message, `"`, `\"`)+`"`] = true
	}
	return out
}

// challengeOf returns the WWW-Authenticate value of a refusal for reason
// with realm; for REQUEST_MALFORMED, its start.
func challengeOf(realm, reason string) string {
	switch {
	case reason == "REQUEST_MALFORMED":
		return malformedChallenge(realm)
	case reason == "TOKEN_MISSING":
		return `Bearer realm="` + realm + `"`
	case statusOf[reason] == http.StatusUnauthorized:
		return `Bearer realm="` + realm + `", error="invalid_token", error_description="` + descriptions[reason] + `"`
	case statusOf[reason] == http.StatusForbidden:
		return `Bearer realm="` + realm + `", error="insufficient_scope", error_description="` + descriptions[reason] + `"`
	}
	return ""
}

// bodyOf is the JSON body of a refusal for reason.
func bodyOf(reason string) string {
	if reason == "REQUEST_MALFORMED" {
		return `{"error":"invalid_request","reason":"REQUEST_MALFORMED"}` + "\n"
	}
	return `{"error":"` + descriptions[reason] + `","reason":"` + reason + `"}` + "\n"
}

// checkRefused fails t unless w is the default refusal for reason, with the
// realm "protojwt".
func checkRefused(t *testing.T, w *httptest.ResponseRecorder, reason string) {
	t.Helper()
	checkRefusedIn(t, w, "protojwt", reason)
}

func checkRefusedIn(t *testing.T, w *httptest.ResponseRecorder, realm, reason string) {
	t.Helper()
	want, ok := statusOf[reason]
	if !ok {
		t.Fatalf("test bug: unknown reason %q", reason)
	}
	if w.Code != want {
		t.Errorf("status = %d, want %d (body %q)", w.Code, want, w.Body.String())
	}
	if got, want := w.Header().Values("WWW-Authenticate"), challengeOf(realm, reason); want == "" && len(got) != 0 {
		t.Errorf("WWW-Authenticate = %q, want none", got)
	} else if reason == "REQUEST_MALFORMED" {
		if len(got) != 1 || !malformedChallenges(realm)[got[0]] {
			t.Errorf("WWW-Authenticate = %q, want %q and the description of a malformed request", got, want)
		}
	} else if want != "" && (len(got) != 1 || got[0] != want) {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got, want := w.Body.String(), bodyOf(reason); got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

// checkAllowed fails t unless w is the handler's answer body.
func checkAllowed(t *testing.T, w *httptest.ResponseRecorder, body string) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Errorf("status = %d, want 200 (body %q)", w.Code, w.Body.String())
	}
	if got := w.Body.String(); got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
	if got := w.Header().Values("WWW-Authenticate"); len(got) != 0 {
		t.Errorf("WWW-Authenticate = %q on an allowed request", got)
	}
}

// echo answers "<sub> <type>" of the token in the request's context, or
// "anonymous" without one.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	tok, ok := manager.FromContext(r.Context())
	if !ok {
		_, _ = w.Write([]byte("anonymous"))
		return
	}
	_, _ = w.Write([]byte(tok.Subject + " " + string(tok.Type)))
})

// discardWriter is a ResponseWriter that keeps the status only, so that
// benchmarks and allocation counts measure the guard, not a recorder.
type discardWriter struct {
	header http.Header
	code   int
}

func newDiscardWriter() *discardWriter { return &discardWriter{header: make(http.Header)} }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// httptestRequest returns a GET request of "/" with one Authorization
// value.
func httptestRequest(auth string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", auth)
	return r
}

func serveRecorded(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// reasonOf returns the reason of a refusal's body.
func reasonOf(body string) string {
	var b struct{ Reason string }
	_ = json.Unmarshal([]byte(body), &b)
	return b.Reason
}
