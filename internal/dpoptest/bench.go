package dpoptest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/dpop"
)

// Bench is the speed benchmark of a DPoP call that every adapter runs: a
// warm call with a DPoP-bound token and a fresh ES256 proof, the same call
// with a bearer token, and one ES256 verification. Each proof is new (its
// own jti, recorded in a real replay cache), as a client's are, and is made
// before the clock starts.
type Bench struct {
	// Env holds the key, the tokens and the manager.
	*Env
	// Bound is a token bound to Env.Key, Bearer one without cnf.
	Bound, Bearer string
}

// NewBench returns a Bench.
func NewBench(b testing.TB) *Bench {
	b.Helper()
	e := New(b)
	return &Bench{Env: e, Bound: e.DPoPToken(b), Bearer: e.Token(b, nil)}
}

// NewVerifier returns a proof verifier with the default options, as
// servers make it, for one benchmark: its replay cache, of
// [dpop.DefaultReplayEntries], holds every proof of a run of seconds.
func (bb *Bench) NewVerifier(b testing.TB) *dpop.Verifier {
	v, err := dpop.NewVerifier()
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// Proof returns a fresh proof of Key for a call of method to url with the
// bound token.
func (bb *Bench) Proof(b testing.TB, method, url string) string {
	p, err := bb.Key.Proof(dpop.Call{Method: method, URL: url, AccessToken: bb.Bound}, "")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// batch is how many proofs the benchmarks make at a time, before the
// calls that use them.
const batch = 1024

// proofs hands out fresh proofs of next, made batch at a time.
type proofs struct {
	next  func() string
	ready []string
}

// fill makes a batch of proofs.
func (p *proofs) fill() {
	for range batch {
		p.ready = append(p.ready, p.next())
	}
}

// take returns a fresh proof; fill must have made it.
func (p *proofs) take() string {
	proof := p.ready[len(p.ready)-1]
	p.ready = p.ready[:len(p.ready)-1]
	return proof
}

// Run runs an adapter's DPoP benchmark as sub-benchmarks of b: "bearer",
// the bearer call alone; "dpop", the DPoP call alone ([Bench.Calls]);
// "interleaved" ([Bench.Interleaved]); and "es256-verify"
// ([Bench.Verification]). The proofs are made for a call of method to url,
// and calls makes the adapter's two calls anew for each sub-benchmark: the
// DPoP call, which takes the proof to send, and the bearer call.
func (bb *Bench) Run(b *testing.B, method, url string, calls func(*testing.B) (withDPoP func(proof string), withBearer func())) {
	next := func() string { return bb.Proof(b, method, url) }
	b.Run("bearer", func(b *testing.B) {
		_, withBearer := calls(b)
		b.ReportAllocs()
		for b.Loop() {
			withBearer()
		}
	})
	b.Run("dpop", func(b *testing.B) {
		withDPoP, _ := calls(b)
		bb.Calls(b, next, withDPoP)
	})
	b.Run("interleaved", func(b *testing.B) {
		withDPoP, withBearer := calls(b)
		bb.Interleaved(b, next, withDPoP, withBearer)
	})
	b.Run("es256-verify", bb.Verification)
}

// HTTPCalls returns the two calls [Bench.Run] takes for an HTTP handler:
// request builds a request with an Authorization value, and serve serves
// one. Each call serves the same request again, the DPoP call with its
// proof set in the DPoP header.
func (bb *Bench) HTTPCalls(request func(authorization string) *http.Request, serve func(*http.Request)) (withDPoP func(proof string), withBearer func()) {
	dpopReq, bearerReq := request("DPoP "+bb.Bound), request("Bearer "+bb.Bearer)
	withDPoP = func(proof string) {
		dpopReq.Header["Dpop"] = []string{proof}
		serve(dpopReq)
	}
	return withDPoP, func() { serve(bearerReq) }
}

// Calls times call alone, each with a fresh proof of next; the proofs are
// made in batches with the timer stopped, so that ns/op and allocs/op are
// the call's.
func (bb *Bench) Calls(b *testing.B, next func() string, call func(proof string)) {
	ps := &proofs{next: next, ready: make([]string, 0, batch)}
	b.ReportAllocs()
	for b.Loop() {
		if len(ps.ready) == 0 {
			b.StopTimer()
			ps.fill()
			b.StartTimer()
		}
		call(ps.take())
	}
}

// Interleaved times, per iteration, a DPoP call with a fresh proof of
// next, the same call with a bearer token (the two in turns first), and
// one ES256 verification of a proof's signing input (digest included), so
// that a busy machine slows the three alike. It reports the median of each, per call, and of DPoP −
// bearer − verification (extra-ns): what the proof check adds to one
// signature verification. The proofs are made in batches with the timer
// stopped, and the iteration after a batch, which runs on what making it
// left in the caches, is not counted.
func (bb *Bench) Interleaved(b *testing.B, next func() string, withDPoP func(proof string), withBearer func()) {
	proof := next()
	input := []byte(proof[:strings.LastIndexByte(proof, '.')])
	digest := sha256.Sum256(input)
	key := bb.key
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	ps := &proofs{next: next, ready: make([]string, 0, batch)}
	var dpopNS, bearerNS, sigNS, extraNS []float64
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		made := len(ps.ready) == 0
		if made {
			b.StopTimer()
			ps.fill()
			b.StartTimer()
		}
		proof := ps.take()
		// Which call goes first alternates, so that neither always runs
		// on what the other left in the caches.
		dpopFirst := n%2 == 0
		t0 := time.Now()
		if dpopFirst {
			withDPoP(proof)
		} else {
			withBearer()
		}
		t1 := time.Now()
		if dpopFirst {
			withBearer()
		} else {
			withDPoP(proof)
		}
		t2 := time.Now()
		d := sha256.Sum256(input)
		if !ecdsa.VerifyASN1(&key.PublicKey, d[:], sig) {
			b.Fatal("signature does not verify")
		}
		t3 := time.Now()
		if made {
			continue
		}
		dn, bn, sn := float64(t1.Sub(t0)), float64(t2.Sub(t1)), float64(t3.Sub(t2))
		if !dpopFirst {
			dn, bn = bn, dn
		}
		dpopNS, bearerNS, sigNS, extraNS = append(dpopNS, dn), append(bearerNS, bn), append(sigNS, sn), append(extraNS, dn-bn-sn)
	}
	b.ReportMetric(median(dpopNS), "dpop-ns")
	b.ReportMetric(median(bearerNS), "bearer-ns")
	b.ReportMetric(median(sigNS), "sig-ns")
	b.ReportMetric(median(extraNS), "extra-ns")
}

// Verification times one ES256 verification alone.
func (bb *Bench) Verification(b *testing.B) {
	digest := sha256.Sum256([]byte("the signing input of a proof"))
	sig, err := ecdsa.SignASN1(rand.Reader, bb.key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(&bb.key.PublicKey, digest[:], sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// SignatureCheck returns one ES256 verification of proof's signing input,
// digest included, as Interleaved makes it: the baseline of a proof check.
func (bb *Bench) SignatureCheck(tb testing.TB, proof string) func() {
	input := []byte(proof[:strings.LastIndexByte(proof, '.')])
	digest := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, bb.key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	return func() {
		d := sha256.Sum256(input)
		if !ecdsa.VerifyASN1(&bb.key.PublicKey, d[:], sig) {
			tb.Fatal("signature does not verify")
		}
	}
}

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
