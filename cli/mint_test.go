package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// mintToken runs mint and returns the token it printed.
func mintToken(t *testing.T, c cmd, args ...string) string {
	t.Helper()
	r := c.run(t, append([]string{"mint"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("mint %q: exit %d: %s", args, r.code, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("mint wrote to stderr: %s", r.stderr)
	}
	token := strings.TrimSuffix(r.stdout, "\n")
	if strings.Count(token, ".") != 2 || strings.ContainsAny(token, " \n") {
		t.Fatalf("mint printed %q, want one compact JWS and a newline", r.stdout)
	}
	return token
}

// verifyWith verifies token with a Manager configured from the process
// environment by manager.ConfigFromEnv, after setting env with t.Setenv.
func verifyWith(t *testing.T, env map[string]string, token string) (*manager.Token, error) {
	t.Helper()
	for _, name := range jwtVariables {
		t.Setenv(name, env[name])
	}
	cfg, err := manager.ConfigFromEnv()
	if err != nil {
		t.Fatalf("manager.ConfigFromEnv: %v", err)
	}
	m, err := manager.New(cfg, manager.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("manager.New: %v", err)
	}
	return m.Verify(context.Background(), token)
}

// TestMintVerifiesWithManager checks that what mint prints is what the
// library issues: manager.Verify, configured from the same environment by
// manager.ConfigFromEnv, accepts it with every claim asked for.
func TestMintVerifiesWithManager(t *testing.T) {
	env := hsEnv()
	token := mintToken(t, cmd{env: env}, "--sub", "alice", "--scope", `{"admin":true,"projects":["apollo"]}`,
		"--claim", "role=admin", "--claim", "level=3", "--claim", `quoted="3"`, "--claim", `obj={"a":[1,true]}`)
	tok, err := verifyWith(t, env, token)
	if err != nil {
		t.Fatalf("manager.Verify: %v", err)
	}
	if tok.Type != manager.Auth || tok.Subject != "alice" {
		t.Errorf("type %q, subject %q; want auth, alice", tok.Type, tok.Subject)
	}
	wantScope := map[string]any{"admin": true, "projects": []any{"apollo"}}
	if !reflect.DeepEqual(tok.Scope, wantScope) {
		t.Errorf("scope %#v, want %#v", tok.Scope, wantScope)
	}
	for name, want := range map[string]any{
		"role": "admin", "level": 3.0, "quoted": "3", "obj": map[string]any{"a": []any{1.0, true}},
		"iss": "test-issuer",
	} {
		if got := tok.Claims[name]; !reflect.DeepEqual(got, want) {
			t.Errorf("claim %s = %#v, want %#v", name, got, want)
		}
	}
	if !tok.IssuedAt.Equal(testNow) || !tok.ExpiresAt.Equal(testNow.Add(time.Hour)) {
		t.Errorf("iat %v, exp %v; want %v and an hour later", tok.IssuedAt, tok.ExpiresAt, testNow)
	}

	refresh := mintToken(t, cmd{env: env}, "--type", "refresh", "--sub", "bob", "--ttl", "48h")
	tok, err = verifyWith(t, env, refresh)
	if err != nil {
		t.Fatalf("manager.Verify of the refresh token: %v", err)
	}
	if tok.Type != manager.Refresh || tok.Scope != nil || !tok.ExpiresAt.Equal(testNow.Add(48*time.Hour)) {
		t.Errorf("refresh token: type %q, scope %v, exp %v", tok.Type, tok.Scope, tok.ExpiresAt)
	}

	// A token of another environment does not verify.
	other := mintToken(t, cmd{env: with(env, "JWT_SECRET", strings.Repeat("x", 32))}, "--sub", "alice")
	if _, err := verifyWith(t, env, other); !errors.Is(err, manager.ErrSignature) {
		t.Errorf("token of another secret: %v, want ErrSignature", err)
	}
}

func TestMintClaimValues(t *testing.T) {
	tests := []struct {
		arg  string
		name string
		want any
	}{
		{"n=5", "n", 5.0},
		{"f=-1.5e3", "f", -1500.0},
		{"b=true", "b", true},
		{"s=abc", "s", "abc"},
		{`q="5"`, "q", "5"},
		{"empty=", "empty", ""},
		{"two=1 2", "two", "1 2"},
		{"broken=[1,", "broken", "[1,"},
		{"eq=a=b", "eq", "a=b"},
		{`arr=["x",{"y":null}]`, "arr", []any{"x", map[string]any{"y": nil}}},
		{"spaces= 7 ", "spaces", 7.0},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			token := mintToken(t, cmd{env: hsEnv()}, "--sub", "alice", "--claim", tt.arg)
			claims := payload(t, token)
			if got := claims[tt.name]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("claim %s = %#v, want %#v", tt.name, got, tt.want)
			}
		})
	}
	t.Run("large integer kept exact", func(t *testing.T) {
		token := mintToken(t, cmd{env: hsEnv()}, "--sub", "alice", "--claim", "id=12345678901234567891")
		raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
		if !strings.Contains(string(raw), `"id":12345678901234567891`) {
			t.Errorf("payload %s lost the integer's digits", raw)
		}
	})
}

func TestMintFlagsOverrideEnv(t *testing.T) {
	secretFile := writeFile(t, "secret", []byte(strings.Repeat("s", 40)+"\n"))
	env := with(hsEnv(), "JWT_PRIVATEKEY_FILE", "/nonexistent/key.pem", "JWT_AUDIENCE", "env-aud")
	token := mintToken(t, cmd{env: env}, "--sub", "alice", "--issuer", "flag-issuer", "--secret-file", secretFile,
		"--kid", "k1", "--audience", "a1, a2", "--auth-max-age", "900")
	claims := payload(t, token)
	if claims["iss"] != "flag-issuer" || !reflect.DeepEqual(claims["aud"], []any{"a1", "a2"}) {
		t.Errorf("iss %v, aud %v; want the flags' values", claims["iss"], claims["aud"])
	}
	if exp := claims["exp"].(float64); exp != float64(testNow.Add(15*time.Minute).Unix()) {
		t.Errorf("exp %v, want 15 minutes after iat", exp)
	}
	// The secret came from the file, its newline removed.
	r := cmd{env: map[string]string{"JWT_ISSUER": "flag-issuer", "JWT_AUTHTYPE": "HS256", "JWT_SECRET": strings.Repeat("s", 40), "JWT_AUDIENCE": "a2"}}.run(t, "inspect", token)
	checkResult(t, r, exitOK, []string{"Verification: OK", `"kid": "k1"`}, nil)
}

func TestMintErrors(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(ecKey.Public())
	pubFile := writeFile(t, "pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	garbage := writeFile(t, "garbage.pem", []byte("not a key"))

	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		code       int
		wantStderr string
	}{
		{"no sub", hsEnv(), nil, exitUsage, "--sub is required"},
		{"empty sub", hsEnv(), []string{"--sub", ""}, exitUsage, "--sub is required"},
		{"bad type", hsEnv(), []string{"--sub", "a", "--type", "id"}, exitUsage, `--type "id": want auth or refresh`},
		{"bad scope JSON", hsEnv(), []string{"--sub", "a", "--scope", "{admin:true}"}, exitUsage, "--scope: not JSON"},
		{"bare word scope", hsEnv(), []string{"--sub", "a", "--scope", "read"}, exitUsage, "--scope: not JSON"},
		{"two scope values", hsEnv(), []string{"--sub", "a", "--scope", "{} {}"}, exitUsage, "more than one JSON value"},
		{"scope on refresh", hsEnv(), []string{"--sub", "a", "--type", "refresh", "--scope", `"read"`}, exitUsage, "refresh tokens carry no scope"},
		{"claim without =", hsEnv(), []string{"--sub", "a", "--claim", "role"}, exitUsage, `--claim "role": want NAME=VALUE`},
		{"claim without name", hsEnv(), []string{"--sub", "a", "--claim", "=x"}, exitUsage, "empty claim name"},
		{"claim twice", hsEnv(), []string{"--sub", "a", "--claim", "r=1", "--claim", "r=2"}, exitUsage, "--claim r given twice"},
		{"reserved sub", hsEnv(), []string{"--sub", "a", "--claim", "sub=bob"}, exitUsage, `claim "sub": protojwt: reserved claim`},
		{"reserved type", hsEnv(), []string{"--sub", "a", "--claim", "type=refresh"}, exitUsage, "reserved claim"},
		{"reserved exp", hsEnv(), []string{"--sub", "a", "--claim", "exp=9999999999"}, exitUsage, "reserved claim"},
		{"reserved scope", hsEnv(), []string{"--sub", "a", "--claim", "scope=x"}, exitUsage, "reserved claim"},
		{"reserved on refresh", hsEnv(), []string{"--sub", "a", "--type", "refresh", "--claim", "iss=x"}, exitUsage, "reserved claim"},
		{"positional argument", hsEnv(), []string{"--sub", "a", "alice"}, exitUsage, `unexpected argument "alice"`},
		{"zero ttl", hsEnv(), []string{"--sub", "a", "--ttl", "0"}, exitUsage, "--ttl must be positive"},
		{"negative ttl", hsEnv(), []string{"--sub", "a", "--ttl", "-5m"}, exitUsage, "negative duration"},
		{"bad ttl", hsEnv(), []string{"--sub", "a", "--ttl", "soon"}, exitUsage, "not a duration"},
		{"no issuer", with(hsEnv(), "JWT_ISSUER", ""), []string{"--sub", "a"}, exitFailure, "no issuer: set JWT_ISSUER or --issuer"},
		{"no algorithm", with(hsEnv(), "JWT_AUTHTYPE", ""), []string{"--sub", "a"}, exitFailure, "no algorithm: set JWT_AUTHTYPE or --alg"},
		{"unknown algorithm", hsEnv(), []string{"--sub", "a", "--alg", "none"}, exitFailure, `unknown Algorithm "none"`},
		{"no key", with(hsEnv(), "JWT_SECRET", ""), []string{"--sub", "a"}, exitFailure, "no signing key"},
		{"short secret", with(hsEnv(), "JWT_SECRET", "short"), []string{"--sub", "a"}, exitFailure, "Secret is shorter than 32 bytes"},
		{"secret and secret file", with(hsEnv(), "JWT_SECRET_FILE", "/tmp/x"), []string{"--sub", "a"}, exitFailure, "both JWT_SECRET and JWT_SECRET_FILE are set"},
		{"missing secret file", hsEnv(), []string{"--sub", "a", "--secret-file", "/nonexistent/secret"}, exitFailure, "--secret-file: open /nonexistent/secret"},
		{"garbage key file", hsEnv(), []string{"--sub", "a", "--alg", "ES256", "--key-file", garbage}, exitFailure, "no PEM private key"},
		{"bad env duration", with(hsEnv(), "JWT_AUTHMAXAGE", "1h"), []string{"--sub", "a"}, exitFailure, "JWT_AUTHMAXAGE: not an integer number of seconds"},
		{"verify-only keys", hsEnv(), []string{"--sub", "a", "--alg", "ES256", "--public-key-file", pubFile}, exitFailure, "no signing key"},
		{"key of another algorithm", hsEnv(), []string{"--sub", "a", "--alg", "ES384", "--public-key-file", pubFile}, exitFailure, "ES384 needs an ECDSA key on P-384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{env: tt.env}.run(t, append([]string{"mint"}, tt.args...)...)
			checkResult(t, r, tt.code, nil, []string{tt.wantStderr})
			if r.stdout != "" {
				t.Errorf("failed mint printed %q", r.stdout)
			}
		})
	}
}

// payload decodes the claims of token without verifying it.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	d, err := decodeToken(token)
	if err != nil {
		t.Fatalf("decodeToken: %v", err)
	}
	return d.claims
}
