package httpauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/manager"
)

// hostileServer serves the hostile table's rule on a real HTTP server:
// GET /users/{username}, guarded by FromRule(hostiletest.Rule()).
func hostileServer(t *testing.T, m *manager.Manager) *httptest.Server {
	t.Helper()
	mw, err := httpauth.New(m).Compile(httpauth.FromRule(hostiletest.Rule()))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /users/{"+hostiletest.Variable+"}", mw(echo))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// send makes one request to srv with the Authorization values, one header
// each, and returns the response as a recorder for the checks of
// fixtures_test.go.
func send(t *testing.T, srv *httptest.Server, path string, auth []string) *httptest.ResponseRecorder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range auth {
		req.Header.Add("Authorization", v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	for k, vs := range resp.Header {
		rec.Header()[k] = vs
	}
	rec.Code = resp.StatusCode
	rec.Body.Write(body)
	return rec
}

// TestHostile sends every case of the hostile table over HTTP to a real
// server, with the username wildcard set to the table's subject: the same
// outcome as the gRPC interceptor's TestHostileUnary.
func TestHostile(t *testing.T) {
	env := hostiletest.New(t)
	srv := hostileServer(t, env.Manager)
	for _, c := range hostiletest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			values := c.Authorization(env)
			w := send(t, srv, "/users/"+hostiletest.Subject, values)
			if c.Reason == "" {
				checkAllowed(t, w, hostiletest.Subject+" auth")
				return
			}
			checkRefused(t, w, c.Reason)
			for _, v := range values {
				if len(v) >= 16 && strings.Contains(w.Body.String()+strings.Join(w.Header().Values("WWW-Authenticate"), " "), v) {
					t.Errorf("the refusal quotes the request")
				}
			}
		})
	}
	if hits := env.TrapHits(); hits != 0 {
		t.Errorf("a URL of a token header was fetched %d times", hits)
	}
}

// fuzzNow is the clock of the fuzzers' managers: tokens of the committed
// corpus stay valid.
var fuzzNow = time.Unix(1_800_000_000, 0)

// FuzzAuthorizationHeaders sends zero to three arbitrary Authorization
// headers and an arbitrary Cookie header to a guard that also reads a
// token cookie: a request reaches the handler only with alice's token that
// verifies, sent as the single "Bearer <token>" header or, with no
// Authorization header at all, as the cookie's whole value.
func FuzzAuthorizationHeaders(f *testing.F) {
	m := newManager(f, manager.WithClock(func() time.Time { return fuzzNow }))
	alice := authToken(f, m, "alice", "read", nil)
	bob := authToken(f, m, "bob", "read", nil)
	for _, seed := range []struct {
		a, b, c, cookie string
		n               uint8
	}{
		{"Bearer " + alice, "", "", "", 1},
		{"bearer " + alice, "", "", "", 1},
		{"Bearer " + alice, "Bearer " + alice, "", "", 2},
		{"Bearer " + alice[:40], alice[40:], "", "", 2},
		{"", "", "", "session=" + alice, 0},
		{"", "", "", "session=" + alice + "; session=" + alice, 0},
		{"", "", "", `session="` + alice + `"`, 0},
		{"Bearer " + bob, "", "", "session=" + alice, 1},
		{"", "", "", "session=" + bob, 0},
		{"Bearer  " + alice, "", "", "", 1},
		{"Bearer " + alice + "," + alice, "", "", "", 1},
		{"", "", "", "", 1},
	} {
		f.Add(seed.a, seed.b, seed.c, seed.cookie, seed.n)
	}
	h := httpauth.New(m, httpauth.WithCookie("session")).Require(httpauth.ClaimFromPath("sub", "user"))(echo)
	refusals := make(map[string]bool)
	for reason := range statusOf {
		refusals[bodyOf(reason)] = true
	}
	f.Fuzz(func(t *testing.T, a, b, c, cookie string, n uint8) {
		values := []string{a, b, c}[:n%4]
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, v := range values {
			r.Header.Add("Authorization", v)
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		r.SetPathValue("user", "alice")
		w := serveRecorded(h, r)
		switch w.Code {
		case http.StatusOK:
			if w.Body.String() != "alice auth" {
				t.Fatalf("allowed with %q", w.Body.String())
			}
			sent := ""
			switch {
			case len(values) == 1 && len(values[0]) > len("Bearer ") && strings.EqualFold(values[0][:len("Bearer ")], "Bearer "):
				sent = values[0][len("Bearer "):]
			case len(values) == 0:
				cookies := r.CookiesNamed("session")
				if len(cookies) != 1 {
					t.Fatalf("allowed with %d session cookies", len(cookies))
				}
				sent = cookies[0].Value
			default:
				t.Fatalf("allowed with Authorization %q", values)
			}
			if tok, err := m.Verify(context.Background(), sent); err != nil || tok.Subject != "alice" {
				t.Fatalf("allowed with %q, which does not verify as alice's: %v", sent, err)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			if !refusals[w.Body.String()] || statusOf[reasonOf(w.Body.String())] != w.Code {
				t.Fatalf("refusal %d %q is not a fixed one", w.Code, w.Body.String())
			}
		default:
			t.Fatalf("status %d: %q", w.Code, w.Body.String())
		}
	})
}

// TestRefuseOversizedCost checks that the guard refuses an oversized token
// with the same few allocations and bytes at every size: by its length,
// before any base64 or JSON work.
func TestRefuseOversizedCost(t *testing.T) {
	h := httpauth.New(newManager(t)).Require()(echo)
	for _, sz := range hostiletest.OversizedSizes() {
		t.Run(sz.Name, func(t *testing.T) {
			r := httptestRequest("Bearer " + hostiletest.OversizedToken(sz.Bytes))
			checkRefused(t, serveRecorded(h, r), "TOKEN_INVALID")
			if raceEnabled {
				t.Skip("the race detector changes allocation counts")
			}
			w := newDiscardWriter()
			refuse := func() {
				clear(w.header)
				h.ServeHTTP(w, r)
				if w.code != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", w.code)
				}
			}
			if allocs := testing.AllocsPerRun(100, refuse); allocs > 16 {
				t.Errorf("refusing a token of %s allocates %v times, want at most 16", sz.Name, allocs)
			}
			if perCall := hostiletest.BytesPerCall(100, refuse); perCall > 4096 {
				t.Errorf("refusing a token of %s allocates %d bytes, want at most 4 KiB", sz.Name, perCall)
			}
		})
	}
}

// BenchmarkRefuseOversized is a flood of large forged tokens through the
// guard: the cost of a refusal does not grow with the token, and is no
// more than a valid token's (valid, verified from the cache).
func BenchmarkRefuseOversized(b *testing.B) {
	m := newManager(b)
	h := httpauth.New(m).Require()(echo)
	b.Run("valid", func(b *testing.B) {
		r := httptestRequest("Bearer " + authToken(b, m, "alice", nil, nil))
		w := newDiscardWriter()
		b.ReportAllocs()
		for b.Loop() {
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != 0 && w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	for _, sz := range hostiletest.OversizedSizes() {
		b.Run(sz.Name, func(b *testing.B) {
			r := httptestRequest("Bearer " + hostiletest.OversizedToken(sz.Bytes))
			w := newDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				clear(w.header)
				w.code = 0
				h.ServeHTTP(w, r)
				if w.code != http.StatusUnauthorized {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
