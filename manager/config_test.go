package manager

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// envVars are every variable ConfigFromEnv reads.
var envVars = []string{
	"JWT_ISSUER", "JWT_AUTHTYPE", "JWT_SECRET", "JWT_SECRET_FILE",
	"JWT_PRIVATEKEY", "JWT_PRIVATEKEY_FILE", "JWT_PUBLICKEY", "JWT_PUBLICKEY_FILE",
	"JWT_AUTHMAXAGE", "JWT_REFRESHMAXAGE", "JWT_LEEWAY", "JWT_AUDIENCE", "JWT_KEYID",
	"JWT_JWKS_URL", "JWT_JWKS", "JWT_JWKS_FILE",
}

func TestConfigFromEnv(t *testing.T) {
	rsaKey := testKey(t, "rsa").(*rsa.PrivateKey)
	ecKey := testKey(t, "p256").(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPKCS8 := pkcs8PEM(t, rsaKey)
	rsaPKCS1 := pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	ecSEC1 := pemBlock("EC PRIVATE KEY", sec1)
	rsaPublic := pkixPEM(t, rsaKey.Public())
	const secret = "env-secret-0123456789abcdefghijk"
	badPEM := "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcy1oZXJl\n-----END PRIVATE KEY-----\n"

	// Values may name files of the test's directory as $DIR/name.
	files := map[string]string{
		"secret":  secret + "\n",
		"rsa.pem": rsaPKCS8,
		"pub.pem": rsaPublic,
		"bad.pem": badPEM,
	}

	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, cfg Config)
		wantErr string // the variable an error must name; "" when no error
	}{
		{"nothing set", nil, func(t *testing.T, cfg Config) {
			if cfg.Issuer != "" || cfg.Secret != nil || cfg.PrivateKey != nil || cfg.Audience != nil || cfg.AuthMaxAge != 0 {
				t.Errorf("cfg = %+v, want zero", cfg)
			}
		}, ""},
		{"HS256 settings", map[string]string{
			"JWT_ISSUER": "iss", "JWT_AUTHTYPE": "HS256", "JWT_SECRET": secret, "JWT_KEYID": "k1",
			"JWT_AUTHMAXAGE": "60", "JWT_REFRESHMAXAGE": " 120 ", "JWT_LEEWAY": "5", "JWT_AUDIENCE": " api, ,admin ,",
		}, func(t *testing.T, cfg Config) {
			if cfg.Issuer != "iss" || cfg.Algorithm != "HS256" || string(cfg.Secret) != secret || cfg.KeyID != "k1" ||
				cfg.AuthMaxAge != time.Minute || cfg.RefreshMaxAge != 2*time.Minute || cfg.Leeway != 5*time.Second ||
				!slices.Equal(cfg.Audience, []string{"api", "admin"}) {
				t.Errorf("cfg = %+v", cfg)
			}
		}, ""},
		{"secret file loses its newline", map[string]string{"JWT_SECRET_FILE": "$DIR/secret"}, func(t *testing.T, cfg Config) {
			if string(cfg.Secret) != secret {
				t.Errorf("secret from file has %d bytes, want %d", len(cfg.Secret), len(secret))
			}
		}, ""},
		{"PKCS8 RSA private key", map[string]string{"JWT_PRIVATEKEY": rsaPKCS8}, wantPrivateKey(rsaKey), ""},
		{"PKCS1 RSA private key", map[string]string{"JWT_PRIVATEKEY": rsaPKCS1}, wantPrivateKey(rsaKey), ""},
		{"SEC1 EC private key", map[string]string{"JWT_PRIVATEKEY": ecSEC1}, wantPrivateKey(ecKey), ""},
		{"private key file", map[string]string{"JWT_PRIVATEKEY_FILE": "$DIR/rsa.pem"}, wantPrivateKey(rsaKey), ""},
		{"PKIX public key", map[string]string{"JWT_PUBLICKEY": rsaPublic}, wantPublicKey(rsaKey.Public()), ""},
		{"public key file", map[string]string{"JWT_PUBLICKEY_FILE": "$DIR/pub.pem"}, wantPublicKey(rsaKey.Public()), ""},
		{"certificate", map[string]string{"JWT_PUBLICKEY": certificatePEM(t, ecKey)}, wantPublicKey(ecKey.Public()), ""},

		{"secret and secret file", map[string]string{"JWT_SECRET": secret, "JWT_SECRET_FILE": "$DIR/secret"}, nil, "JWT_SECRET_FILE"},
		{"private key and file", map[string]string{"JWT_PRIVATEKEY": rsaPKCS8, "JWT_PRIVATEKEY_FILE": "$DIR/rsa.pem"}, nil, "JWT_PRIVATEKEY_FILE"},
		{"public key and file", map[string]string{"JWT_PUBLICKEY": rsaPublic, "JWT_PUBLICKEY_FILE": "$DIR/pub.pem"}, nil, "JWT_PUBLICKEY_FILE"},
		{"missing secret file", map[string]string{"JWT_SECRET_FILE": "$DIR/absent"}, nil, "JWT_SECRET_FILE"},
		{"missing private key file", map[string]string{"JWT_PRIVATEKEY_FILE": "$DIR/absent"}, nil, "JWT_PRIVATEKEY_FILE"},
		{"missing public key file", map[string]string{"JWT_PUBLICKEY_FILE": "$DIR/absent"}, nil, "JWT_PUBLICKEY_FILE"},
		{"private key file is a directory", map[string]string{"JWT_PRIVATEKEY_FILE": "$DIR"}, nil, "JWT_PRIVATEKEY_FILE"},
		{"private key not PEM", map[string]string{"JWT_PRIVATEKEY": secret}, nil, "JWT_PRIVATEKEY"},
		{"private key bad DER", map[string]string{"JWT_PRIVATEKEY": badPEM}, nil, "JWT_PRIVATEKEY"},
		{"private key file bad DER", map[string]string{"JWT_PRIVATEKEY_FILE": "$DIR/bad.pem"}, nil, "JWT_PRIVATEKEY_FILE"},
		{"public key given as private", map[string]string{"JWT_PRIVATEKEY": rsaPublic}, nil, "JWT_PRIVATEKEY"},
		{"private key given as public", map[string]string{"JWT_PUBLICKEY": rsaPKCS8}, nil, "JWT_PUBLICKEY"},
		{"public key bad DER", map[string]string{"JWT_PUBLICKEY": strings.ReplaceAll(badPEM, "PRIVATE", "PUBLIC")}, nil, "JWT_PUBLICKEY"},
		{"max age in hours", map[string]string{"JWT_AUTHMAXAGE": "1h"}, nil, "JWT_AUTHMAXAGE"},
		{"max age not a number", map[string]string{"JWT_REFRESHMAXAGE": "week"}, nil, "JWT_REFRESHMAXAGE"},
		{"max age fractional", map[string]string{"JWT_AUTHMAXAGE": "1.5"}, nil, "JWT_AUTHMAXAGE"},
		{"max age negative", map[string]string{"JWT_REFRESHMAXAGE": "-5"}, nil, "JWT_REFRESHMAXAGE"},
		{"max age overflows", map[string]string{"JWT_AUTHMAXAGE": "9999999999999999"}, nil, "JWT_AUTHMAXAGE"},
		{"leeway not a number", map[string]string{"JWT_LEEWAY": "5s"}, nil, "JWT_LEEWAY"},
		{"leeway negative", map[string]string{"JWT_LEEWAY": "-1"}, nil, "JWT_LEEWAY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range envVars {
				t.Setenv(name, strings.ReplaceAll(tt.env[name], "$DIR", dir))
			}

			cfg, err := ConfigFromEnv()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ConfigFromEnv() error = %v", err)
				}
				tt.check(t, cfg)
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("ConfigFromEnv() = %+v, %v; want ErrConfig", cfg, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not name %s", err, tt.wantErr)
			}
			for _, value := range []string{secret, "c2VjcmV0LWtleS1ieXRlcy1oZXJl", rsaPKCS8[40:80], rsaPublic[40:80]} {
				if strings.Contains(err.Error(), value) {
					t.Errorf("error %q contains a secret or a key", err)
				}
			}
		})
	}
}

func wantPrivateKey(want crypto.Signer) func(*testing.T, Config) {
	return func(t *testing.T, cfg Config) {
		t.Helper()
		if cfg.PrivateKey == nil || !cfg.PrivateKey.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(want.Public()) {
			t.Errorf("PrivateKey = %T, want the test key", cfg.PrivateKey)
		}
	}
}

func wantPublicKey(want crypto.PublicKey) func(*testing.T, Config) {
	return func(t *testing.T, cfg Config) {
		t.Helper()
		if cfg.PublicKey == nil || !want.(interface{ Equal(crypto.PublicKey) bool }).Equal(cfg.PublicKey) {
			t.Errorf("PublicKey = %T, want the test key", cfg.PublicKey)
		}
	}
}

func TestConfigFromEnvThenNew(t *testing.T) {
	key := testKey(t, "ed25519")
	for _, name := range envVars {
		t.Setenv(name, "")
	}
	t.Setenv("JWT_ISSUER", testIssuer)
	t.Setenv("JWT_AUTHTYPE", "EdDSA")
	t.Setenv("JWT_PRIVATEKEY", pkcs8PEM(t, key))
	t.Setenv("JWT_AUDIENCE", "api")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, cfg)
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(context.Background(), tok.Signed); err != nil {
		t.Errorf("Verify() error = %v", err)
	}
}

// TestConfigFromLookup reads the same variables from a lookup function as
// ConfigFromEnv reads from the process environment, and nothing else.
func TestConfigFromLookup(t *testing.T) {
	t.Setenv("JWT_ISSUER", "from-process")
	env := map[string]string{
		"JWT_ISSUER":     "from-lookup",
		"JWT_AUTHTYPE":   "HS256",
		"JWT_SECRET":     "0123456789abcdef0123456789abcdef",
		"JWT_AUDIENCE":   " a, ,b ",
		"JWT_AUTHMAXAGE": "60",
	}
	cfg, err := ConfigFromLookup(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != "from-lookup" || cfg.Algorithm != "HS256" || string(cfg.Secret) != env["JWT_SECRET"] ||
		len(cfg.Audience) != 2 || cfg.AuthMaxAge != time.Minute {
		t.Fatalf("ConfigFromLookup = %+v", cfg)
	}
	env["JWT_LEEWAY"] = "soon"
	if _, err := ConfigFromLookup(func(k string) string { return env[k] }); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad JWT_LEEWAY: error = %v, want ErrConfig", err)
	}
}

// TestAlgorithms checks that Algorithms lists exactly the algorithms New
// accepts, and that the caller owns the list.
func TestAlgorithms(t *testing.T) {
	names := Algorithms()
	if len(names) != len(algorithms) {
		t.Fatalf("Algorithms() has %d names, New knows %d algorithms", len(names), len(algorithms))
	}
	for _, name := range names {
		if _, ok := algorithms[name]; !ok {
			t.Errorf("Algorithms() lists %q, which New refuses", name)
		}
	}
	names[0] = "none"
	if Algorithms()[0] != "HS256" {
		t.Fatal("Algorithms() returned the package's own slice")
	}
}

// TestKeyVariables checks that each variable KeyVariables lists is one
// ConfigFromLookup reads key material from, and that hiding them all leaves
// a Config without keys whatever they hold.
func TestKeyVariables(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JWT_ISSUER": "iss", "JWT_AUTHTYPE": "ES256"}
	for _, name := range KeyVariables() {
		value := "not a key"
		if strings.HasSuffix(name, "_FILE") {
			value = path
		}
		switch name {
		case "JWT_JWKS_URL":
			value = "https://idp.test/jwks.json"
		case "JWT_DISCOVERY":
			value = "true"
		}
		t.Run(name, func(t *testing.T) {
			cfg, err := ConfigFromLookup(func(k string) string {
				if k == name {
					return value
				}
				return env[k]
			})
			if err == nil && !slices.ContainsFunc([]bool{len(cfg.Secret) > 0, cfg.PrivateKey != nil, cfg.PublicKey != nil, len(cfg.JWKS) > 0, cfg.JWKSURL != "", cfg.Discovery}, func(b bool) bool { return b }) {
				t.Fatalf("%s is not read as key material: cfg = %+v", name, cfg)
			}
		})
		env[name] = value
	}
	hidden := KeyVariables()
	cfg, err := ConfigFromLookup(func(k string) string {
		if slices.Contains(hidden, k) {
			return ""
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Secret) > 0 || cfg.PrivateKey != nil || cfg.PublicKey != nil || len(cfg.JWKS) > 0 || cfg.JWKSURL != "" || cfg.Discovery {
		t.Fatalf("with KeyVariables hidden, cfg has keys: %+v", cfg)
	}
	if cfg.Issuer != "iss" || cfg.Algorithm != "ES256" {
		t.Fatalf("hiding KeyVariables hid other settings: %+v", cfg)
	}
}
