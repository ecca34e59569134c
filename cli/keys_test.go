package cli

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/protojwt/protojwt/manager"
)

var allAlgorithms = []string{
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exports parses the "export NAME=value" lines keys gen prints.
func exports(t *testing.T, stdout string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		name, value, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 {
			t.Fatalf("keys gen printed %q, not an export line", line)
		}
		env[name] = value
	}
	return env
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Errorf("%s has mode %#o, want %#o", filepath.Base(path), st.Mode().Perm(), want)
	}
}

// TestKeysGenRoundTrip generates a key for every algorithm, then mints a
// token with the files written and inspects it: verified by the public key
// alone (the secret for HS*), with the suggested kid.
func TestKeysGenRoundTrip(t *testing.T) {
	for _, alg := range allAlgorithms {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "keys")
			r := cmd{}.run(t, "keys", "gen", "--alg", alg, "--out-dir", dir)
			checkResult(t, r, exitOK, []string{"export JWT_AUTHTYPE=" + alg + "\n", "export JWT_KEYID="}, []string{"wrote "})
			env := exports(t, r.stdout)
			checkMode(t, dir, 0o700)

			var signEnv, verifyEnv map[string]string
			if secretFile, ok := env["JWT_SECRET_FILE"]; ok {
				checkMode(t, secretFile, 0o600)
				secret := readFileT(t, secretFile)
				if strings.Contains(r.stdout+r.stderr, strings.TrimSpace(string(secret))) {
					t.Errorf("keys gen printed the secret")
				}
				if n, err := base64.RawURLEncoding.Decode(make([]byte, 64), bytes.TrimSuffix(secret, []byte("\n"))); err != nil || n != hmacSecretSizes[alg] {
					t.Errorf("secret file: %d random bytes (%v), want %d", n, err, hmacSecretSizes[alg])
				}
				signEnv, verifyEnv = env, env
			} else {
				priv, pub := env["JWT_PRIVATEKEY_FILE"], env["JWT_PUBLICKEY_FILE"]
				checkMode(t, priv, 0o600)
				checkMode(t, pub, 0o644)
				privPEM := readFileT(t, priv)
				if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) || strings.Contains(r.stdout+r.stderr, "PRIVATE KEY") {
					t.Errorf("private key file starts %q; output mentions it: %t", privPEM[:20], strings.Contains(r.stdout+r.stderr, "PRIVATE KEY"))
				}
				checkThumbprint(t, pub, env["JWT_KEYID"])
				signEnv = with(env, "JWT_PUBLICKEY_FILE", "")
				verifyEnv = with(env, "JWT_PRIVATEKEY_FILE", "")
			}
			signEnv = with(signEnv, "JWT_ISSUER", "round-trip")
			verifyEnv = with(verifyEnv, "JWT_ISSUER", "round-trip")

			token := mintToken(t, cmd{env: signEnv}, "--sub", "alice", "--scope", `"read write"`)
			r = cmd{env: verifyEnv}.run(t, "inspect", token)
			checkResult(t, r, exitOK, []string{`"kid": "` + env["JWT_KEYID"] + `"`, "Verification: OK (" + alg + " signature"}, nil)

			// Another key of the same algorithm does not verify it.
			other := cmd{}.run(t, "keys", "gen", "--alg", alg, "--out-dir", t.TempDir())
			otherEnv := with(exports(t, other.stdout), "JWT_ISSUER", "round-trip", "JWT_KEYID", env["JWT_KEYID"], "JWT_PRIVATEKEY_FILE", "")
			r = cmd{env: otherEnv}.run(t, "inspect", token)
			checkResult(t, r, exitFailure, []string{"Verification: FAILED: bad signature"}, nil)
		})
	}
}

// checkThumbprint compares kid with the RFC 7638 thumbprint jwx computes
// for the public key file.
func checkThumbprint(t *testing.T, pubFile, kid string) {
	t.Helper()
	pub, err := manager.ParsePublicKeyPEM(readFileT(t, pubFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(sum); kid != want {
		t.Errorf("JWT_KEYID %s, want the JWK thumbprint %s", kid, want)
	}
}

func TestKeysGenOverwrite(t *testing.T) {
	dir := t.TempDir()
	gen := func(args ...string) result {
		return cmd{}.run(t, append([]string{"keys", "gen", "--alg", "ES256", "--out-dir", dir, "--name", "api"}, args...)...)
	}
	checkResult(t, gen(), exitOK, nil, nil)
	priv, pub := filepath.Join(dir, "api.private.pem"), filepath.Join(dir, "api.public.pem")
	first := readFileT(t, priv)

	r := gen()
	checkResult(t, r, exitFailure, nil, []string{"refusing to overwrite " + priv + ": use --force"})
	if r.stdout != "" || !bytes.Equal(readFileT(t, priv), first) {
		t.Errorf("refused run printed %q or changed the key", r.stdout)
	}

	// Only the public key exists: nothing is written either.
	if err := os.Remove(priv); err != nil {
		t.Fatal(err)
	}
	checkResult(t, gen(), exitFailure, nil, []string{"refusing to overwrite " + pub})
	if _, err := os.Stat(priv); !os.IsNotExist(err) {
		t.Errorf("a refused run wrote the private key: %v", err)
	}

	// --force replaces both, and narrows a widened private key file.
	if err := os.WriteFile(priv, first, 0o644); err != nil {
		t.Fatal(err)
	}
	checkResult(t, gen("--force"), exitOK, nil, nil)
	if bytes.Equal(readFileT(t, priv), first) {
		t.Errorf("--force kept the old key")
	}
	checkMode(t, priv, 0o600)
	checkMode(t, pub, 0o644)
}

func TestKeysGenErrors(t *testing.T) {
	notDir := writeFile(t, "file", []byte("x"))
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no alg", nil, exitUsage, "--alg is required"},
		{"unknown alg", []string{"--alg", "HS1"}, exitUsage, `--alg "HS1": want one of`},
		{"none", []string{"--alg", "none"}, exitUsage, `--alg "none"`},
		{"lower case", []string{"--alg", "es256"}, exitUsage, `--alg "es256"`},
		{"small RSA", []string{"--alg", "RS256", "--bits", "1024"}, exitUsage, "--bits 1024: want 2048 to 8192"},
		{"huge RSA", []string{"--alg", "PS256", "--bits", "16384"}, exitUsage, "--bits 16384"},
		{"bits for EC", []string{"--alg", "ES256", "--bits", "2048"}, exitUsage, "--bits applies to RS* and PS* only"},
		{"name with slash", []string{"--alg", "ES256", "--name", "../x"}, exitUsage, "not a path"},
		{"name dot dot", []string{"--alg", "ES256", "--name", ".."}, exitUsage, "not a path"},
		{"positional", []string{"--alg", "ES256", "keys"}, exitUsage, `unexpected argument "keys"`},
		{"out-dir is a file", []string{"--alg", "EdDSA", "--out-dir", notDir}, exitFailure, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{}.run(t, append([]string{"keys", "gen", "--out-dir", t.TempDir()}, tt.args...)...)
			checkResult(t, r, tt.code, nil, []string{tt.stderr})
			if r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/keys/a.pem":   "/tmp/keys/a.pem",
		"/tmp/my keys/a":    "'/tmp/my keys/a'",
		"/tmp/it's":         `'/tmp/it'\''s'`,
		"/tmp/$(rm -rf ~)":  "'/tmp/$(rm -rf ~)'",
		"C:/keys/x.pem":     "C:/keys/x.pem",
		"/tmp/a;echo owned": "'/tmp/a;echo owned'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
