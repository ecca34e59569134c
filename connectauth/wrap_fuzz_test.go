package connectauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/manager"
)

// FuzzWrap sends Wrap requests of arbitrary method, path, content type
// and authorization values (zero to two), and checks what it lets through:
// an RPC to a procedure whose rule needs an auth token reaches the mux
// only with one "Bearer <token>" value whose token verifies, and carries
// that token in its context; anything Wrap answers itself quotes nothing
// of the request.
func FuzzWrap(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	m := newManager(f, manager.WithClock(func() time.Time { return now }))
	auth, err := connectauth.New(m)
	if err != nil {
		f.Fatal(err)
	}
	valid := authToken(f, m, "alice", nil, nil)
	refresh := rpctest.RefreshToken(f, m, "alice", nil)
	for _, seed := range []struct {
		method      uint8
		path, ctype string
		a, b        string
		n           uint8
	}{
		{0, methodFieldTop, "application/json", bearer(valid), "", 1},
		{0, methodFieldTop, "application/grpc", "", "", 0},
		{0, methodFieldTop, "application/grpc-web+proto", "Bearer x.y.z", "", 1},
		{0, methodFieldTop, "application/connect+json", bearer(refresh), "", 1},
		{0, methodFieldTop, "application/json", bearer(valid), bearer(valid), 2},
		{1, methodFieldTop, "", bearer(valid), "", 1},
		{2, methodFieldTop, "", "", "", 0},
		{0, methodRefresh, "application/proto", bearer(refresh), "", 1},
		{0, methodPublic, "application/json", "", "", 0},
		{0, methodUndeclared, "application/json", bearer(valid), "", 1},
		{0, "/nope.v1.Nope/Call", "application/json", "", "", 0},
		{0, "/api" + methodFieldTop, "application/json", "", "", 0},
		{0, methodFieldTop + "/", "text/plain", "", "", 0},
	} {
		f.Add(seed.method, seed.path, seed.ctype, seed.a, seed.b, seed.n)
	}
	needsAuth := map[string]bool{methodFieldTop: true, methodScopes: true, methodUndeclared: true}
	rpc := connect.NewErrorWriter()
	f.Fuzz(func(t *testing.T, method uint8, path, ctype, a, b string, n uint8) {
		var reached *manager.Token
		ran := false
		h := auth.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			reached, _ = manager.FromContext(r.Context())
		}))
		req := &http.Request{
			Method:     []string{http.MethodPost, http.MethodGet, http.MethodOptions, http.MethodPut}[method%4],
			URL:        &url.URL{Path: path},
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     http.Header{},
			Body:       http.NoBody,
			Host:       "example.com",
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		values := []string{a, b}[:n%3]
		for _, v := range values {
			req.Header.Add("Authorization", v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !ran {
			answer := rec.Body.String() + strings.Join(rec.Header().Values("Grpc-Message"), " ")
			for _, s := range hostiletest.TokensOf(values) {
				if strings.Contains(answer, s) {
					t.Fatalf("refusal %q quotes the request", answer)
				}
			}
			return
		}
		if !needsAuth[path] || !rpc.IsSupported(req) {
			return
		}
		if path == methodUndeclared {
			t.Fatalf("an undeclared procedure reached the mux with %q", values)
		}
		if len(values) != 1 || reached == nil || reached.Subject != "alice" || !strings.EqualFold(values[0], "Bearer "+reached.Signed) {
			t.Fatalf("%s %s reached the mux with %q, token %+v", req.Method, path, values, reached)
		}
	})
}
