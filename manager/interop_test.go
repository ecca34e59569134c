package manager

import (
	"context"
	"crypto"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// jwxAlgorithms are the algorithms of the interoperability tests, with the
// jwx name of each.
var jwxAlgorithms = map[string]jwa.SignatureAlgorithm{
	"RS256": jwa.RS256(), "PS256": jwa.PS256(), "ES256": jwa.ES256(), "ES384": jwa.ES384(), "EdDSA": jwa.EdDSA(),
}

// jwxKey imports a private key into jwx with a kid and an alg.
func jwxKey(t *testing.T, raw crypto.Signer, kid string, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	key, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		if err := key.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
	}
	if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
		t.Fatal(err)
	}
	return key
}

// jwxToken signs, with jwx, a token of claimsWith(changes, remove...).
func jwxToken(t *testing.T, alg jwa.SignatureAlgorithm, key any, changes map[string]any, remove ...string) string {
	t.Helper()
	b := jwt.NewBuilder()
	for name, v := range claimsWith(changes, remove...) {
		b = b.Claim(name, v)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatalf("jwx sign: %v", err)
	}
	return string(signed)
}

// TestInteropJWXTokens verifies tokens that jwx signs against a JWK Set that
// jwx publishes, given as a document and served over HTTP.
func TestInteropJWXTokens(t *testing.T) {
	for name, alg := range jwxAlgorithms {
		t.Run(name, func(t *testing.T) {
			cfg := algorithmConfigs(t)[name]
			key := jwxKey(t, cfg.PrivateKey, "jwx-1", alg)
			stranger := jwxKey(t, newSignerLike(t, name), "jwx-2", alg)
			set := jwk.NewSet()
			if err := set.AddKey(key); err != nil {
				t.Fatal(err)
			}
			public, err := jwk.PublicSetOf(set)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := json.Marshal(public)
			if err != nil {
				t.Fatal(err)
			}
			assertNoPrivateMembers(t, doc)
			srv := newJWKSServer(t, serveBytes(doc))

			static := newTestManager(t, Config{Algorithm: name, JWKS: doc})
			remote := mustOpenRemote(t, srv.URL, name)
			untyped := mustOpenRemote(t, srv.URL, name, WithUntypedTokens(Auth))
			noKID := jwxKey(t, cfg.PrivateKey, "", alg)

			cases := []verifyCase{
				{"jwx token", jwxToken(t, alg, key, nil), nil},
				{"jwx refresh token", jwxToken(t, alg, key, map[string]any{"type": "refresh"}), nil},
				{"jwx token of an unknown key", jwxToken(t, alg, stranger, nil), ErrSignature},
				{"jwx token without kid", jwxToken(t, alg, noKID, nil), ErrSignature},
				{"jwx token without type", jwxToken(t, alg, key, nil, "type"), ErrMalformed},
				{"jwx token of another issuer", jwxToken(t, alg, key, map[string]any{"iss": "https://evil.test"}), ErrIssuer},
				{"jwx token expired", jwxToken(t, alg, key, map[string]any{"exp": testNow.Unix() - 60}), ErrExpired},
				{"jwx HS256 token keyed with the JWK Set", jwxToken(t, jwa.HS256(), jwxSecret(t, doc, "jwx-1"), nil), ErrAlgorithm},
			}
			t.Run("static", func(t *testing.T) { runVerifyCases(t, static, cases) })
			t.Run("remote", func(t *testing.T) { runVerifyCases(t, remote, cases) })
			t.Run("untyped", func(t *testing.T) {
				runVerifyCases(t, untyped, []verifyCase{
					{"jwx token without type", jwxToken(t, alg, key, nil, "type"), nil},
					{"jwx token with an unknown type", jwxToken(t, alg, key, map[string]any{"type": "id"}), ErrMalformed},
					{"jwx token without type of an unknown key", jwxToken(t, alg, stranger, nil, "type"), ErrSignature},
				})
			})
		})
	}
}

// jwxSecret returns doc as an HMAC key with a kid, for tokens that try to
// pass a public key off as a secret.
func jwxSecret(t *testing.T, doc []byte, kid string) jwk.Key {
	t.Helper()
	key, err := jwk.Import(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	return key
}

// newSignerLike returns a fresh key of the kind algorithm name needs.
func newSignerLike(t *testing.T, name string) crypto.Signer {
	t.Helper()
	switch name {
	case "RS256", "PS256":
		return testKey(t, "rsa-other")
	case "ES256":
		return newP256(t)
	case "ES384":
		return testKey(t, "p384-other")
	}
	return testKey(t, "ed25519-other")
}

// TestInteropJWXVerifiesOurTokens checks this package's tokens with jwx
// against the JWK Set a Manager publishes, across a rotation.
func TestInteropJWXVerifiesOurTokens(t *testing.T) {
	clock := jwt.WithClock(jwt.ClockFunc(func() time.Time { return testNow }))
	for name := range jwxAlgorithms {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, algorithmConfigs(t)[name])
			srv := httptest.NewServer(m.JWKSHandler())
			t.Cleanup(srv.Close)
			parse := func(token string) error {
				set, err := jwk.Fetch(context.Background(), srv.URL)
				if err != nil {
					t.Fatalf("jwx can't fetch the JWK Set: %v", err)
				}
				_, err = jwt.Parse([]byte(token), jwt.WithKeySet(set), clock, jwt.WithIssuer(testIssuer))
				return err
			}

			old := issue(t, m)
			if err := parse(old); err != nil {
				t.Fatalf("jwx refuses our token: %v", err)
			}
			if err := m.RotateKey(Key{ID: "next", PrivateKey: newSignerLike(t, name)}); err != nil {
				t.Fatal(err)
			}
			fresh := issue(t, m)
			for _, token := range []string{old, fresh} {
				if err := parse(token); err != nil {
					t.Errorf("jwx refuses our token after rotation: %v", err)
				}
			}
			if err := m.RemoveKey(algorithmConfigs(t)[name].KeyID); err != nil {
				t.Fatal(err)
			}
			refused := map[string]string{
				"token of the removed key": old,
				"tampered token":           flipSignatureBit(t, fresh),
				"token of another key under a known kid": issue(t, newTestManager(t, Config{
					Algorithm: name, PrivateKey: algorithmConfigs(t)[name].PrivateKey, KeyID: "next",
				})),
			}
			for what, token := range refused {
				if err := parse(token); err == nil {
					t.Errorf("jwx accepts the %s", what)
				}
			}
		})
	}
}

// TestInteropEmptySet: jwx finds no key in the set of an HS256 Manager.
func TestInteropEmptySet(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, KeyID: "s1"})
	set, err := jwk.Parse(m.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 0 {
		t.Fatalf("jwx reads %d keys from an HS256 Manager's JWK Set", set.Len())
	}
	_, err = jwt.Parse([]byte(issue(t, m)), jwt.WithKeySet(set))
	if err == nil {
		t.Fatal("jwx verifies an HS256 token with an empty set")
	}
}
