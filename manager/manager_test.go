package manager

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the fixed time of the managers under test.
var testNow = time.Unix(1_800_000_000, 0).UTC()

func testClock() time.Time { return testNow }

const testIssuer = "https://issuer.test"

// testSecret is 32 bytes: the shortest secret New accepts.
var testSecret = []byte("s3cr3t-for-tests-0123456789abcde")

// newTestManager returns a Manager for cfg on the test clock, with
// testIssuer as its default issuer.
func newTestManager(tb testing.TB, cfg Config, opts ...Option) *Manager {
	tb.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = testIssuer
	}
	m, err := New(cfg, append([]Option{WithClock(testClock)}, opts...)...)
	if err != nil {
		tb.Fatalf("New() error = %v", err)
	}
	return m
}

// algorithmConfigs returns a signing Config for each algorithm.
func algorithmConfigs(tb testing.TB) map[string]Config {
	tb.Helper()
	rsaKey, ecKeys := testKey(tb, "rsa"), map[string]crypto.Signer{
		"ES256": testKey(tb, "p256"), "ES384": testKey(tb, "p384"), "ES512": testKey(tb, "p521"),
	}
	cfgs := map[string]Config{}
	for name, alg := range algorithms {
		cfg := Config{Issuer: testIssuer, Algorithm: name, KeyID: "kid-" + name}
		switch alg.family {
		case familyHMAC:
			cfg.Secret = testSecret
		case familyRSA:
			cfg.PrivateKey = rsaKey
		case familyECDSA:
			cfg.PrivateKey = ecKeys[name]
		case familyEdDSA:
			cfg.PrivateKey = testKey(tb, "ed25519")
		}
		cfgs[name] = cfg
	}
	return cfgs
}

func TestRoundTripEveryAlgorithm(t *testing.T) {
	cfgs := algorithmConfigs(t)
	if len(cfgs) != 13 {
		t.Fatalf("%d algorithms, want 13", len(cfgs))
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, cfg)
			auth, err := m.AuthToken("alice", []any{"read", "write"}, map[string]any{"tenant": "acme"})
			if err != nil {
				t.Fatalf("AuthToken() error = %v", err)
			}
			refresh, err := m.RefreshToken("alice", nil)
			if err != nil {
				t.Fatalf("RefreshToken() error = %v", err)
			}
			verifiers := []*Manager{m}
			if cfg.PrivateKey != nil {
				verifiers = append(verifiers, newTestManager(t, Config{
					Algorithm: name, PublicKey: cfg.PrivateKey.Public(),
				}))
			}
			for _, v := range verifiers {
				for _, issued := range []*Token{auth, refresh} {
					got, err := v.Verify(context.Background(), issued.Signed)
					if err != nil {
						t.Fatalf("Verify(%s token) error = %v", issued.Type, err)
					}
					assertSameToken(t, got, issued)
				}
			}
			if header := decodeSegment(t, auth.Signed, 0); header["alg"] != name || header["kid"] != cfg.KeyID || header["typ"] != "JWT" {
				t.Errorf("header = %v, want alg %s, typ JWT, kid %s", header, name, cfg.KeyID)
			}
		})
	}
}

// assertSameToken fails t unless got and want describe the same token.
func assertSameToken(t *testing.T, got, want *Token) {
	t.Helper()
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("token = %s\nwant %s", gotJSON, wantJSON)
	}
}

// decodeSegment decodes the JSON object of segment i of a compact token.
func decodeSegment(t *testing.T, signed string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(signed, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIssuedTokens(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, AuthMaxAge: 90 * time.Second})
	scope := map[string]any{"admin": true, "projects": []string{"p1"}}
	auth, err := m.AuthToken("alice", scope, map[string]any{"tenant": "acme", "level": 7})
	if err != nil {
		t.Fatal(err)
	}
	wantClaims := map[string]any{
		"iss": testIssuer, "sub": "alice", "type": "auth",
		"iat": float64(testNow.Unix()), "nbf": float64(testNow.Unix()), "exp": float64(testNow.Unix() + 90),
		"scope":  map[string]any{"admin": true, "projects": []any{"p1"}},
		"tenant": "acme", "level": float64(7), "jti": auth.ID,
	}
	assertJSONEqual(t, auth.Claims, wantClaims)
	assertJSONEqual(t, decodeSegment(t, auth.Signed, 1), wantClaims)
	if _, ok := decodeSegment(t, auth.Signed, 0)["kid"]; ok {
		t.Error("kid header present without Config.KeyID")
	}
	if auth.Type != Auth || auth.Subject != "alice" || !auth.IsSigned() ||
		!auth.IssuedAt.Equal(testNow) || !auth.ExpiresAt.Equal(testNow.Add(90*time.Second)) {
		t.Errorf("token fields = %+v", auth)
	}
	assertJSONEqual(t, auth.Scope, wantClaims["scope"])
	if id, err := base64.RawURLEncoding.DecodeString(auth.ID); err != nil || len(id) != 16 {
		t.Errorf("jti %q is not 128 bits of base64url", auth.ID)
	}

	refresh, err := m.RefreshToken("alice", map[string]any{"device": "d1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := refresh.Claims["scope"]; ok || refresh.Scope != nil {
		t.Error("refresh token has a scope")
	}
	if refresh.Type != Refresh || !refresh.ExpiresAt.Equal(testNow.Add(defaultRefreshMaxAge)) {
		t.Errorf("refresh token = %+v", refresh)
	}
	if refresh.ID == auth.ID {
		t.Error("two tokens share a jti")
	}
}

func assertJSONEqual(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("got %s\nwant %s", g, w)
	}
}

func TestScopeOmittedWhenNil(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	tests := []struct {
		name      string
		scope     any
		wantScope bool
	}{
		{"nil", nil, false},
		{"nil map", map[string]any(nil), false},
		{"nil slice", []string(nil), false},
		{"nil pointer", (*struct{})(nil), false},
		{"empty string", "", true},
		{"false", false, true},
		{"zero", 0, true},
		{"empty map", map[string]any{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := m.AuthToken("alice", tt.scope, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := decodeSegment(t, tok.Signed, 1)["scope"]; ok != tt.wantScope {
				t.Errorf("scope claim present = %v, want %v", ok, tt.wantScope)
			}
		})
	}
}

func TestAudienceClaim(t *testing.T) {
	tests := []struct {
		audience []string
		want     any
	}{
		{nil, nil},
		{[]string{"api"}, "api"},
		{[]string{"api", "admin"}, []any{"api", "admin"}},
	}
	for _, tt := range tests {
		m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, Audience: tt.audience})
		tok, err := m.AuthToken("alice", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		assertJSONEqual(t, decodeSegment(t, tok.Signed, 1)["aud"], tt.want)
		if _, err := m.Verify(context.Background(), tok.Signed); err != nil {
			t.Errorf("audience %v: Verify() error = %v", tt.audience, err)
		}
	}
}

func TestIssueRefusals(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	tests := []struct {
		name    string
		issue   func() (*Token, error)
		wantErr error // nil: any error
	}{
		{"scope not JSON", func() (*Token, error) { return m.AuthToken("a", make(chan int), nil) }, nil},
		{"claim not JSON", func() (*Token, error) { return m.AuthToken("a", nil, map[string]any{"x": math.NaN()}) }, nil},
		{"refresh claim not JSON", func() (*Token, error) { return m.RefreshToken("a", map[string]any{"f": func() {}}) }, nil},
		{"token over the size bound", func() (*Token, error) {
			return m.AuthToken("a", nil, map[string]any{"big": strings.Repeat("x", defaultMaxTokenSize)})
		}, nil},
	}
	for _, claim := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "type", "scope"} {
		tests = append(tests,
			struct {
				name    string
				issue   func() (*Token, error)
				wantErr error
			}{"auth reserved " + claim, func() (*Token, error) { return m.AuthToken("a", nil, map[string]any{claim: "x"}) }, ErrReservedClaim},
			struct {
				name    string
				issue   func() (*Token, error)
				wantErr error
			}{"refresh reserved " + claim, func() (*Token, error) { return m.RefreshToken("a", map[string]any{claim: "x"}) }, ErrReservedClaim},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.issue()
			if err == nil {
				t.Fatalf("issued %v, want an error", tok.Claims)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if tok != nil {
				t.Errorf("token %v returned with an error", tok)
			}
		})
	}

	// Names that only look like reserved ones are the caller's.
	if _, err := m.AuthToken("a", nil, map[string]any{"Type": 1, "typ": 2, "roles": []string{"x"}}); err != nil {
		t.Errorf("AuthToken() with unreserved claims error = %v", err)
	}
}

func TestVerifyOnlyManager(t *testing.T) {
	key := testKey(t, "p256")
	signer := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: key})
	verifier := newTestManager(t, Config{Algorithm: "ES256", PublicKey: key.Public()})

	issued, err := signer.AuthToken("alice", "read", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := verifier.Verify(context.Background(), issued.Signed)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	assertSameToken(t, got, issued)

	if tok, err := verifier.AuthToken("alice", nil, nil); !errors.Is(err, ErrConfig) || tok != nil {
		t.Errorf("AuthToken() = %v, %v; want ErrConfig", tok, err)
	}
	if tok, err := verifier.RefreshToken("alice", nil); !errors.Is(err, ErrConfig) || tok != nil {
		t.Errorf("RefreshToken() = %v, %v; want ErrConfig", tok, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			tok, err := m.AuthToken("user", map[string]any{"n": i}, nil)
			if err == nil {
				_, err = m.Verify(context.Background(), tok.Signed)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNilOptionIgnored(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, nil, WithClock(nil))
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.IssuedAt.Equal(testNow) {
		t.Errorf("WithClock(nil) replaced the clock: iat %v", tok.IssuedAt)
	}
}

func BenchmarkAuthTokenHS256(b *testing.B) {
	m := newTestManager(b, Config{Algorithm: "HS256", Secret: testSecret})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.AuthToken("alice", "read", nil); err != nil {
			b.Fatal(err)
		}
	}
}
