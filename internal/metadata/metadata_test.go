package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		raw, err string // err: "" to accept, else a part of the error
	}{
		{"https://idp.example/keys", ""},
		{"https://idp.example:8443", ""},
		{"http://localhost:8080/x", ""},
		{"http://127.0.0.1/x", ""},
		{"http://[::1]:9000/x", ""},
		{"http://idp.example/keys", "must use https"},
		{"http://127.0.0.1.example.com/x", "must use https"},
		{"http://localhost.evil/x", "must use https"},
		{"https://user:pw@idp.example/keys", "carries credentials"},
		{"/keys", "not an absolute http(s) URL"},
		{"ftp://idp.example/keys", "not an absolute http(s) URL"},
		{"https:opaque", "not an absolute http(s) URL"},
		{"https://idp.example/%zz", "not an absolute http(s) URL"},
		{"", "not an absolute http(s) URL"},
	} {
		err := CheckURL("X", c.raw)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v, want nil", c.raw, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "X ")):
			t.Errorf("CheckURL(%q) = %v, want an error starting with X that says %q", c.raw, err, c.err)
		}
	}
}

func TestURLs(t *testing.T) {
	for _, c := range []struct {
		issuer string
		want   []string // nil: an error
	}{
		{"https://idp.example", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example/", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example/tenants/a%2Fb", []string{
			"https://idp.example/tenants/a%2Fb/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server/tenants/a%2Fb",
		}},
		{"https://idp.example/?tenant=a", nil},
		{"https://idp.example/?", nil},
		{"https://idp.example/#a", nil},
		{"http://idp.example", nil},
		{"idp.example", nil},
	} {
		got, err := URLs(c.issuer)
		if c.want == nil {
			if err == nil {
				t.Errorf("URLs(%q) = %q, want an error", c.issuer, got)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("URLs(%q) = %q, %v, want %q", c.issuer, got, err, c.want)
		}
	}
}

// provider serves metadata documents by path; a path not set is 404. It
// counts the requests of each path.
type provider struct {
	*httptest.Server
	docs map[string]func(w http.ResponseWriter)
	hits map[string]*atomic.Int32
}

func newProvider(t *testing.T) *provider {
	p := &provider{docs: map[string]func(http.ResponseWriter){}, hits: map[string]*atomic.Int32{}}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		p.hits[path] = new(atomic.Int32)
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := p.hits[r.URL.Path]; n != nil {
			n.Add(1)
		}
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "Accept", http.StatusNotAcceptable)
			return
		}
		serve := p.docs[r.URL.Path]
		if serve == nil {
			http.NotFound(w, r)
			return
		}
		serve(w)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) serve(path string, doc map[string]any) {
	body, _ := json.Marshal(doc)
	p.serveRaw(path, string(body))
}

func (p *provider) serveRaw(path, body string) {
	p.docs[path] = func(w http.ResponseWriter) { w.Write([]byte(body)) }
}

const (
	oidc    = "/.well-known/openid-configuration"
	rfc8414 = "/.well-known/oauth-authorization-server"
)

func TestRead(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		setup    func(p *provider)
		location string // the document read, "" when Read fails
		err      string // a part of Read's error
		notFound bool   // the error is ErrNotServed
		tried    int32  // requests of the RFC 8414 document
	}{
		{name: "OpenID Connect Discovery", setup: func(p *provider) {
			p.serve(oidc, map[string]any{"issuer": p.URL, "jwks_uri": p.URL + "/jwks"})
			p.serve(rfc8414, map[string]any{"issuer": p.URL, "jwks_uri": p.URL + "/other"})
		}, location: oidc},
		{name: "RFC 8414 when the first is not served", setup: func(p *provider) {
			p.serve(rfc8414, map[string]any{"issuer": p.URL, "jwks_uri": p.URL + "/jwks"})
		}, location: rfc8414, tried: 1},
		{name: "neither served", setup: func(p *provider) {}, err: "not found", notFound: true, tried: 1},
		{name: "a wrong document ends the search", setup: func(p *provider) {
			p.serve(oidc, map[string]any{"issuer": "https://evil.example", "jwks_uri": p.URL + "/jwks"})
			p.serve(rfc8414, map[string]any{"issuer": p.URL, "jwks_uri": p.URL + "/jwks"})
		}, err: `its issuer "https://evil.example" is not the configured issuer`},
		{name: "a server error ends the search", setup: func(p *provider) {
			p.docs[oidc] = func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }
			p.serve(rfc8414, map[string]any{"issuer": p.URL, "jwks_uri": p.URL + "/jwks"})
		}, err: "status 502"},
		{name: "issuer with a trailing slash", setup: func(p *provider) {
			p.serve(oidc, map[string]any{"issuer": p.URL + "/", "jwks_uri": p.URL + "/jwks"})
		}, err: "is not the configured issuer"},
		{name: "no issuer", setup: func(p *provider) {
			p.serve(oidc, map[string]any{"jwks_uri": p.URL + "/jwks"})
		}, err: "no issuer string"},
		{name: "a member twice", setup: func(p *provider) {
			p.serveRaw(oidc, `{"issuer":"`+p.URL+`","issuer":"https://evil.example"}`)
		}, err: "not a JSON object this package reads"},
		{name: "not JSON", setup: func(p *provider) { p.serveRaw(oidc, "<html>login</html>") }, err: "not a JSON object"},
		{name: "oversized", setup: func(p *provider) {
			p.serve(oidc, map[string]any{"issuer": p.URL, "pad": strings.Repeat("x", MaxSize)})
		}, err: "over 262144 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProvider(t)
			c.setup(p)
			doc, err := Read(ctx, p.Client(), p.URL, time.Minute)
			if c.location != "" {
				if err != nil || doc.Location != p.URL+c.location {
					t.Fatalf("Read = %q, %v, want the document at %s", doc.Location, err, c.location)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.err) || errors.Is(err, ErrNotServed) != c.notFound {
				t.Fatalf("Read = %v, want an error saying %q (ErrNotServed: %v)", err, c.err, c.notFound)
			}
			if got := p.hits[rfc8414].Load(); got != c.tried {
				t.Errorf("the RFC 8414 document was asked for %d times, want %d", got, c.tried)
			}
		})
	}
}

func TestReadTimeout(t *testing.T) {
	release := make(chan struct{})
	p := newProvider(t)
	p.docs[oidc] = func(http.ResponseWriter) { <-release }
	defer close(release)
	start := time.Now()
	_, err := Read(context.Background(), p.Client(), p.URL, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read = %v, want the timeout's error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Read took %v", d)
	}
}

func TestDocumentURL(t *testing.T) {
	const issuer = "https://idp.example"
	doc, err := Parse([]byte(`{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks",
		"token_endpoint":"http://idp.example/token","n":1,"empty":null,
		"introspection_endpoint":"https://u:p@idp.example/i"}`), issuer)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := doc.URL("jwks_uri"); err != nil || got != "https://idp.example/jwks" {
		t.Errorf("URL(jwks_uri) = %q, %v", got, err)
	}
	for name, want := range map[string]string{
		"token_endpoint":         "token_endpoint must use https",
		"introspection_endpoint": "introspection_endpoint carries credentials",
		"n":                      "n is not a string",
		"empty":                  "no empty",
		"absent":                 "no absent",
	} {
		if got, err := doc.URL(name); err == nil || got != "" || !strings.Contains(err.Error(), want) {
			t.Errorf("URL(%s) = %q, %v, want an error saying %q", name, got, err, want)
		}
	}
}

// FuzzParse checks that a document is accepted only when it is a JSON
// object whose issuer is the expected one, that a URL it yields passes
// CheckURL, and that nothing panics.
func FuzzParse(f *testing.F) {
	const issuer = "https://idp.example"
	for _, seed := range []string{
		`{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks"}`,
		`{"issuer":"https://idp.example","jwks_uri":"http://127.0.0.1/jwks"}`,
		`{"issuer":"https://idp.example","issuer":"https://evil.example","jwks_uri":"https://idp.example/jwks"}`,
		`{"issuer":"https://idp.example\u0000","jwks_uri":"https://idp.example/jwks"}`,
		`{"issuer":"https://idp.example","jwks_uri":"http://keys.example/jwks"}`,
		`[]`, `null`, `{"issuer":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := Parse(body, issuer)
		if err != nil {
			return
		}
		var members map[string]any
		if json.Unmarshal(body, &members) != nil || members["issuer"] != issuer {
			t.Fatalf("metadata of another issuer accepted: %s", body)
		}
		if uri, err := doc.URL("jwks_uri"); err == nil && CheckURL("jwks_uri", uri) != nil {
			t.Fatalf("jwks_uri %q accepted", uri)
		}
	})
}
