package connectauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/dpoptest"
)

// BenchmarkDPoP is a warm Connect unary request through Wrap, which checks
// proofs, with a DPoP-bound token and a fresh ES256 proof (recorded in the
// verifier's replay cache), next to the same request with a bearer token
// and to one ES256 signature verification: the proof check's cost is the
// difference of the first two, and its target is one verification plus
// 2µs. The handler behind Wrap only notes that it ran.
func BenchmarkDPoP(b *testing.B) {
	bb := dpoptest.NewBench(b)
	url := dpop.MethodURL("http", "api.example.com", methodFieldTop)
	// calls returns a DPoP request and a bearer request through Wrap of
	// an interceptor with a verifier of its own.
	calls := func(b *testing.B) (withDPoP func(proof string), withBearer func()) {
		auth, err := connectauth.New(bb.Manager, connectauth.WithDPoP(bb.NewVerifier(b)))
		if err != nil {
			b.Fatal(err)
		}
		var ran bool
		h := auth.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
		w := httptest.NewRecorder()
		request := func(auth string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "http://api.example.com"+methodFieldTop, http.NoBody)
			r.Header.Set("Content-Type", "application/proto")
			r.Header.Set("Authorization", auth)
			return r
		}
		serve := func(r *http.Request) {
			ran = false
			h.ServeHTTP(w, r)
			if !ran {
				b.Fatalf("refused: %s", w.Body)
			}
		}
		return bb.HTTPCalls(request, serve)
	}
	bb.Run(b, http.MethodPost, url, calls)
}
