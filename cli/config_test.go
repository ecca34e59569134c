package cli

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"reflect"
	"testing"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// jwtVariables are the variables manager.ConfigFromEnv reads.
var jwtVariables = []string{
	"JWT_ISSUER", "JWT_AUTHTYPE", "JWT_KEYID", "JWT_AUDIENCE", "JWT_JWKS_URL",
	"JWT_SECRET", "JWT_SECRET_FILE", "JWT_JWKS", "JWT_JWKS_FILE",
	"JWT_PRIVATEKEY", "JWT_PRIVATEKEY_FILE", "JWT_PUBLICKEY", "JWT_PUBLICKEY_FILE",
	"JWT_AUTHMAXAGE", "JWT_REFRESHMAXAGE", "JWT_LEEWAY",
}

func pemOf(t *testing.T, typ string, der []byte, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// TestConfigFromEnvMatchesManager checks that the command reads the JWT_*
// variables exactly as manager.ConfigFromEnv does, for good and bad values.
func TestConfigFromEnvMatchesManager(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := pemOf(t, "PRIVATE KEY", ecPKCS8, err)
	ecSEC1, err := x509.MarshalECPrivateKey(ecKey)
	ecSEC1PEM := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + pemOf(t, "EC PRIVATE KEY", ecSEC1, err)
	rsaPEM := pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), nil)
	rsaPubPEM := pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey), nil)
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edKey)
	edPEM := pemOf(t, "PRIVATE KEY", edPKCS8, err)
	ecPub, err := x509.MarshalPKIXPublicKey(ecKey.Public())
	ecPubPEM := pemOf(t, "PUBLIC KEY", ecPub, err)
	secretFile := writeFile(t, "secret", []byte(testSecret+"\r\n"))
	keyFile := writeFile(t, "key.pem", []byte(ecPEM))
	jwksFile := writeFile(t, "jwks.json", []byte(`{"keys":[]}`))

	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
	}{
		{"empty", nil, false},
		{"HS256", hsEnv(), false},
		{"everything plain", map[string]string{
			"JWT_ISSUER": "iss", "JWT_AUTHTYPE": "ES256", "JWT_KEYID": "k1", "JWT_AUDIENCE": " a, ,b ,",
			"JWT_AUTHMAXAGE": " 60 ", "JWT_REFRESHMAXAGE": "0", "JWT_LEEWAY": "5", "JWT_JWKS_URL": " https://idp.example/jwks ",
		}, false},
		{"secret file, CRLF", map[string]string{"JWT_SECRET_FILE": secretFile}, false},
		{"secret and secret file", map[string]string{"JWT_SECRET": "x", "JWT_SECRET_FILE": secretFile}, true},
		{"missing secret file", map[string]string{"JWT_SECRET_FILE": "/nonexistent"}, true},
		{"PKCS #8 EC key", map[string]string{"JWT_PRIVATEKEY": ecPEM, "JWT_PUBLICKEY": ecPubPEM}, false},
		{"SEC 1 key after parameters", map[string]string{"JWT_PRIVATEKEY": ecSEC1PEM}, false},
		{"PKCS #1 RSA keys", map[string]string{"JWT_PRIVATEKEY": rsaPEM, "JWT_PUBLICKEY": rsaPubPEM}, false},
		{"Ed25519 key", map[string]string{"JWT_PRIVATEKEY": edPEM}, false},
		{"key file", map[string]string{"JWT_PRIVATEKEY_FILE": keyFile}, false},
		{"key and key file", map[string]string{"JWT_PRIVATEKEY": ecPEM, "JWT_PRIVATEKEY_FILE": keyFile}, true},
		{"garbage private key", map[string]string{"JWT_PRIVATEKEY": "garbage"}, true},
		{"public key as private key", map[string]string{"JWT_PRIVATEKEY": ecPubPEM}, true},
		{"encrypted private key", map[string]string{"JWT_PRIVATEKEY": pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1}, nil)}, true},
		{"corrupt private key", map[string]string{"JWT_PRIVATEKEY": pemOf(t, "PRIVATE KEY", []byte{1, 2}, nil)}, true},
		{"garbage public key", map[string]string{"JWT_PUBLICKEY": "garbage"}, true},
		{"corrupt public key", map[string]string{"JWT_PUBLICKEY": pemOf(t, "PUBLIC KEY", []byte{1}, nil)}, true},
		{"JWKS file", map[string]string{"JWT_JWKS_FILE": jwksFile}, false},
		{"JWKS and JWKS file", map[string]string{"JWT_JWKS": "{}", "JWT_JWKS_FILE": jwksFile}, true},
		{"duration not a number", map[string]string{"JWT_AUTHMAXAGE": "1h"}, true},
		{"negative duration", map[string]string{"JWT_LEEWAY": "-1"}, true},
		{"duration overflow", map[string]string{"JWT_REFRESHMAXAGE": "9223372036854775807"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range jwtVariables {
				t.Setenv(name, tt.env[name])
			}
			want, wantErr := manager.ConfigFromEnv()
			var cf configFlags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			cf.register(fs)
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			got, err := cf.load(fs, func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr || (wantErr != nil) != tt.wantErr {
				t.Fatalf("errors: command %v, manager %v; want an error: %v", err, wantErr, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !sameKey(got.PrivateKey, want.PrivateKey) || !sameKey(got.PublicKey, want.PublicKey) {
				t.Errorf("keys differ from manager.ConfigFromEnv's")
			}
			got.PrivateKey, got.PublicKey, want.PrivateKey, want.PublicKey = nil, nil, nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("config\n%+v\nmanager.ConfigFromEnv\n%+v", got, want)
			}
		})
	}
}

func sameKey(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch k := a.(type) {
	case interface{ Equal(crypto.PublicKey) bool }:
		return k.Equal(b)
	case interface{ Equal(crypto.PrivateKey) bool }:
		return k.Equal(b)
	}
	return false
}

// TestKeyFlagsReplaceEnvKeys checks that a key flag replaces all the key
// material of the environment, unread: a stale JWT_SECRET or a broken
// JWT_PRIVATEKEY_FILE does not get in the way of --key-file.
func TestKeyFlagsReplaceEnvKeys(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(ecKey)
	keyFile := writeFile(t, "key.pem", []byte(pemOf(t, "PRIVATE KEY", der, err)))
	env := with(hsEnv(), "JWT_PRIVATEKEY_FILE", "/nonexistent", "JWT_JWKS_URL", "https://idp.example/jwks", "JWT_LEEWAY", "30")

	var cf configFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cf.register(fs)
	if err := fs.Parse([]string{"--alg", "ES256", "--key-file", keyFile, "--refresh-max-age", "2h"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cf.load(fs, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Secret != nil || cfg.JWKSURL != "" || cfg.PublicKey != nil || !sameKey(cfg.PrivateKey.Public(), ecKey.Public()) {
		t.Errorf("key material: secret %t, JWKS URL %q, public key %v, private key from the flag %t",
			cfg.Secret != nil, cfg.JWKSURL, cfg.PublicKey, cfg.PrivateKey != nil)
	}
	if cfg.Algorithm != "ES256" || cfg.Issuer != "test-issuer" || cfg.Leeway != 30*time.Second || cfg.RefreshMaxAge != 2*time.Hour {
		t.Errorf("settings: %+v", cfg)
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90", 90 * time.Second, false},
		{" 15m ", 15 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"0", 0, false},
		{"", 0, true},
		{"-1", 0, true},
		{"-5m", 0, true},
		{"soon", 0, true},
		{"1.5", 0, true},
		{"9223372036854775807", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSeconds(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
