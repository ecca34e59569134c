package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchPool is how many distinct proofs a benchmark cycles through; the
// replay cache starts empty again at each cycle (a cache of the verifier's
// own, as NewVerifier makes, which keeps the verifier's time), so every
// verification is a first use and pays for the cache.
const benchPool = 2048

func benchProofs(b *testing.B, key crypto.Signer) (*Verifier, []string) {
	s, err := NewSigner(key, WithSignerClock(func() time.Time { return testNow }))
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(WithClock(func() time.Time { return testNow }))
	if err != nil {
		b.Fatal(err)
	}
	proofs := make([]string, benchPool)
	for i := range proofs {
		if proofs[i], err = s.Proof(testCall, ""); err != nil {
			b.Fatal(err)
		}
	}
	return v, proofs
}

func benchVerify(b *testing.B, key crypto.Signer) {
	v, proofs := benchProofs(b, key)
	jkt, _ := Thumbprint(key.Public())
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(proofs) {
			i = 0
			v.replay = newPrivateReplayCache()
		}
		if _, err := v.Verify(ctx, proofs[i], testCall, jkt); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyProofES256 is a warm proof check: header from the
// cache, signature, claims, htu, iat, ath, thumbprint and replay cache.
// Compare with BenchmarkSignatureES256.
func BenchmarkVerifyProofES256(b *testing.B) {
	testKeys(b)
	benchVerify(b, ecKey)
}

// BenchmarkSignatureES256 is the baseline: one ES256 signature check of a
// proof, as any JWS library does it: the SHA-256 digest of the signing
// input and one ECDSA P-256 verification.
func BenchmarkSignatureES256(b *testing.B) {
	testKeys(b)
	_, proofs := benchProofs(b, ecKey)
	proof := proofs[0]
	dot := strings.LastIndexByte(proof, '.')
	signed := []byte(proof[:dot])
	digest := sha256.Sum256(signed)
	pub := &ecKey.PublicKey
	sig, err := ecdsa.SignASN1(rand.Reader, ecKey, digest[:]) // the form crypto/ecdsa verifies
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d := sha256.Sum256(signed)
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkVerifyProofEdDSA is BenchmarkVerifyProofES256 with an Ed25519
// key. Compare with BenchmarkSignatureEdDSA.
func BenchmarkVerifyProofEdDSA(b *testing.B) {
	testKeys(b)
	benchVerify(b, edKey)
}

// BenchmarkSignatureEdDSA is the baseline: one Ed25519 verification of a
// proof's signing input.
func BenchmarkSignatureEdDSA(b *testing.B) {
	testKeys(b)
	_, proofs := benchProofs(b, edKey)
	proof := proofs[0]
	dot := strings.LastIndexByte(proof, '.')
	msg := []byte(proof[:dot])
	sig, _ := decodeB64(proof[dot+1:])
	pub := edKey.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkProofChecksES256 is everything BenchmarkVerifyProofES256 does
// but the signature check (its base64 decoding included): the cost the
// proof check adds to one verification, measured alone.
func BenchmarkProofChecksES256(b *testing.B) {
	testKeys(b)
	v, proofs := benchProofs(b, ecKey)
	jkt, _ := Thumbprint(&ecKey.PublicKey)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(proofs) {
			i = 0
			v.replay = newPrivateReplayCache()
		}
		h, payload, err := v.parse(proofs[i])
		if err != nil {
			b.Fatal(err)
		}
		dot := strings.LastIndexByte(proofs[i], '.')
		if _, ok := decodeB64(proofs[i][dot+1:]); !ok {
			b.Fatal("signature not base64url")
		}
		if err := v.checkClaims(ctx, h, payload, &testCall, jkt, new(Proof)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkProofVsSignature interleaves, call by call, a warm proof check
// and the baseline signature check of its algorithm (as
// BenchmarkSignatureES256 and BenchmarkSignatureEdDSA do it), so that a
// busy machine slows both alike. It reports the median of each, per call,
// and of their difference: extra-ns is what the proof check adds to one
// signature verification.
func BenchmarkProofVsSignature(b *testing.B) {
	testKeys(b)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
	}{{"ES256", ecKey}, {"EdDSA", edKey}} {
		b.Run(tc.name, func(b *testing.B) {
			v, proofs := benchProofs(b, tc.key)
			jkt, _ := Thumbprint(tc.key.Public())
			baseline := signatureCheck(b, tc.key, proofs[0])
			ctx := context.Background()
			var proofNS, sigNS, extraNS []float64
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i == len(proofs) {
					i = 0
					v.replay = newPrivateReplayCache()
				}
				t0 := time.Now()
				if _, err := v.Verify(ctx, proofs[i], testCall, jkt); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				baseline()
				t2 := time.Now()
				p, s := float64(t1.Sub(t0)), float64(t2.Sub(t1))
				proofNS, sigNS, extraNS = append(proofNS, p), append(sigNS, s), append(extraNS, p-s)
				i++
			}
			mp, ms := median(proofNS), median(sigNS)
			b.ReportMetric(mp, "proof-ns")
			b.ReportMetric(ms, "sig-ns")
			b.ReportMetric(median(extraNS), "extra-ns")
			b.ReportMetric(mp/ms, "ratio")
		})
	}
}

// signatureCheck returns the baseline of a proof's algorithm: its JWS
// signature checked once, digest included.
func signatureCheck(b testing.TB, key crypto.Signer, proof string) func() {
	dot := strings.LastIndexByte(proof, '.')
	signed := []byte(proof[:dot])
	switch key := key.(type) {
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(signed)
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			d := sha256.Sum256(signed)
			if !ecdsa.VerifyASN1(&key.PublicKey, d[:], sig) {
				b.Fatal("signature does not verify")
			}
		}
	case ed25519.PrivateKey:
		sig, _ := decodeB64(proof[dot+1:])
		pub := key.Public().(ed25519.PublicKey)
		return func() {
			if !ed25519.Verify(pub, signed, sig) {
				b.Fatal("signature does not verify")
			}
		}
	}
	b.Fatalf("no baseline for %T", key)
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
