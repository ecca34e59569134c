package httpauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
)

// BenchmarkRequire serves one authenticated HS256 request through Require
// beside the same handler bare: the difference is the guard's cost (reading
// the header, verifying the token, checking the rule, the new context).
func BenchmarkRequire(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", "read write", map[string]any{"tenant": "acme"})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	g := httpauth.New(m)
	cases := []struct {
		name string
		h    http.Handler
	}{
		{"bare", ok},
		{"HS256", g.Require()(ok)},
		{"HS256+claims+scopes", g.Require(
			httpauth.ClaimFromPath("sub", "username"),
			httpauth.Claim("tenant", "acme"),
			httpauth.Scopes("read"),
		)(ok)},
		{"public", g.Require(httpauth.Public())(ok)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/users/alice", nil)
			r.Header.Set("Authorization", "Bearer "+signed)
			r.SetPathValue("username", "alice")
			w := newDiscardWriter()
			b.ReportAllocs()
			for b.Loop() {
				w.code = 0
				c.h.ServeHTTP(w, r)
				if w.code != http.StatusNoContent {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
