package manager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigFromEnvJWKS(t *testing.T) {
	key := newP256(t)
	publisher := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: key, KeyID: "k1"})
	doc := publisher.JWKS()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t, publisher.JWKSHandler())

	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, cfg Config)
		wantErr string // the variable an error must name; "" when no error
	}{
		{"URL, trimmed", map[string]string{"JWT_JWKS_URL": " https://idp.example.com/jwks.json\n"}, func(t *testing.T, cfg Config) {
			if cfg.JWKSURL != "https://idp.example.com/jwks.json" || cfg.JWKS != nil {
				t.Errorf("JWKSURL %q, JWKS %q", cfg.JWKSURL, cfg.JWKS)
			}
		}, ""},
		{"document", map[string]string{"JWT_JWKS": string(doc)}, func(t *testing.T, cfg Config) {
			if string(cfg.JWKS) != string(doc) || cfg.JWKSURL != "" {
				t.Errorf("JWKS %q", cfg.JWKS)
			}
		}, ""},
		{"document file", map[string]string{"JWT_JWKS_FILE": path}, func(t *testing.T, cfg Config) {
			if string(cfg.JWKS) != string(doc) {
				t.Errorf("JWKS %q", cfg.JWKS)
			}
		}, ""},
		{"document and file", map[string]string{"JWT_JWKS": string(doc), "JWT_JWKS_FILE": path}, nil, "JWT_JWKS_FILE"},
		{"missing file", map[string]string{"JWT_JWKS_FILE": path + ".absent"}, nil, "JWT_JWKS_FILE"},
		{"file is a directory", map[string]string{"JWT_JWKS_FILE": filepath.Dir(path)}, nil, "JWT_JWKS_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range envVars {
				t.Setenv(name, tt.env[name])
			}
			cfg, err := ConfigFromEnv()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ConfigFromEnv() error = %v", err)
				}
				tt.check(t, cfg)
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ConfigFromEnv() error = %v, want ErrConfig naming %s", err, tt.wantErr)
			}
		})
	}

	// From the environment to a Manager verifying the publisher's tokens.
	token := issue(t, publisher)
	for name, env := range map[string]map[string]string{
		"JWT_JWKS_URL":  {"JWT_JWKS_URL": srv.URL},
		"JWT_JWKS_FILE": {"JWT_JWKS_FILE": path},
	} {
		t.Run("New from "+name, func(t *testing.T) {
			for _, name := range envVars {
				t.Setenv(name, env[name])
			}
			t.Setenv("JWT_ISSUER", testIssuer)
			t.Setenv("JWT_AUTHTYPE", "ES256")
			cfg, err := ConfigFromEnv()
			if err != nil {
				t.Fatal(err)
			}
			m := newTestManager(t, cfg, WithJWKSErrorHandler(func(error) {}))
			t.Cleanup(func() { m.Close() })
			if _, err := m.Verify(context.Background(), token); err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
		})
	}
}
