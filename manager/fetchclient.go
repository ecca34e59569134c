package manager

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxJWKSSize bounds the body of a JWK Set response: sets of identity
// providers take a few kilobytes, tens with certificate chains, and a
// larger body is refused as the fetch's failure rather than read.
const maxJWKSSize = 1 << 20

// fetchClient returns a copy of c for fetching the JWK Set at rawURL that
// refuses a response body over maxJWKSSize and a redirect that leaves
// https (or, for an http URL to a loopback host, one that goes to another
// host over http): every hop is checked, then c's own redirect policy
// applies.
func fetchClient(c *http.Client, rawURL string) *http.Client {
	fc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	fc.Transport = limitedTransport{base: base, max: maxJWKSSize}
	u, err := url.Parse(rawURL)
	secure := err == nil && u.Scheme == "https"
	next := c.CheckRedirect
	fc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if secure && req.URL.Scheme != "https" {
			return errors.New("JWK Set redirect leaves https")
		}
		if err := checkJWKSURL(req.URL.String()); err != nil {
			return fmt.Errorf("JWK Set redirect refused: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("JWK Set: stopped after 10 redirects")
		}
		return nil
	}
	return &fc
}

// errJWKSTooLarge refuses a JWK Set response over maxJWKSSize.
var errJWKSTooLarge = fmt.Errorf("JWK Set response is over %d bytes", maxJWKSSize)

// limitedTransport refuses response bodies over max bytes: at once when
// the response says its length, else when reading reaches it.
type limitedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, errJWKSTooLarge
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.max}
	return resp, nil
}

// limitedBody reads at most left bytes, then fails with errJWKSTooLarge
// if there are more.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the bound from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errJWKSTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
