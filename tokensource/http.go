package tokensource

import (
	"net/http"
	"net/netip"
)

// RoundTripper returns an http.RoundTripper that sends each request through
// base (http.DefaultTransport when nil) with "Authorization: Bearer
// <token>" from src, set on a clone: the caller's request is not changed.
// It refuses plain http:// to a host other than a loopback one unless
// WithInsecureTransport is given.
//
// The token goes with every request the transport carries, redirects
// included: give it to an http.Client that calls your services only. An
// error of src is returned as is (inside the http.Client's *url.Error), so
// errors.Is(err, ErrLoginEnded) works.
func RoundTripper(src Source, base http.RoundTripper, opts ...TransportOption) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &roundTripper{src: src, base: base, insecure: newTransportConfig(opts).insecure}
}

type roundTripper struct {
	src      Source
	base     http.RoundTripper
	insecure bool
}

// RoundTrip sends req with the token.
func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.insecure && req.URL.Scheme != "https" && !loopback(req.URL.Hostname()) {
		closeBody(req)
		return nil, errInsecure
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
	out.Header.Set("Authorization", "Bearer "+tok)
	return t.base.RoundTrip(out)
}

// closeBody closes the body of a request that won't be sent, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// loopback reports whether host names this machine: "localhost" or a
// loopback IP address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}
