package manager

import (
	"context"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// signWith signs a token of testIssuer with golang-jwt, as an identity
// provider would: alg, kid header (none when empty), key.
func signWith(tb testing.TB, alg string, kid string, key any) string {
	tb.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), jwt.MapClaims{
		"iss": testIssuer, "sub": "alice", "type": "auth",
		"iat": testNow.Unix(), "exp": testNow.Unix() + 600,
	})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	signed, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return signed
}

// multiAlgorithmSet is a JWK Set of an RSA key without alg ("rsa"), an RSA
// key whose JWK names RS256 ("rs256-only"), a P-256 key ("p256") and an
// Ed25519 key ("ed").
func multiAlgorithmSet(t *testing.T) []byte {
	t.Helper()
	return jwkSet(t,
		jwkOf(t, testKey(t, "rsa").Public(), map[string]any{"kid": "rsa", "use": "sig"}),
		jwkOf(t, testKey(t, "rsa-other").Public(), map[string]any{"kid": "rs256-only", "alg": "RS256"}),
		jwkOf(t, testKey(t, "p256").Public(), map[string]any{"kid": "p256"}),
		jwkOf(t, testKey(t, "ed25519").Public(), map[string]any{"kid": "ed", "alg": "EdDSA"}),
	)
}

// TestAlgorithmsOfJWKSet checks a JWK Set Manager without Algorithm: each
// key verifies the asymmetric algorithms of its kind and JWK alg, nothing
// else, whether the set is given (JWKS) or fetched (JWKSURL).
func TestAlgorithmsOfJWKSet(t *testing.T) {
	set := multiAlgorithmSet(t)
	srv := newJWKSServer(t, serveBytes(set))
	managers := map[string]*Manager{
		"JWKS":    newTestManager(t, Config{JWKS: set}),
		"JWKSURL": newTestManager(t, Config{JWKSURL: srv.URL}),
	}
	rsaKey, otherRSA, p256, ed := testKey(t, "rsa"), testKey(t, "rsa-other"), testKey(t, "p256"), testKey(t, "ed25519")
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": testIssuer, "type": "auth", "iat": testNow.Unix(), "exp": testNow.Unix() + 600,
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		wantErr error // nil: verifies
	}{
		{"RS256 with the RSA key", signWith(t, "RS256", "rsa", rsaKey), nil},
		{"RS512 with the RSA key", signWith(t, "RS512", "rsa", rsaKey), nil},
		{"PS256 with the RSA key", signWith(t, "PS256", "rsa", rsaKey), nil},
		{"RS256 with the key whose JWK says RS256", signWith(t, "RS256", "rs256-only", otherRSA), nil},
		{"ES256 with the P-256 key", signWith(t, "ES256", "p256", p256), nil},
		{"EdDSA with the Ed25519 key", signWith(t, "EdDSA", "ed", ed), nil},

		{"PS256 with the key whose JWK says RS256", signWith(t, "PS256", "rs256-only", otherRSA), ErrAlgorithm},
		{"ES256 token naming the RSA key", signWith(t, "ES256", "rsa", p256), ErrAlgorithm},
		{"RS256 token naming the P-256 key", signWith(t, "RS256", "p256", rsaKey), ErrAlgorithm},
		{"ES384 token naming the P-256 key", signWith(t, "ES384", "p256", testKey(t, "p384")), ErrAlgorithm},
		{"EdDSA token naming the RSA key", signWith(t, "EdDSA", "rsa", ed), ErrAlgorithm},
		{"HS256 token", signWith(t, "HS256", "rsa", testSecret), ErrAlgorithm},
		{"HS256 token keyed with the RSA key's PEM", signWith(t, "HS256", "rsa", []byte(pkixPEM(t, rsaKey.Public()))), ErrAlgorithm},
		{"none", noneTok, ErrAlgorithm},
		{"RS256 with another key", signWith(t, "RS256", "rsa", otherRSA), ErrSignature},
		{"unknown kid", signWith(t, "RS256", "nope", rsaKey), ErrSignature},
	}
	for name, m := range managers {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				tok, err := m.Verify(context.Background(), tt.token)
				if tt.wantErr == nil {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					return
				}
				if tok != nil || !errors.Is(err, tt.wantErr) {
					t.Fatalf("Verify = %v, %v; want %v", tok, err, tt.wantErr)
				}
			})
		}
	}
}

// TestAlgorithmsListed checks that a JWK Set Manager accepts only the
// listed algorithms, even where a key would fit another.
func TestAlgorithmsListed(t *testing.T) {
	m := newTestManager(t, Config{JWKS: multiAlgorithmSet(t), Algorithms: []string{"RS256", "ES256"}})
	rsaKey := testKey(t, "rsa")
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"RS256", signWith(t, "RS256", "rsa", rsaKey), nil},
		{"ES256", signWith(t, "ES256", "p256", testKey(t, "p256")), nil},
		{"PS256 not listed", signWith(t, "PS256", "rsa", rsaKey), ErrAlgorithm},
		{"RS512 not listed", signWith(t, "RS512", "rsa", rsaKey), ErrAlgorithm},
		{"EdDSA not listed", signWith(t, "EdDSA", "ed", testKey(t, "ed25519")), ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Verify(context.Background(), tt.token)
			if (tt.wantErr == nil) != (err == nil) || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify: %v; want %v", err, tt.wantErr)
			}
		})
	}
}

// TestAlgorithmsOwnKeys checks a Manager with its own key and several
// algorithms: the key verifies each, signs with Algorithm, and a key that
// does not fit every listed algorithm is refused, at New and by RotateKey
// and AddKey.
func TestAlgorithmsOwnKeys(t *testing.T) {
	rsaKey := testKey(t, "rsa")
	m := newTestManager(t, Config{Algorithm: "RS256", Algorithms: []string{"RS256", "PS256"}, PrivateKey: rsaKey})
	for _, alg := range []string{"RS256", "PS256"} {
		if _, err := m.Verify(context.Background(), signWith(t, alg, "", rsaKey)); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	if _, err := m.Verify(context.Background(), signWith(t, "RS384", "", rsaKey)); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("RS384: %v, want ErrAlgorithm", err)
	}
	issued, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := decodeSegment(t, issued.Signed, 0); h["alg"] != "RS256" {
		t.Errorf("issued with alg %v, want RS256", h["alg"])
	}
	if err := m.RotateKey(Key{ID: "ec", PrivateKey: testKey(t, "p256")}); !errors.Is(err, ErrConfig) {
		t.Errorf("RotateKey(P-256) = %v, want ErrConfig", err)
	}
	if err := m.AddKey(Key{ID: "ec", PublicKey: testKey(t, "p256").Public()}); !errors.Is(err, ErrConfig) {
		t.Errorf("AddKey(P-256) = %v, want ErrConfig", err)
	}
	if err := m.AddKey(Key{ID: "next", PublicKey: testKey(t, "rsa-other").Public()}); err != nil {
		t.Errorf("AddKey(RSA) = %v", err)
	}
}

// TestAlgorithmsRefusedAtNew lists the configurations New refuses.
func TestAlgorithmsRefusedAtNew(t *testing.T) {
	set := multiAlgorithmSet(t)
	rsaKey := testKey(t, "rsa")
	ecOnly := jwkSet(t, jwkOf(t, testKey(t, "p256").Public(), map[string]any{"kid": "p256"}))
	for name, cfg := range map[string]Config{
		"HS256 listed with a JWK Set":          {JWKS: set, Algorithms: []string{"RS256", "HS256"}},
		"HS256 Algorithm with a JWK Set":       {JWKS: set, Algorithm: "HS256"},
		"none listed":                          {JWKS: set, Algorithms: []string{"none"}},
		"unknown listed":                       {JWKS: set, Algorithms: []string{"RS256", "RS1"}},
		"empty name listed":                    {JWKS: set, Algorithms: []string{""}},
		"Algorithm not listed":                 {JWKS: set, Algorithm: "RS256", Algorithms: []string{"PS256"}},
		"no key fits the listed algorithms":    {JWKS: ecOnly, Algorithms: []string{"RS256", "EdDSA"}},
		"no Algorithm with own keys":           {PrivateKey: rsaKey},
		"no Algorithm with own keys, listed":   {PrivateKey: rsaKey, Algorithms: []string{"RS256"}},
		"own RSA key and ES256 listed":         {Algorithm: "RS256", PrivateKey: rsaKey, Algorithms: []string{"RS256", "ES256"}},
		"own secret and RS256 listed":          {Algorithm: "HS256", Secret: testSecret, Algorithms: []string{"HS256", "RS256"}},
		"own P-256 key and ES384 listed":       {Algorithm: "ES256", PrivateKey: testKey(t, "p256"), Algorithms: []string{"ES256", "ES384"}},
		"own public key and a listed none":     {Algorithm: "RS256", PublicKey: rsaKey.Public(), Algorithms: []string{"RS256", "none"}},
		"Algorithm outside Algorithms (local)": {Algorithm: "RS256", PrivateKey: rsaKey, Algorithms: []string{"PS256"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Issuer = testIssuer
			m, err := New(cfg)
			if m != nil || !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, %v; want ErrConfig", m, err)
			}
		})
	}
}

// TestAlgorithmsFromEnv reads JWT_ALGORITHMS.
func TestAlgorithmsFromEnv(t *testing.T) {
	cfg, err := ConfigFromLookup(func(name string) string {
		return map[string]string{"JWT_ALGORITHMS": " RS256, ES256 ,,"}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Algorithms) != 2 || cfg.Algorithms[0] != "RS256" || cfg.Algorithms[1] != "ES256" {
		t.Fatalf("Algorithms = %q", cfg.Algorithms)
	}
}

// TestAlgorithmsJWKSPublished checks that a JWK Set Manager without
// Algorithm publishes the keys it was given, naming no algorithm that
// would narrow them.
func TestAlgorithmsJWKSPublished(t *testing.T) {
	m := newTestManager(t, Config{JWKS: multiAlgorithmSet(t)})
	keys := jwksKeys(t, m.JWKS())
	if len(keys) != 4 {
		t.Fatalf("%d keys published, want 4", len(keys))
	}
	for _, k := range keys {
		// An RSA key fits RS and PS, a P-256 key ES256 only; Ed25519 keys
		// name EdDSA, their only algorithm.
		if alg, ok := k["alg"]; ok && !(k["kid"] == "ed" && alg == "EdDSA") {
			t.Errorf("key %v names the algorithm %v", k["kid"], alg)
		}
		if _, ok := k["d"]; ok {
			t.Errorf("key %v has private members", k["kid"])
		}
	}
}
