package manager

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// twoIssuers returns Issuers of an HS256 Manager of issuer a and an ES256
// one of issuer b, with an audience of its own.
func twoIssuers(t testing.TB) (is *Issuers, a, b *Manager) {
	t.Helper()
	a = newTestManager(t, Config{Issuer: "https://a.example", Algorithm: "HS256", Secret: testSecret})
	b = newTestManager(t, Config{Issuer: "https://b.example", Algorithm: "ES256", PrivateKey: newP256(t), Audience: []string{"orders"}})
	is, err := NewIssuers(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return is, a, b
}

// TestIssuersRoute checks that each token is verified by the Manager of its
// issuer alone, and that Token.Issuer says which.
func TestIssuersRoute(t *testing.T) {
	is, a, b := twoIssuers(t)
	ctx := context.Background()
	for _, m := range []*Manager{a, b} {
		tok, err := m.AuthToken("alice", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := is.Verify(ctx, tok.Signed)
		if err != nil {
			t.Fatalf("%s: Verify: %v", m.issuer, err)
		}
		if got.Issuer != m.issuer || got.Subject != "alice" {
			t.Errorf("%s: token of issuer %q, subject %q", m.issuer, got.Issuer, got.Subject)
		}
	}
	if got := is.Names(); len(got) != 2 || got[0] != "https://a.example" || got[1] != "https://b.example" {
		t.Errorf("Names = %q", got)
	}
	if m, ok := is.Manager("https://b.example"); !ok || m != b {
		t.Errorf("Manager(b) = %v, %v", m, ok)
	}
}

// TestIssuersRefuse tries what an attacker sends to a service that trusts
// several issuers: an unknown issuer, one issuer's claims signed with
// another's key, a token one issuer's rules refuse, and garbage.
func TestIssuersRefuse(t *testing.T) {
	is, a, b := twoIssuers(t)
	ctx := context.Background()
	other := newTestManager(t, Config{Issuer: "https://evil.example", Algorithm: "HS256", Secret: testSecret})
	unknown, err := other.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Issuer a's secret signing a token that claims to be b's: b's Manager
	// checks it with b's key and algorithm, not a's.
	forged := newTestManager(t, Config{Issuer: "https://b.example", Algorithm: "HS256", Secret: testSecret})
	forgedTok, err := forged.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// b requires its audience, a does not: a's token never reaches b's rules.
	noAud := newTestManager(t, Config{Issuer: "https://b.example", Algorithm: "ES256", PrivateKey: newP256(t)})
	noAudTok, err := noAud.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	aTok, err := a.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(aTok.Signed, ".")
	withPayload := func(payload string) string {
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + parts[2]
	}
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"unknown issuer", unknown.Signed, ErrIssuer},
		{"b's iss with another key and algorithm", forgedTok.Signed, ErrAlgorithm},
		{"b's iss, b's key unknown", noAudTok.Signed, ErrSignature},
		{"a's signature, b's iss", withPayload(`{"iss":"https://b.example","sub":"alice"}`), ErrAlgorithm},
		{"no iss", withPayload(`{"sub":"alice"}`), ErrMalformed},
		{"iss not a string", withPayload(`{"iss":["https://a.example"]}`), ErrMalformed},
		{"nested iss only", withPayload(`{"act":{"iss":"https://a.example"}}`), ErrMalformed},
		{"empty", "", ErrNoToken},
		{"one segment", "abc", ErrMalformed},
		{"oversized", strings.Repeat("a", 9<<10) + "." + parts[1] + "." + parts[2], ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := is.Verify(ctx, tt.token)
			if tok != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, %v; want %v", tok, err, tt.wantErr)
			}
		})
	}
	_ = b
}

func TestNewIssuersErrors(t *testing.T) {
	a := newTestManager(t, Config{Issuer: "https://a.example", Algorithm: "HS256", Secret: testSecret})
	a2 := newTestManager(t, Config{Issuer: "https://a.example", Algorithm: "HS256", Secret: testSecret})
	for name, ms := range map[string][]*Manager{
		"none":      nil,
		"nil":       {a, nil},
		"duplicate": {a, a2},
	} {
		t.Run(name, func(t *testing.T) {
			if is, err := NewIssuers(ms...); is != nil || !errors.Is(err, ErrConfig) {
				t.Fatalf("NewIssuers = %v, %v; want ErrConfig", is, err)
			}
		})
	}
}

// BenchmarkIssuers is a warm Verify through Issuers of two issuers next to
// the same Verify on the Manager alone, for the issuer whose cache is
// looked up first and the second, and a token of no listed issuer next to
// a malformed one.
func BenchmarkIssuers(b *testing.B) {
	is, a, second := twoIssuers(b)
	tok, err := a.AuthToken("alice", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	secondTok, err := second.AuthToken("alice", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	other := newTestManager(b, Config{Issuer: "https://evil.example", Algorithm: "HS256", Secret: testSecret})
	unknown, err := other.AuthToken("alice", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bm := range []struct {
		name  string
		v     Verifier
		token string
		ok    bool
	}{
		{"warm/Manager", a, tok.Signed, true},
		{"warm/Issuers", is, tok.Signed, true},
		{"warm/Manager-second", second, secondTok.Signed, true},
		{"warm/Issuers-second", is, secondTok.Signed, true},
		{"unknown-issuer/Issuers", is, unknown.Signed, false},
		{"malformed/Manager", a, "a.b.c", false},
		{"malformed/Issuers", is, "a.b.c", false},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.v.Verify(ctx, bm.token); (err == nil) != bm.ok {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestIssuersCached checks the cache lookups that spare a warm token the
// reading of its issuer: only the Manager that verified a token finds it,
// counts stay true (no miss counted by the Managers merely asked), a
// cached token whose time is over is refused, and warm and unknown-issuer
// calls allocate nothing.
func TestIssuersCached(t *testing.T) {
	clock := newMovableClock()
	a := newTestManager(t, Config{Issuer: "https://a.example", Algorithm: "HS256", Secret: testSecret}, WithClock(clock.now))
	b := newTestManager(t, Config{Issuer: "https://b.example", Algorithm: "ES256", PrivateKey: newP256(t)}, WithClock(clock.now))
	is, err := NewIssuers(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := b.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := is.Verify(ctx, tok.Signed)
		if err != nil || got.Issuer != "https://b.example" {
			t.Fatalf("Verify = %v, %v", got, err)
		}
	}
	if s := a.CacheStats(); s.Hits != 0 || s.Misses != 0 || s.Size != 0 {
		t.Errorf("a's cache: %+v, want untouched", s)
	}
	if s := b.CacheStats(); s.Hits != 2 || s.Misses != 1 || s.Size != 1 {
		t.Errorf("b's cache: %+v, want 2 hits, 1 miss", s)
	}

	other := newTestManager(t, Config{Issuer: "https://evil.example", Algorithm: "HS256", Secret: testSecret})
	unknown, err := other.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !raceEnabled {
		if n := testing.AllocsPerRun(100, func() { is.Verify(ctx, tok.Signed) }); n != 0 {
			t.Errorf("warm Verify through Issuers: %v allocations", n)
		}
		if n := testing.AllocsPerRun(100, func() { is.Verify(ctx, unknown.Signed) }); n != 0 {
			t.Errorf("Verify of an unknown issuer: %v allocations", n)
		}
	}

	clock.add(2 * time.Hour) // past exp: the cached token is not returned again
	if got, err := is.Verify(ctx, tok.Signed); got != nil || !errors.Is(err, ErrExpired) {
		t.Errorf("Verify after exp = %v, %v; want ErrExpired", got, err)
	}
}
