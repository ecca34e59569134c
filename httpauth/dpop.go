package httpauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/binding"
)

// WithDPoP checks the proofs of DPoP-bound tokens (RFC 9449) with v: its
// replay cache (several servers share one, such as redisstore's), its
// window of iat, its algorithms and its nonces ([dpop.WithNonces]). A token
// whose cnf claim has jkt must come as "Authorization: DPoP <token>" with
// one proof in the DPoP header, whose htm and htu are the request's method
// and URL (see [WithPublicURL]); a token whose cnf has x5t#S256 must come
// over a TLS connection whose client certificate hashes to it. Either is
// refused with 401 and reason PROOF_MISSING when sent as a bearer token
// or without its proof, and PROOF_INVALID when the proof fails, with the
// challenge DPoP error="invalid_dpop_proof" (Bearer error="invalid_token"
// for certificates); when the proof lacks the nonce v requires, the
// challenge is DPoP error="use_dpop_nonce" and the DPoP-Nonce header holds
// the nonce to use. A nil v is ignored. By default, bound tokens are
// checked all the same, by a verifier with the dpop package's defaults and
// a replay cache in this process's memory: a bound token is never accepted
// as a bearer token.
func WithDPoP(v *dpop.Verifier) Option {
	return optionFunc(func(g *Guard) {
		if v != nil {
			g.binding = binding.New(v)
		}
	})
}

// WithPublicURL sets the public base URL of the server behind a proxy,
// such as "https://api.example.com", under which a DPoP proof's htu names
// a request: the base URL followed by the request's path. A URL that is
// not absolute http(s), or has a query or fragment, makes every route that
// needs a token invalid (Require panics, Compile returns the error). By
// default, the htu is the request's URL as the server received it: https
// over TLS, http without, its Host and its path. That Host is the client's
// to choose, so without this option a proof made for another server that
// shares the key is accepted here when it names the same path; set it
// whenever the server has a public name.
func WithPublicURL(baseURL string) Option {
	return optionFunc(func(g *Guard) {
		b, err := dpop.ParseBaseURL(baseURL)
		if err != nil {
			g.base, g.baseErr = nil, fmt.Errorf("%w: WithPublicURL: %w", protojwt.ErrInvalidOption, err)
			return
		}
		g.base, g.baseErr = &b, nil
	})
}

// presented returns what r presents to prove a bound token; the proofs
// and the URL are read only with the DPoP scheme.
func (g *Guard) presented(r *http.Request, dpopScheme bool) binding.Presented {
	p := binding.Presented{DPoP: dpopScheme, Method: r.Method}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		p.Certificate = r.TLS.PeerCertificates[0]
	}
	if dpopScheme {
		p.Proofs = r.Header["Dpop"]
		p.URL = g.requestURL(r)
	}
	return p
}

// requestURL returns the URL a proof's htu must name for r: its path as
// the client sent it (before any [http.StripPrefix]), under the public base
// URL, or under the scheme of the connection and r's Host.
func (g *Guard) requestURL(r *http.Request) string {
	path := r.RequestURI
	if !strings.HasPrefix(path, "/") {
		path = r.URL.RequestURI() // absolute-form, or a request built in a test
	}
	if g.base != nil {
		return g.base.MethodURL(path)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// proofChallenge returns the WWW-Authenticate challenge of a refused proof
// of possession; ok is false for other refusals.
func (g *Guard) proofChallenge(e *Error, desc string) (challenge string, ok bool) {
	if !proofReason(e.Reason) {
		return "", false
	}
	if errors.Is(e.Err, binding.ErrCertificate) {
		return g.challenge + `, error="invalid_token", error_description=` + quote(desc), true
	}
	code := "invalid_dpop_proof"
	if errors.Is(e.Err, dpop.ErrUseNonce) {
		code = "use_dpop_nonce"
	}
	return "DPoP realm=" + quote(g.realm) + `, error="` + code + `", error_description=` + quote(desc), true
}

// setNonce puts the nonce a client must use in the DPoP-Nonce header of
// w, when err says the proof lacked it: before any error handler runs, so
// that every refusal carries it.
func (g *Guard) setNonce(w http.ResponseWriter, err error) {
	if !errors.Is(err, dpop.ErrUseNonce) {
		return
	}
	if n := g.binding.Nonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n)
	}
}
