package connectauth

import (
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rpcadapter"
)

// WithDPoP checks the proofs of DPoP-bound tokens (RFC 9449) with v: its
// replay cache (several servers share one, such as redisstore's), its
// window of iat, its algorithms and its nonces ([dpop.WithNonces]). A token
// whose cnf claim has jkt must come as "DPoP <token>" with one proof in
// the DPoP header, whose htm is POST and htu the procedure's URL (see
// [WithPublicURL]); a token whose cnf has x5t#S256 must come over a TLS
// connection whose client certificate hashes to it. Either is refused with
// PROOF_MISSING when sent as a bearer token or without its proof, and with
// PROOF_INVALID when the proof fails; when the proof lacks the nonce v
// requires, the refusal carries the nonce to use in its DPoP-Nonce header.
//
// Only [Interceptor.Wrap] sees the host and the TLS state of a request, so
// only Wrap checks proofs and certificates: a bound token that reaches the
// interceptor without Wrap having checked it is refused with
// PROOF_MISSING. Serve the handlers through Wrap to accept bound tokens.
// A nil v is an error. By default, bound tokens are checked all the same,
// by a verifier with the dpop package's defaults and a replay cache in
// this process's memory: a bound token is never accepted as a bearer token.
func WithDPoP(v *dpop.Verifier) Option {
	return setting(rpcadapter.DPoP(v))
}

// WithPublicURL sets the public base URL of the server behind a proxy,
// such as "https://api.example.com", under which a DPoP proof's htu names
// a procedure: "https://api.example.com/package.Service/Method". A URL
// that is not absolute http(s), or has a query or fragment, is an error.
// By default, the htu is built from the request: https over TLS, http
// without, and the Host the client sent. That host is the client's to
// choose, so without this option a proof made for another server that
// shares the key is accepted here when it names this procedure; set it
// whenever the server has a public name.
func WithPublicURL(baseURL string) Option {
	return setting(rpcadapter.PublicURL(baseURL))
}

// dpopHeader is the header of DPoP proofs, canonical.
const dpopHeader = "Dpop"

// presented returns what the request r of procedure, whose entry is e,
// presents to prove a bound token; the proofs and the URL are read only with the DPoP scheme.
func (i *Interceptor) presented(r *http.Request, dpopScheme bool, procedure string, e *methodrules.Entry) binding.Presented {
	p := binding.Presented{DPoP: dpopScheme, Method: http.MethodPost}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		p.Certificate = r.TLS.PeerCertificates[0]
	}
	if dpopScheme {
		p.Proofs = r.Header[dpopHeader]
		p.URL = i.core.MethodURL(e, r.TLS != nil, r.Host, procedure)
	}
	return p
}

// withNonce returns e, with the nonce the client must use in its
// DPoP-Nonce header when err says the proof lacked it.
func (i *Interceptor) withNonce(e *connect.Error, err error) *connect.Error {
	if errors.Is(err, dpop.ErrUseNonce) {
		if n := i.core.Nonce(); n != "" {
			e.Meta().Set("DPoP-Nonce", n)
		}
	}
	return e
}
