// Package binding is the check every protojwt adapter makes of a
// sender-constrained token before its rule: a token whose cnf claim binds
// it to a DPoP key (RFC 9449) must come with the DPoP scheme and a valid
// proof of that key for this call, and one bound to a client certificate
// (RFC 8705) over a connection that presented that certificate. A bound
// token is never let through as a bearer token.
//
//	p := binding.Presented{DPoP: dpopScheme, Proofs: md["dpop"], Method: "POST", URL: htu, Certificate: leaf}
//	err := checker.Check(ctx, tok, raw, &p) // after Verify, before the rule
//
// The adapter gives what its transport shows; a nil or Blind *Presented
// means it shows neither the host nor the TLS state (connect's interceptor
// without Wrap), and a bound token is then refused with
// [dpop.ErrProofMissing].
package binding

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/tokenview"
	"github.com/protojwt/protojwt/manager"
)

// Presented is what a call presents besides its token.
type Presented struct {
	// DPoP is set when the token came with the DPoP authorization scheme
	// rather than Bearer.
	DPoP bool
	// Proofs are the values of the DPoP header (gRPC metadata "dpop").
	Proofs []string
	// Method and URL are what a proof's htm and htu must name: "POST" and
	// the method's URL for gRPC and connect, the request's for HTTP.
	Method, URL string
	// Certificate is the leaf certificate the client presented on the
	// connection, nil when none.
	Certificate *x509.Certificate
	// Blind is set when the transport shows neither the host nor the TLS
	// state (connect's interceptor): a bound token is refused, since its
	// proof can't be checked, as when p is nil.
	Blind bool
}

// Checker checks the binding of tokens. The zero Checker (and a nil one)
// checks DPoP proofs with a default [dpop.Verifier], one per process, whose
// replay cache is in memory: a bound token is checked even where DPoP was
// not configured.
type Checker struct {
	verifier *dpop.Verifier
}

// New returns a Checker of proofs with v; nil means the default verifier.
func New(v *dpop.Verifier) *Checker { return &Checker{verifier: v} }

// defaultVerifier is the verifier of Checkers given none, made once.
var defaultVerifier = sync.OnceValue(func() *dpop.Verifier {
	v, _ := dpop.NewVerifier() // given no option, it can't fail
	return v
})

// Verifier returns the [dpop.Verifier] c checks proofs with.
func (c *Checker) Verifier() *dpop.Verifier {
	if c == nil || c.verifier == nil {
		return defaultVerifier()
	}
	return c.verifier
}

// Nonce returns the nonce a client must put in its next proof, "" when
// none is required: for the DPoP-Nonce header of a refusal.
func (c *Checker) Nonce() string { return c.Verifier().Nonce() }

// Errors of a binding that are not the dpop package's own: the first three
// wrap [dpop.ErrProofMissing] or [dpop.ErrProofInvalid]; errStore marks a
// replay cache that failed.
var (
	errAsBearer    = fmt.Errorf("%w: a DPoP-bound token sent with the Bearer scheme", dpop.ErrProofMissing)
	errNotDPoP     = fmt.Errorf("%w: the DPoP scheme with a token that is not DPoP-bound", dpop.ErrProofInvalid)
	errUncheckable = fmt.Errorf("%w: a bound token where its proof can't be checked (connect: serve through Wrap)", dpop.ErrProofMissing)
	errStore       = errors.New("protojwt: DPoP replay cache")
)

// ErrCertificate marks an error about the client certificate of a
// certificate-bound token, whose HTTP challenge is Bearer
// error="invalid_token" rather than DPoP's.
var ErrCertificate = errors.New("protojwt: client certificate")

// Check checks that the call p presents holds the binding of tok, a token
// verified from raw. An unbound token passes unless it came with the DPoP
// scheme. A DPoP-bound token needs the DPoP scheme and one proof that
// [dpop.Verifier.Verify] accepts for p's method and URL, raw and the token's
// cnf.jkt; a certificate-bound one needs p's certificate to hash to its
// cnf x5t#S256; a token bound both ways needs both. Errors wrap
// [dpop.ErrProofMissing] or [dpop.ErrProofInvalid] (with [dpop.ErrUseNonce] when
// the proof lacks the server's nonce), certificate ones [ErrCertificate] too;
// a replay cache that fails wraps [manager.ErrRevocationUnavailable], so that
// the call is refused for now.
func (c *Checker) Check(ctx context.Context, tok *manager.Token, raw string, p *Presented) error {
	b, err := Of(tok)
	if err != nil {
		return err
	}
	if !b.Bound() {
		if p != nil && p.DPoP {
			return errNotDPoP
		}
		return nil
	}
	if p == nil || p.Blind {
		return errUncheckable
	}
	if b.DPoP() {
		if err := c.checkProof(ctx, b, raw, p); err != nil {
			return err
		}
	} else if p.DPoP {
		return errNotDPoP
	}
	if b.Certificate() {
		if err := dpop.CheckCertificate(b, p.Certificate); err != nil {
			return fmt.Errorf("%w: %w", ErrCertificate, err)
		}
	}
	return nil
}

// checkProof checks the DPoP proof of a call with a DPoP-bound token.
func (c *Checker) checkProof(ctx context.Context, b dpop.Binding, raw string, p *Presented) error {
	if !p.DPoP {
		return errAsBearer
	}
	proof, err := dpop.ProofFrom(p.Proofs)
	if err != nil {
		return err
	}
	_, err = c.Verifier().Verify(ctx, proof, dpop.Call{Method: p.Method, URL: p.URL, AccessToken: raw}, b.JKT)
	if err != nil && !errors.Is(err, dpop.ErrProofInvalid) && !errors.Is(err, dpop.ErrProofMissing) {
		// The replay cache could not answer: the proof can't be checked
		// now, and is refused, as a revocation store that does not answer.
		return fmt.Errorf("%w: %w: %w", manager.ErrRevocationUnavailable, errStore, err)
	}
	return err
}

// Of returns the binding of tok, as [dpop.BindingOf] reads it. The binding
// is read from what the Manager decoded, which no handler can reach: a
// handler that deletes cnf from its (shared, cached) Token must not turn
// the token into a bearer token for later calls. A Token no Manager built
// is read as it is.
func Of(tok *manager.Token) (dpop.Binding, error) {
	v := tokenview.Of(tok)
	if v == nil {
		return dpop.BindingOf(tok.Claims)
	}
	if !v.HasCnf {
		return dpop.Binding{}, nil
	}
	return dpop.BindingOf(map[string]any{"cnf": v.Cnf})
}
