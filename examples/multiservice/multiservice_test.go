package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/manager"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out, demoTiming, demoDuration); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	if strings.Contains(text, "FAIL") || !strings.Contains(text, "every valid call passed and every invalid call was refused") {
		t.Fatalf("demo output:\n%s", text)
	}
	m := regexp.MustCompile(`rotated its signing key (\d+) times and removed (\d+) retired keys`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no rotation count in:\n%s", text)
	}
	if rotations, removals := atoi(t, m[1]), atoi(t, m[2]); rotations < 4 || removals < 1 {
		t.Errorf("%d rotations and %d removals, want at least 4 and 1:\n%s", rotations, removals, text)
	}
	// Orders reserved stock at inventory with exchanged tokens throughout.
	if !regexp.MustCompile(`stock reservations at inventory by orders, on behalf of customers: [1-9]\d*`).MatchString(text) {
		t.Errorf("no reservation at inventory:\n%s", text)
	}
	// Valid calls passed with tokens of several keys, every kind of invalid
	// call was tried and refused.
	if kids := regexp.MustCompile(`(?m)^es256-\d+ +[1-9]\d*$`).FindAllString(text, -1); len(kids) < 4 {
		t.Errorf("valid calls passed with tokens of %d keys, want at least 4:\n%s", len(kids), text)
	}
	for _, kind := range []string{
		"no token", "forged, published kid", "forged, random kid", "alg none", "bob's token, sub changed",
		"bob's token, alice's orders", "bob's token, placing an order", "bob's expired token",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(kind) + ` +[1-9]\d*$`).MatchString(text) {
			t.Errorf("no refused %q call:\n%s", kind, text)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTokenEndpoint(t *testing.T) {
	a, err := newAuthService(demoTiming)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler())
	t.Cleanup(srv.Close)
	post := func(form url.Values, id, secret string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if id != "" {
			req.SetBasicAuth(id, secret)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	grant := url.Values{"grant_type": {"client_credentials"}}

	tests := []struct {
		name       string
		form       url.Values
		id, secret string
		want       int
	}{
		{"alice", grant, "alice", demoSecret("alice"), http.StatusOK},
		{"wrong secret", grant, "alice", demoSecret("bob"), http.StatusUnauthorized},
		{"empty secret", grant, "alice", "", http.StatusUnauthorized},
		{"unknown client", grant, "mallory", demoSecret("mallory"), http.StatusUnauthorized},
		{"no credentials", grant, "", "", http.StatusUnauthorized},
		{"password grant", url.Values{"grant_type": {"password"}}, "alice", demoSecret("alice"), http.StatusBadRequest},
		{"no grant", url.Values{}, "alice", demoSecret("alice"), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(tt.form, tt.id, tt.secret)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want != http.StatusOK {
				return
			}
			var body tokenResponse
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			tok, err := a.m.Verify(context.Background(), body.AccessToken)
			if err != nil || tok.Subject != "alice" || tok.Scope != "orders:read orders:write" || body.TokenType != "Bearer" {
				t.Fatalf("token %+v, %v", tok, err)
			}
		})
	}
	if resp, err := srv.Client().Get(srv.URL + "/token"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /token = %v, %v; want 405", resp, err)
	}
}

func TestOrdersServiceNeedsTheJWKS(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := jwksURLOf(lis.Addr())
	lis.Close() // nothing answers there
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, m, err := newOrdersServer(ctx, url, http.DefaultClient, demoTiming, nil)
	if !errors.Is(err, manager.ErrJWKS) || s != nil || m != nil {
		t.Fatalf("newOrdersServer() = %v, %v, %v; want ErrJWKS", s, m, err)
	}
}

func TestTimingCheck(t *testing.T) {
	tests := []struct {
		name string
		t    timing
		ok   bool
	}{
		{"production", productionTiming, true},
		{"demo", demoTiming, true},
		{"announced no longer than the refresh", timing{tokenTTL: time.Second, rotate: time.Second, announce: 100 * time.Millisecond, refresh: 100 * time.Millisecond}, false},
		{"rotating before the announcement ends", timing{tokenTTL: time.Second, rotate: 300 * time.Millisecond, announce: 300 * time.Millisecond, refresh: 100 * time.Millisecond}, false},
	}
	for _, tt := range tests {
		if err := tt.t.check(); (err == nil) != tt.ok {
			t.Errorf("%s: check() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestJWKSURLOf(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"127.0.0.1:8081", "http://127.0.0.1:8081/.well-known/jwks.json"},
		{"[::]:8081", "http://127.0.0.1:8081/.well-known/jwks.json"},
		{"0.0.0.0:8081", "http://127.0.0.1:8081/.well-known/jwks.json"},
		{"[::1]:8081", "http://[::1]:8081/.well-known/jwks.json"},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := jwksURLOf(addr); got != tt.want {
			t.Errorf("jwksURLOf(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}
