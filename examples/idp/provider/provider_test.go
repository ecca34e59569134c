package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// header returns the decoded JOSE header of a compact token.
func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestProvider(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer p.Stop()
	access, err := p.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if h := header(t, access); h["typ"] != "at+jwt" || h["kid"] != p.KeyIDs()[0] {
		t.Errorf("access token header %v", h)
	}
	id, userAccess, err := p.Login(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if h := header(t, id); h["typ"] == "at+jwt" {
		t.Errorf("ID token header %v", h)
	}
	if h := header(t, userAccess); h["typ"] != "at+jwt" {
		t.Errorf("login access token header %v", h)
	}
	kid, err := p.Rotate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	access, err = p.ServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if h := header(t, access); h["kid"] != kid {
		t.Errorf("after rotation, kid %v, want %s", h["kid"], kid)
	}
}

// TestOpaqueToken gets an opaque access token and introspects it as
// ResourceServer: active, with the service's claims.
func TestOpaqueToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer p.Stop()
	opaque, err := p.OpaqueServiceToken(ctx, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(opaque, ".") == 2 {
		t.Fatalf("the opaque token is a JWT")
	}
	form := url.Values{"token": {opaque}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/token/introspection", strings.NewReader(form.Encode()))
	req.SetBasicAuth(ResourceServer, p.ResourceServerSecret())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["active"] != true || got["client_id"] != "service" || got["scope"] != "orders:read" || got["aud"] != OpaqueResource {
		t.Errorf("introspection = %v", got)
	}
}
