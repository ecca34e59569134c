package tokensource

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/protojwt/protojwt/internal/metadata"
)

// RoundTripper returns an [http.RoundTripper] that sends each request through
// base ([http.DefaultTransport] when nil) with "Authorization: Bearer
// <token>" from src (with [WithDPoP], "DPoP <token>" and a proof for the
// request's method and URL in the "DPoP" header), set on a clone: the
// caller's request is not changed.
// It refuses plain http:// to a host other than a loopback one unless
// [WithInsecureTransport] is given.
//
// The token goes with every request the transport carries: give it to an
// [http.Client] that calls your services only. A redirect that the
// [http.Client] follows to another host carries no token, as net/http drops
// an Authorization header that the caller set: the token goes to the
// host of the first request and its subdomains, and once a redirect has
// left them, to no later hop. An error of src is returned as is (inside
// the [http.Client]'s *[url.Error]), so errors.Is(err, [ErrLoginEnded]) works.
func RoundTripper(src Source, base http.RoundTripper, opts ...TransportOption) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	c := newTransportConfig(opts)
	return &roundTripper{src: src, base: base, insecure: c.insecure, dpop: c.dpop}
}

type roundTripper struct {
	src      Source
	base     http.RoundTripper
	insecure bool
	dpop     *DPoP
}

// RoundTrip sends req with the token.
func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.insecure && req.URL.Scheme != "https" && !metadata.Loopback(req.URL.Hostname()) {
		closeBody(req)
		return nil, errInsecure
	}
	if leftFirstHost(req) {
		return t.base.RoundTrip(req)
	}
	tok, err := t.src.Token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if tok == "" {
		return t.base.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	if t.dpop == nil {
		out.Header.Set("Authorization", "Bearer "+tok)
		return t.base.RoundTrip(out)
	}
	sent, err := t.prove(out, tok)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	fresh := t.dpop.learn(req.URL.Host, resp.Header.Get("DPoP-Nonce"), sent)
	// A resource server refuses with 401, an authorization server with 400
	// (RFC 9449 §8, §9); a new nonce is what makes a retry worth it.
	if !fresh || resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
		return resp, nil
	}
	retry := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil // the body is spent: the caller sees the refusal
		}
		if retry.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	if _, err := t.prove(retry, tok); err != nil {
		closeBody(retry)
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	resp.Body.Close()
	resp, err = t.base.RoundTrip(retry)
	if err == nil {
		t.dpop.learn(req.URL.Host, resp.Header.Get("DPoP-Nonce"), "")
	}
	return resp, err
}

// prove sets the DPoP authorization of out, a request to send, and
// returns the nonce its proof carries.
func (t *roundTripper) prove(out *http.Request, tok string) (string, error) {
	proof, nonce, err := t.dpop.proof(out.Method, out.URL.String(), tok, out.URL.Host)
	if err != nil {
		return "", fmt.Errorf("tokensource: DPoP proof: %w", err)
	}
	out.Header.Set("Authorization", "DPoP "+tok)
	out.Header.Set("DPoP", proof)
	return nonce, nil
}

// leftFirstHost reports whether req is a redirect that the [http.Client]
// follows and it, or a hop before it, goes to a host other than that of
// the first request or one of its subdomains: net/http's rule
// (shouldCopyHeaderOnRedirect) for the Authorization header a caller sets.
// The [http.Client]'s redirect request links to the response that caused it
// (Request.Response), and that response to the request before.
func leftFirstHost(req *http.Request) bool {
	if req.Response == nil {
		return false // not a redirect: most requests, and no allocation
	}
	first := req
	for n := 0; first.Response != nil; n++ {
		if n == maxRedirectHops || first.Response.Request == nil {
			return true // a chain no http.Client follows: send no token
		}
		first = first.Response.Request
	}
	parent := hostOf(first)
	for r := req; r != first; r = r.Response.Request {
		if !domainOrSubdomain(hostOf(r), parent) {
			return true
		}
	}
	return false
}

// maxRedirectHops is more than the 10 redirects of [http.Client]'s default
// policy.
const maxRedirectHops = 64

// hostOf returns the host name of req's URL, in lower case, without port.
func hostOf(req *http.Request) string {
	if req.URL == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(req.URL.Hostname(), "."))
}

// domainOrSubdomain reports whether sub is parent or a subdomain of it, as
// net/http's isDomainOrSubdomain does: an IP address matches only itself.
func domainOrSubdomain(sub, parent string) bool {
	if sub == parent {
		return true
	}
	if strings.ContainsAny(sub, ":%") || !strings.HasSuffix(sub, parent) || len(sub) <= len(parent) {
		return false
	}
	if _, err := netip.ParseAddr(parent); err == nil {
		return false
	}
	return sub[len(sub)-len(parent)-1] == '.'
}

// closeBody closes the body of a request that won't be sent, as a
// [RoundTripper] must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
