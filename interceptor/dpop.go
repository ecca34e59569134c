package interceptor

import (
	"context"
	"crypto/x509"
	"errors"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rpcadapter"
)

// WithDPoP checks the proofs of DPoP-bound tokens (RFC 9449) with v: its
// replay cache (several servers share one, such as redisstore's), its
// window of iat, its algorithms and its nonces ([dpop.WithNonces]). A token
// whose cnf claim has jkt must come as "DPoP <token>" in the authorization
// metadata with one proof in the "dpop" metadata, whose htm is POST and htu
// the method's URL (see [WithPublicURL]); a token whose cnf has x5t#S256
// must come over a TLS connection whose client certificate hashes to it.
// Either is refused with PROOF_MISSING when sent as a bearer token or
// without its proof, and with PROOF_INVALID when the proof fails. When
// the proof lacks the nonce v requires, the refusal carries the nonce to
// use in the "dpop-nonce" trailer. A nil v is an error. By default, bound
// tokens are checked all the same, by a verifier with the dpop package's
// defaults and a replay cache in this process's memory: a bound token is
// never accepted as a bearer token.
func WithDPoP(v *dpop.Verifier) Option {
	return setting(rpcadapter.DPoP(v))
}

// WithPublicURL sets the public base URL of the server behind a proxy,
// such as "https://api.example.com", under which a DPoP proof's htu names
// a method: "https://api.example.com/package.Service/Method". A URL that
// is not absolute http(s), or has a query or fragment, is an error. By
// default, the htu is built from the call: https over TLS, http without,
// and the :authority the client sent. That authority is the client's to
// choose, so without this option a proof made for another server that
// shares the key is accepted here when it names this method; set it
// whenever the server has a public name.
func WithPublicURL(baseURL string) Option {
	return setting(rpcadapter.PublicURL(baseURL))
}

// dpopKey is the metadata key of DPoP proofs.
const dpopKey = "dpop"

// nonceKey is the trailer that carries the nonce a client must use.
const nonceKey = "dpop-nonce"

// presented returns what the call of method, whose entry is e, presents to prove a bound
// token. The proofs and the method's URL are read only when the scheme is
// DPoP: a bound token sent as Bearer is refused without them, so bearer
// calls pay nothing for them.
func (i *Interceptor) presented(ctx context.Context, dpopScheme bool, method string, e *methodrules.Entry) binding.Presented {
	p := binding.Presented{DPoP: dpopScheme, Method: "POST"}
	var tls *credentials.TLSInfo
	if pr, ok := peer.FromContext(ctx); ok {
		if info, ok := pr.AuthInfo.(credentials.TLSInfo); ok {
			tls = &info
			p.Certificate = leaf(info.State.PeerCertificates)
		}
	}
	if dpopScheme {
		p.Proofs = metadata.ValueFromIncomingContext(ctx, dpopKey)
		var authority string
		if a := metadata.ValueFromIncomingContext(ctx, ":authority"); len(a) == 1 {
			authority = a[0]
		}
		p.URL = i.core.MethodURL(e, tls != nil, authority, method)
	}
	return p
}

// leaf returns the first of a connection's peer certificates, nil when
// there is none.
func leaf(certs []*x509.Certificate) *x509.Certificate {
	if len(certs) == 0 {
		return nil
	}
	return certs[0]
}

// nonce returns the trailer that tells the client the nonce to use, when
// err says the proof lacked it, and false otherwise.
func (i *Interceptor) nonce(err error) (metadata.MD, bool) {
	if !errors.Is(err, dpop.ErrUseNonce) {
		return nil, false
	}
	n := i.core.Nonce()
	if n == "" {
		return nil, false
	}
	return metadata.Pairs(nonceKey, n), true
}
