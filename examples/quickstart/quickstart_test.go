package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out, nil); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	if strings.Contains(text, "FAIL") || !strings.Contains(text, "every step behaved as documented") {
		t.Fatalf("demo output:\n%s", text)
	}
	if rows := strings.Count(text, "  ok\n"); rows < 30 {
		t.Fatalf("demo ran %d steps, want at least 30:\n%s", rows, text)
	}
}

func TestNewManagerDevelopmentSecret(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	t.Setenv("JWT_ISSUER", "")
	var logged []string
	m, err := newManager(func(format string, _ ...any) { logged = append(logged, format) })
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "JWT_SECRET is not set") {
		t.Fatalf("logged %q, want one line about JWT_SECRET", logged)
	}
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Claims["iss"]; got != "protojwt-quickstart" {
		t.Fatalf("iss = %v", got)
	}
}

func TestNewManagerFromEnvironment(t *testing.T) {
	t.Setenv("JWT_ISSUER", "example")
	t.Setenv("JWT_SECRET", strings.Repeat("s", 32))
	var logged []string
	if _, err := newManager(func(format string, _ ...any) { logged = append(logged, format) }); err != nil {
		t.Fatal(err)
	}
	if len(logged) != 0 {
		t.Fatalf("logged %q with JWT_SECRET set", logged)
	}
	t.Setenv("JWT_SECRET", "short")
	if _, err := newManager(func(string, ...any) {}); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}

func TestLogin(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	m, err := newManager(func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	a := &accounts{m: m}
	for _, c := range []struct{ user, password string }{
		{"alice", "builder"}, {"mallory", "builder"}, {"alice", ""}, {"", ""},
	} {
		if _, err := a.login(c.user, c.password, ""); !errors.Is(err, errLogin) {
			t.Errorf("login(%q, %q) error = %v, want errLogin", c.user, c.password, err)
		}
	}
	got, err := a.login("alice", "wonderland", "")
	if err != nil || got.Auth == "" || got.Refresh == "" {
		t.Fatalf("login(alice) = %+v, %v", got, err)
	}
	tok, err := m.Verify(context.Background(), got.Auth)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims["custom_claim"] != "Arbitrary Required Value" {
		t.Fatalf("alice's claims = %v", tok.Claims)
	}
}
