package manager

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/dpop"
)

// newDPoPSigner returns a proof signer with a new P-256 key.
func newDPoPSigner(t *testing.T) *dpop.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssueBoundTokens(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	jkt := newDPoPSigner(t).Thumbprint()
	x5t := strings.Repeat("A", 43)
	tests := []struct {
		name   string
		claims map[string]any
		want   dpop.Binding
	}{
		{"DPoP key", DPoPBinding(jkt), dpop.Binding{JKT: jkt}},
		{"certificate", CertificateBinding(x5t), dpop.Binding{CertificateThumbprint: x5t}},
		{"both", map[string]any{"cnf": map[string]string{"jkt": jkt, "x5t#S256": x5t}}, dpop.Binding{JKT: jkt, CertificateThumbprint: x5t}},
		{"with other claims", func() map[string]any { c := DPoPBinding(jkt); c["tenant"] = "acme"; return c }(), dpop.Binding{JKT: jkt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := m.AuthToken("alice", nil, tt.claims)
			if err != nil {
				t.Fatalf("AuthToken() error = %v", err)
			}
			refresh, err := m.RefreshToken("alice", tt.claims)
			if err != nil {
				t.Fatalf("RefreshToken() error = %v", err)
			}
			for _, tok := range []*Token{auth, refresh} {
				verified, err := m.Verify(context.Background(), tok.Signed)
				if err != nil {
					t.Fatalf("Verify(%s) error = %v", tok.Type, err)
				}
				got, err := dpop.BindingOf(verified.Claims)
				if err != nil || got != tt.want {
					t.Errorf("BindingOf(%s token) = %+v, %v; want %+v", tok.Type, got, err, tt.want)
				}
			}
		})
	}
}

func TestIssueRefusesUncheckableBinding(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	tests := []struct {
		name   string
		claims map[string]any
	}{
		{"empty jkt", DPoPBinding("")},
		{"short jkt", DPoPBinding("abc")},
		{"jkt not base64url", DPoPBinding(strings.Repeat("+", 43))},
		{"empty certificate thumbprint", CertificateBinding("")},
		{"cnf a string", map[string]any{"cnf": "jkt"}},
		{"cnf null", map[string]any{"cnf": nil}},
		{"cnf empty", map[string]any{"cnf": map[string]any{}}},
		{"kid with a short jkt", map[string]any{"cnf": map[string]any{"kid": "k1", "jkt": "abc"}}},
		{"jkt a number", map[string]any{"cnf": map[string]any{"jkt": 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := m.AuthToken("alice", nil, tt.claims); !errors.Is(err, ErrClaim) {
				t.Errorf("AuthToken() = %v, %v; want ErrClaim", tok, err)
			}
			if tok, err := m.RefreshToken("alice", tt.claims); !errors.Is(err, ErrClaim) {
				t.Errorf("RefreshToken() = %v, %v; want ErrClaim", tok, err)
			}
		})
	}
}

// TestIssueOtherConfirmationMethods: a cnf of another RFC 7800 method is
// issued as given, for verifiers that check it (protojwt's adapters refuse
// it), and a rotation keeps it.
func TestIssueOtherConfirmationMethods(t *testing.T) {
	m, _ := newRevocationManager(t, newMovableClock(), Config{})
	for _, cnf := range []map[string]any{
		{"kid": "k1"},
		{"jwk": map[string]any{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}},
	} {
		refresh, err := m.RefreshToken("alice", map[string]any{"cnf": cnf})
		if err != nil {
			t.Fatalf("RefreshToken(cnf %v) error = %v", cnf, err)
		}
		auth, _, err := m.RotateRefreshToken(context.Background(), refresh.Signed, nil)
		if err != nil {
			t.Fatalf("RotateRefreshToken(cnf %v) error = %v", cnf, err)
		}
		assertJSONEqual(t, auth.Claims["cnf"], cnf)
		if _, err := dpop.BindingOf(auth.Claims); !errors.Is(err, dpop.ErrProofInvalid) {
			t.Errorf("BindingOf(cnf %v) error = %v, want the adapters' refusal", cnf, err)
		}
	}
}

func TestRotateKeepsBinding(t *testing.T) {
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{AuthMaxAge: time.Minute, RefreshMaxAge: time.Hour})
	ctx := context.Background()
	jkt := newDPoPSigner(t).Thumbprint()
	login, err := m.RefreshToken("alice", DPoPBinding(jkt))
	if err != nil {
		t.Fatal(err)
	}
	refresh := login.Signed
	for round := range 3 {
		// The grant names no cnf, or the same one: both tokens keep the key.
		var claims map[string]any
		if round == 1 {
			claims = DPoPBinding(jkt)
		}
		auth, next, err := m.RotateRefreshToken(ctx, refresh, grantFrom(nil, claims, nil))
		if err != nil {
			t.Fatalf("round %d: RotateRefreshToken() error = %v", round, err)
		}
		for _, tok := range []*Token{auth, next} {
			if b, err := dpop.BindingOf(tok.Claims); err != nil || b.JKT != jkt {
				t.Errorf("round %d: %s token binding = %+v, %v; want jkt %s", round, tok.Type, b, err, jkt)
			}
		}
		refresh = next.Signed
	}

	// A grant that binds to another key is refused, and the refresh token
	// is not used up.
	other := newDPoPSigner(t).Thumbprint()
	for _, claims := range []map[string]any{DPoPBinding(other), CertificateBinding(strings.Repeat("A", 43))} {
		if auth, _, err := m.RotateRefreshToken(ctx, refresh, grantFrom(nil, claims, nil)); !errors.Is(err, ErrClaim) {
			t.Fatalf("RotateRefreshToken(grant rebinding) = %v, %v; want ErrClaim", auth, err)
		}
	}
	if _, _, err := m.RotateRefreshToken(ctx, refresh, nil); err != nil {
		t.Fatalf("RotateRefreshToken() after refused grants: %v", err)
	}
}

func TestRotateUnboundStaysUnbound(t *testing.T) {
	m, _ := newRevocationManager(t, newMovableClock(), Config{})
	login, err := m.RefreshToken("bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, next, err := m.RotateRefreshToken(context.Background(), login.Signed, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []*Token{auth, next} {
		if _, ok := tok.Claims["cnf"]; ok {
			t.Errorf("%s token of an unbound login has cnf %v", tok.Type, tok.Claims["cnf"])
		}
	}
	// An unbound login can't be bound in passing by a grant: the refresh
	// token proves no key.
	login2, _ := m.RefreshToken("bob", nil)
	jkt := newDPoPSigner(t).Thumbprint()
	if _, _, err := m.RotateRefreshToken(context.Background(), login2.Signed, grantFrom(nil, DPoPBinding(jkt), nil)); !errors.Is(err, ErrClaim) {
		t.Errorf("RotateRefreshToken(grant binding an unbound login) error = %v, want ErrClaim", err)
	}
}

// TestRotateChecksProofInGrant shows where a refresh's proof is checked:
// in grant, against the refresh token's cnf.jkt. A proof by another key
// refuses the exchange and leaves the refresh token to its owner.
func TestRotateChecksProofInGrant(t *testing.T) {
	m, _ := newRevocationManager(t, newMovableClock(), Config{})
	verifier, err := dpop.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	owner, thief := newDPoPSigner(t), newDPoPSigner(t)
	login, err := m.RefreshToken("alice", DPoPBinding(owner.Thumbprint()))
	if err != nil {
		t.Fatal(err)
	}
	const refreshURL = "https://login.example/refresh"
	withProof := func(s *dpop.Signer) GrantFunc {
		return func(ctx context.Context, refresh *Token) (any, map[string]any, error) {
			call := dpop.Call{Method: "POST", URL: refreshURL, AccessToken: refresh.Signed}
			proof, err := s.Proof(call, "")
			if err != nil {
				return nil, nil, err
			}
			b, err := dpop.BindingOf(refresh.Claims)
			if err != nil {
				return nil, nil, err
			}
			if _, err := verifier.Verify(ctx, proof, call, b.JKT); err != nil {
				return nil, nil, err
			}
			return nil, nil, nil
		}
	}
	if _, _, err := m.RotateRefreshToken(context.Background(), login.Signed, withProof(thief)); !errors.Is(err, dpop.ErrProofInvalid) {
		t.Fatalf("RotateRefreshToken(proof of another key) error = %v, want dpop.ErrProofInvalid", err)
	}
	if _, _, err := m.RotateRefreshToken(context.Background(), login.Signed, withProof(owner)); err != nil {
		t.Fatalf("RotateRefreshToken(owner's proof) error = %v", err)
	}
}
