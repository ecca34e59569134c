package manager

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestErrorHints checks that a refusal whose fix is known says it: a token
// without a type claim names the options that accept an identity
// provider's tokens; a token of an algorithm not accepted names it and the
// accepted ones. The sentinel stays, and the token never shows.
func TestErrorHints(t *testing.T) {
	hs := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	hsMany := newTestManager(t, Config{Algorithm: "HS256", Algorithms: []string{"HS256", "HS384"}, Secret: testSecret})
	untyped := craft(t, "HS256", testSecret, nil, claimsWith(nil, "type"))
	emptyType := craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": ""}))
	rs := craftRaw(t, map[string]any{"alg": "RS256", "typ": "JWT"}, rawClaims(`"sub":"alice"`))
	hs512 := craftRaw(t, map[string]any{"alg": "HS512", "typ": "JWT"}, rawClaims(`"sub":"alice"`))
	none := craftRaw(t, map[string]any{"alg": "none", "typ": "JWT"}, rawClaims(`"sub":"alice"`))
	odd := craftRaw(t, map[string]any{"alg": "X<script>", "typ": "JWT"}, rawClaims(`"sub":"alice"`))
	cases := []struct {
		name     string
		m        *Manager
		signed   string
		sentinel error
		want     []string
		notWant  []string
	}{
		{"no type claim", hs, untyped, ErrMalformed,
			[]string{"type claim missing", "WithAccessTokenProfile", "WithUntypedTokens"}, nil},
		{"empty type claim", hs, emptyType, ErrMalformed,
			[]string{"type claim missing", "WithAccessTokenProfile", "WithUntypedTokens"}, nil},
		{"RS256 to an HS256 Manager", hs, rs, ErrAlgorithm,
			[]string{"signed with RS256", "Config.Algorithms accepts HS256"}, nil},
		{"HS512 to an HS256, HS384 Manager", hsMany, hs512, ErrAlgorithm,
			[]string{"signed with HS512", "accepts HS256, HS384"}, nil},
		{"none", hs, none, ErrAlgorithm,
			[]string{`alg "none"`, "accepts HS256"}, nil},
		{"unknown alg is not echoed", hs, odd, ErrAlgorithm,
			[]string{"no algorithm this package knows", "accepts HS256"}, []string{"script", "X<"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.m.Verify(context.Background(), c.signed)
			if !errors.Is(err, c.sentinel) {
				t.Fatalf("Verify = %v, want an error wrapping %v", err, c.sentinel)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Verify = %q, want it to say %q", err, w)
				}
			}
			for _, part := range append(strings.Split(c.signed, "."), c.notWant...) {
				if strings.Contains(err.Error(), part) {
					t.Errorf("Verify = %q: it shows %q", err, part)
				}
			}
		})
	}
}

// TestDiscoveryIssuerMismatchShowsBoth checks that metadata naming another
// issuer is refused with both values in the error, issuers being public,
// and that a hostile document's long issuer is cut short.
func TestDiscoveryIssuerMismatchShowsBoth(t *testing.T) {
	const maxShown = 200 // the bytes of a served issuer an error shows
	for _, c := range []struct {
		name, served, want string
	}{
		{"another issuer", "https://evil.example", `"https://evil.example"`},
		{"a trailing slash", "SELF/", `"SELF/"`},
		{"a long issuer", "https://" + strings.Repeat("a", 5000), `"https://` + strings.Repeat("a", maxShown-8) + `..."`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newIssuerServer(t, false)
			served := strings.ReplaceAll(c.served, "SELF", s.URL)
			s.serve("/.well-known/openid-configuration", map[string]any{"issuer": served, "jwks_uri": s.URL + "/jwks/a"})
			_, err := openDiscovery(t, s.URL)
			if !errors.Is(err, ErrJWKS) {
				t.Fatalf("New = %v, want ErrJWKS", err)
			}
			want := strings.ReplaceAll(c.want, "SELF", s.URL)
			for _, part := range []string{"its issuer " + want, "is not the configured issuer " + `"` + s.URL + `"`} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("New = %q, want it to say %q", err, part)
				}
			}
			if len(err.Error()) > 2*maxShown+500 {
				t.Errorf("New's error is %d bytes: the served issuer was not cut", len(err.Error()))
			}
		})
	}
}
