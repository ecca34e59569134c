package httpauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/internal/dpoptest"
)

// BenchmarkDPoP is a warm request through Require with a DPoP-bound token
// and a fresh ES256 proof (recorded in the verifier's replay cache), next
// to the same request with a bearer token and to one ES256 signature
// verification: the proof check's cost is the difference of the first
// two, and its target is one verification plus 2µs.
func BenchmarkDPoP(b *testing.B) {
	bb := dpoptest.NewBench(b)
	url := "http://api.example.com/orders/7"
	// calls returns a DPoP request and a bearer request through a guard
	// with a verifier of its own.
	calls := func(b *testing.B) (withDPoP func(proof string), withBearer func()) {
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		h := httpauth.New(bb.Manager, httpauth.WithDPoP(bb.NewVerifier(b))).Require()(ok)
		w := newDiscardWriter()
		request := func(auth string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/orders/7", http.NoBody)
			r.Host = "api.example.com"
			r.Header.Set("Authorization", auth)
			return r
		}
		serve := func(r *http.Request) {
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
		return bb.HTTPCalls(request, serve)
	}
	bb.Run(b, http.MethodPost, url, calls)
}
