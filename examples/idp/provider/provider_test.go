package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
