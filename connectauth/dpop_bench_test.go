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
// proofs, with a DPoP-bound token and a fresh ES256 proof (recorded in a
// memory replay cache), next to the same request with a bearer token and
// to one ES256 signature verification: the proof check's cost is the
// difference of the first two, and its target is one verification plus
// 2µs. The handler behind Wrap only notes that it ran.
func BenchmarkDPoP(b *testing.B) {
	bb := dpoptest.NewBench(b)
	auth, err := connectauth.New(bb.Manager, connectauth.WithDPoP(bb.Verifier))
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
	htu := dpop.MethodURL("http", "api.example.com", methodFieldTop)
	next := func() string { return bb.Proof(b, http.MethodPost, htu) }
	dpopReq, bearerReq := request("DPoP "+bb.Bound), request("Bearer "+bb.Bearer)
	withDPoP := func(proof string) {
		dpopReq.Header["Dpop"] = []string{proof}
		serve(dpopReq)
	}
	withBearer := func() { serve(bearerReq) }
	b.Run("bearer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			withBearer()
		}
	})
	b.Run("dpop", func(b *testing.B) { bb.Calls(b, next, withDPoP) })
	b.Run("interleaved", func(b *testing.B) { bb.Interleaved(b, next, withDPoP, withBearer) })
	b.Run("es256-verify", bb.Verification)
}
