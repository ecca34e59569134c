package tokensource

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// redirector is an httptest server that records the Authorization header
// of each request by path and answers /to?url=X with a redirect to X.
type redirector struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]string
}

func startRedirector(t *testing.T) *redirector {
	t.Helper()
	r := &redirector{seen: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen[req.URL.Path] = req.Header.Get("Authorization")
		r.mu.Unlock()
		if to := req.URL.Query().Get("url"); to != "" {
			http.Redirect(w, req, to, http.StatusFound)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// url returns the server's URL with host name host (127.0.0.1 or
// localhost: two host names of one loopback server).
func (r *redirector) url(host, path string) string {
	return strings.Replace(r.srv.URL, "127.0.0.1", host, 1) + path
}

func (r *redirector) authorization(path string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.seen[path]
	return v, ok
}

// TestRoundTripperRedirects: the RoundTripper sends the token on a redirect
// exactly where net/http sends an Authorization header set by the caller:
// to the first request's host name (any port), never to another host, and
// never again once a redirect has left it. Both run against the same real
// redirecting servers, reached as 127.0.0.1 and as localhost.
func TestRoundTripperRedirects(t *testing.T) {
	a, b := startRedirector(t), startRedirector(t)
	q := func(u string) string { return "?url=" + u }
	tests := []struct {
		name string
		url  func() string
		last string // the path of the last hop
		want bool   // the last hop carries the token
	}{
		{"no redirect", func() string { return a.url("127.0.0.1", "/end") }, "/end", true},
		{"same host, same port", func() string { return a.url("127.0.0.1", "/hop"+q(a.url("127.0.0.1", "/end"))) }, "/end", true},
		{"same host name, other port", func() string { return a.url("127.0.0.1", "/hop"+q(b.url("127.0.0.1", "/end"))) }, "/end", true},
		{"127.0.0.1 to localhost", func() string { return a.url("127.0.0.1", "/hop"+q(a.url("localhost", "/end"))) }, "/end", false},
		{"localhost to 127.0.0.1", func() string { return a.url("localhost", "/hop"+q(b.url("127.0.0.1", "/end"))) }, "/end", false},
		{"away and back", func() string {
			back := a.url("127.0.0.1", "/end")
			return a.url("127.0.0.1", "/hop"+q(b.url("localhost", "/away"+q(back))))
		}, "/end", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, client := range []struct {
				name string
				do   func(url string) error
			}{
				{"RoundTripper", func(url string) error {
					resp, err := (&http.Client{Transport: RoundTripper(Static("a.b.c"), nil)}).Get(url)
					if err == nil {
						resp.Body.Close()
					}
					return err
				}},
				{"net/http, caller's header", func(url string) error {
					req, err := http.NewRequest(http.MethodGet, url, nil)
					if err != nil {
						return err
					}
					req.Header.Set("Authorization", "Bearer a.b.c")
					resp, err := http.DefaultClient.Do(req)
					if err == nil {
						resp.Body.Close()
					}
					return err
				}},
			} {
				a.seen, b.seen = map[string]string{}, map[string]string{}
				if err := client.do(tt.url()); err != nil {
					t.Fatalf("%s: %v", client.name, err)
				}
				got, ok := a.authorization(tt.last)
				if !ok {
					got, ok = b.authorization(tt.last)
				}
				if !ok {
					t.Fatalf("%s: %s was not reached", client.name, tt.last)
				}
				if carried := got == "Bearer a.b.c"; carried != tt.want || (!carried && got != "") {
					t.Fatalf("%s: the last hop carried %q, want the token: %v", client.name, got, tt.want)
				}
			}
		})
	}
}

func TestDomainOrSubdomain(t *testing.T) {
	tests := []struct {
		sub, parent string
		want        bool
	}{
		{"api.example.com", "api.example.com", true},
		{"eu.api.example.com", "api.example.com", true},
		{"example.com", "api.example.com", false},
		{"evilapi.example.com", "api.example.com", false},
		{"localhost", "127.0.0.1", false},
		{"127.0.0.1", "localhost", false},
		{"x.127.0.0.1", "127.0.0.1", false},
		{"::1", "::1", true},
		{"::1%.api.example.com", "api.example.com", false},
		{"", "api.example.com", false},
	}
	for _, tt := range tests {
		if got := domainOrSubdomain(tt.sub, tt.parent); got != tt.want {
			t.Errorf("domainOrSubdomain(%q, %q) = %v, want %v", tt.sub, tt.parent, got, tt.want)
		}
	}
}

// TestLeftFirstHostChains: redirect chains built by hand, including ones
// that no http.Client makes.
func TestLeftFirstHostChains(t *testing.T) {
	hop := func(rawURL string, prev *http.Request) *http.Request {
		req, err := http.NewRequest(http.MethodGet, rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			req.Response = &http.Response{Request: prev}
		}
		return req
	}
	first := hop("https://api.example.com/a", nil)
	tests := []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"first request", first, false},
		{"same host", hop("https://api.example.com/b", first), false},
		{"subdomain", hop("https://eu.api.example.com/b", first), false},
		{"same host, upper case", hop("https://API.example.com/b", first), false},
		{"parent domain", hop("https://example.com/b", first), true},
		{"other host", hop("https://evil.example/b", first), true},
		{"back after leaving", hop("https://api.example.com/c", hop("https://evil.example/b", first)), true},
		{"response without request", func() *http.Request {
			r := hop("https://api.example.com/b", nil)
			r.Response = &http.Response{}
			return r
		}(), true},
		{"a cycle", func() *http.Request {
			a := hop("https://api.example.com/a", nil)
			b := hop("https://api.example.com/b", a)
			a.Response = &http.Response{Request: b}
			return b
		}(), true},
	}
	for _, tt := range tests {
		if got := leftFirstHost(tt.req); got != tt.want {
			t.Errorf("%s: leftFirstHost = %v, want %v", tt.name, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { leftFirstHost(first) }); n != 0 {
		t.Errorf("leftFirstHost of a first request allocates %v times", n)
	}
}
