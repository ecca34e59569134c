package binding_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

const url = "https://api.example.com/pkg.Svc/Get"

// downCache is a replay cache that can't answer.
type downCache struct{}

func (downCache) Seen(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

func TestCheck(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := &x509.Certificate{Raw: []byte("client certificate")}
	other := &x509.Certificate{Raw: []byte("another certificate")}
	const raw = "the.access.token"
	proof := func() []string {
		p, err := signer.Proof(dpop.Call{Method: "POST", URL: url, AccessToken: raw}, "")
		if err != nil {
			t.Fatal(err)
		}
		return []string{p}
	}
	dpopBound := map[string]any{"cnf": map[string]any{"jkt": signer.Thumbprint()}}
	certBound := map[string]any{"cnf": map[string]any{"x5t#S256": dpop.CertificateThumbprint(cert)}}
	down, err := dpop.NewVerifier(dpop.WithReplayCache(downCache{}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		checker *binding.Checker
		claims  map[string]any
		p       func() *binding.Presented
		want    string // reason; "" passes
		cert    bool   // the refusal is about the certificate
	}{
		{"bearer", nil, map[string]any{}, func() *binding.Presented { return &binding.Presented{} }, "", false},
		{"bearer, nothing presented", nil, map[string]any{}, func() *binding.Presented { return nil }, "", false},
		{"bearer with the DPoP scheme", nil, map[string]any{}, func() *binding.Presented { return &binding.Presented{DPoP: true} }, protojwt.ReasonProofInvalid, false},
		{"DPoP-bound with its proof", nil, dpopBound, func() *binding.Presented {
			return &binding.Presented{DPoP: true, Proofs: proof(), Method: "POST", URL: url}
		}, "", false},
		{"DPoP-bound as Bearer", nil, dpopBound, func() *binding.Presented {
			return &binding.Presented{Proofs: proof(), Method: "POST", URL: url}
		}, protojwt.ReasonProofMissing, false},
		{"DPoP-bound, nothing presented", nil, dpopBound, func() *binding.Presented { return nil }, protojwt.ReasonProofMissing, false},
		{"DPoP-bound, blind transport", nil, dpopBound, func() *binding.Presented {
			return &binding.Presented{DPoP: true, Proofs: proof(), Method: "POST", URL: url, Blind: true}
		}, protojwt.ReasonProofMissing, false},
		{"DPoP-bound, replay store down", binding.New(down), dpopBound, func() *binding.Presented {
			return &binding.Presented{DPoP: true, Proofs: proof(), Method: "POST", URL: url}
		}, protojwt.ReasonRevocationUnavailable, false},
		{"certificate-bound over it", nil, certBound, func() *binding.Presented { return &binding.Presented{Certificate: cert} }, "", false},
		{"certificate-bound over another", nil, certBound, func() *binding.Presented { return &binding.Presented{Certificate: other} }, protojwt.ReasonProofInvalid, true},
		{"certificate-bound without one", nil, certBound, func() *binding.Presented { return &binding.Presented{} }, protojwt.ReasonProofMissing, true},
		{"certificate-bound with the DPoP scheme", nil, certBound, func() *binding.Presented {
			return &binding.Presented{DPoP: true, Certificate: cert}
		}, protojwt.ReasonProofInvalid, false},
		{"cnf unreadable", nil, map[string]any{"cnf": []any{}}, func() *binding.Presented { return &binding.Presented{} }, protojwt.ReasonProofInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.checker.Check(context.Background(), &manager.Token{Claims: tt.claims}, raw, tt.p())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check passed")
			}
			if _, reason := rules.Classify(err); reason != tt.want {
				t.Fatalf("Check = %v: reason %s, want %s", err, reason, tt.want)
			}
			if got := errors.Is(err, binding.ErrCertificate); got != tt.cert {
				t.Errorf("errors.Is(err, ErrCertificate) = %v, want %v", got, tt.cert)
			}
		})
	}
}

// TestNonce: a checker gives its verifier's nonce, none by default.
func TestNonce(t *testing.T) {
	src, _ := dpop.NewNonceSource()
	v, err := dpop.NewVerifier(dpop.WithNonces(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := binding.New(v).Nonce(); got != src.Nonce() {
		t.Errorf("Nonce = %q, want %q", got, src.Nonce())
	}
	if got := (*binding.Checker)(nil).Nonce(); got != "" {
		t.Errorf("Nonce of the default checker = %q, want none", got)
	}
}

// TestBindingReadFromManagersCopy: a handler that deletes cnf from its
// token (shared by the verify cache with later calls) does not make the
// token a bearer token.
func TestBindingReadFromManagersCopy(t *testing.T) {
	m, err := manager.New(manager.Config{Issuer: "binding-test", Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	issued, err := m.AuthToken("alice", nil, map[string]any{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Verify(context.Background(), issued.Signed)
	if err != nil {
		t.Fatal(err)
	}
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	tok.Claims["cnf"].(map[string]any)["jkt"] = "somebody else's key" // changed in place
	if b, err := binding.Of(tok); err != nil || b.JKT != jkt {
		t.Fatalf("Of(token whose cnf a handler changed) = %+v, %v; want jkt %s", b, err, jkt)
	}
	delete(tok.Claims, "cnf") // what a careless handler might do
	err = (*binding.Checker)(nil).Check(context.Background(), tok, issued.Signed, &binding.Presented{})
	if !errors.Is(err, dpop.ErrProofMissing) {
		t.Fatalf("Check = %v, want ErrProofMissing", err)
	}
}
