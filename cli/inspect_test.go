package cli

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signHS256 signs claims with testSecret, as a token maker other than
// protojwt would.
func signHS256(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestInspectWithoutKeys(t *testing.T) {
	token := mintToken(t, cmd{env: hsEnv(), now: testNow.Add(-8 * time.Minute)}, "--sub", "alice", "--scope", `{"admin":true}`, "--claim", "role=admin")
	noKeys := map[string]string{"JWT_ISSUER": "test-issuer", "JWT_AUTHTYPE": "HS256"}
	want := []string{
		"Header:\n{\n  \"alg\": \"HS256\",\n  \"typ\": \"JWT\"\n}\n",
		"Claims:\n{\n",
		`  "sub": "alice",`,
		"  \"scope\": {\n    \"admin\": true\n  },",
		"  iat  2026-03-01 09:52:00 UTC  issued 8m ago\n",
		"  nbf  2026-03-01 09:52:00 UTC  valid since 8m ago\n",
		"  exp  2026-03-01 10:52:00 UTC  expires in 52m\n",
		"Verification: signature not checked (no key configured",
	}
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"argument", "", []string{token}},
		{"stdin dash", token + "\n", []string{"-"}},
		{"stdin absent", "  " + token + "\n\n", nil},
		{"bearer prefix", "Bearer " + token, nil},
		{"flags after the token", "", []string{token, "--leeway", "5"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{env: noKeys, stdin: tt.stdin}.run(t, append([]string{"inspect"}, tt.args...)...)
			checkResult(t, r, exitOK, want, nil)
			if r.stderr != "" {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}

	t.Run("local time", func(t *testing.T) {
		r := cmd{env: noKeys, loc: time.FixedZone("CET", 3600)}.run(t, "inspect", token)
		checkResult(t, r, exitOK, []string{"  exp  2026-03-01 11:52:00 CET  expires in 52m\n"}, nil)
	})
	t.Run("no-verify with keys", func(t *testing.T) {
		r := cmd{env: hsEnv()}.run(t, "inspect", "--no-verify", token)
		checkResult(t, r, exitOK, []string{"Verification: signature not checked (--no-verify)"}, nil)
	})
}

func TestInspectVerifies(t *testing.T) {
	token := mintToken(t, cmd{env: hsEnv()}, "--sub", "alice")
	r := cmd{env: hsEnv(), now: testNow.Add(20 * time.Minute)}.run(t, "inspect", token)
	checkResult(t, r, exitOK, []string{
		"issued 20m ago", "expires in 40m",
		`Verification: OK (HS256 signature, issuer "test-issuer", exp, nbf and iat checked)`,
	}, nil)

	expired := mintToken(t, cmd{env: hsEnv(), now: testNow.Add(-3 * time.Hour)}, "--sub", "alice")
	r = cmd{env: hsEnv()}.run(t, "inspect", "--leeway", "2h1m", expired)
	checkResult(t, r, exitOK, []string{"expired 2h ago", "Verification: OK"}, nil)
}

// TestInspectRefuses runs inspect on tokens a server would refuse: it must
// say why and exit 1.
func TestInspectRefuses(t *testing.T) {
	env := hsEnv()
	fresh := mintToken(t, cmd{env: env}, "--sub", "alice")
	expired := mintToken(t, cmd{env: env, now: testNow.Add(-4*time.Hour - 10*time.Minute)}, "--sub", "alice")
	early := mintToken(t, cmd{env: env, now: testNow.Add(time.Hour)}, "--sub", "alice")
	audienced := mintToken(t, cmd{env: env}, "--sub", "alice", "--audience", "billing")
	untyped := signHS256(t, jwt.MapClaims{"iss": "test-issuer", "sub": "alice", "iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix()})
	tampered := fresh[:strings.LastIndexByte(fresh, '.')+1] + b64("not the signature")

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		stdout string
		stderr string
	}{
		{"expired", env, []string{expired}, "  exp  2026-03-01 06:50:00 UTC  expired 3h10m ago\n", "token does not verify: expired 3h10m ago"},
		{"expired beyond the leeway", env, []string{expired, "--leeway", "3h"}, "Verification: FAILED: expired 3h10m ago (leeway 3h0m0s)", "token does not verify: expired 3h10m ago"},
		{"not yet valid", env, []string{early}, "issued in 1h (in the future)", "not valid yet"},
		{"wrong secret", with(env, "JWT_SECRET", strings.Repeat("w", 32)), []string{fresh}, "Verification: FAILED: bad signature", "bad signature"},
		{"tampered signature", env, []string{tampered}, "Verification: FAILED: bad signature", "protojwt: invalid signature"},
		{"wrong issuer", with(env, "JWT_ISSUER", "billing"), []string{fresh}, `wrong issuer: the token's iss is "test-issuer", the configured issuer "billing"`, "wrong issuer"},
		{"wrong algorithm", with(env, "JWT_AUTHTYPE", "HS384"), []string{fresh}, `wrong algorithm: the token says "HS256", the configuration HS384`, "unexpected signing algorithm"},
		{"wrong audience", with(env, "JWT_AUDIENCE", "orders"), []string{audienced}, `wrong audience: the token's aud is "billing"`, "wrong audience"},
		{"no audience", with(env, "JWT_AUDIENCE", "orders"), []string{fresh}, "the token's aud is absent", "wrong audience"},
		{"alg none", env, []string{b64(`{"alg":"none","typ":"JWT"}`) + "." + strings.Split(fresh, ".")[1] + "."}, `wrong algorithm: the token says "none"`, "unexpected signing algorithm"},
		{"untyped token", env, []string{untyped}, "Verification: FAILED: malformed", "type claim missing"},
		{"asymmetric config, HS token", with(env, "JWT_SECRET", "", "JWT_AUTHTYPE", "EdDSA", "JWT_PUBLICKEY", edPublicPEM(t)), []string{fresh}, "wrong algorithm", "unexpected signing algorithm"},
		{"keys but no issuer", with(env, "JWT_ISSUER", ""), []string{fresh}, "Verification: signature not checked: the key configuration can't be used", "no issuer"},
		{"unusable key config", with(env, "JWT_SECRET", "short"), []string{fresh}, "Verification: signature not checked", "Secret is shorter than 32 bytes"},
		{"both secret variables", with(env, "JWT_SECRET_FILE", "/tmp/secret"), []string{fresh}, "Verification: signature not checked", "both JWT_SECRET and JWT_SECRET_FILE are set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{env: tt.env}.run(t, append([]string{"inspect"}, tt.args...)...)
			checkResult(t, r, exitFailure, []string{"Header:", "Claims:", tt.stdout}, []string{"protojwt inspect: ", tt.stderr})
			if strings.Contains(r.stderr, tt.args[0]) {
				t.Errorf("stderr quotes the token")
			}
		})
	}
}

func edPublicPEM(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r := cmd{}.run(t, "keys", "gen", "--alg", "EdDSA", "--out-dir", dir)
	if r.code != exitOK {
		t.Fatalf("keys gen: %s", r.stderr)
	}
	return string(readFileT(t, dir+"/protojwt-eddsa.public.pem"))
}

// TestInspectBadInput runs inspect on input that is not a token.
func TestInspectBadInput(t *testing.T) {
	header := b64(`{"alg":"HS256","typ":"JWT"}`)
	claims := b64(`{"sub":"alice"}`)
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"empty argument", "", []string{""}, exitFailure, "no token: the input is empty"},
		{"empty stdin", "", nil, exitFailure, "no token: the input is empty"},
		{"blank stdin", " \n\t\n", []string{"-"}, exitFailure, "no token: the input is empty"},
		{"bearer only", "Bearer   ", nil, exitFailure, "want 3 dot-separated segments, got 1"},
		{"one segment", "", []string{"sekrit-looking-garbage"}, exitFailure, "want 3 dot-separated segments, got 1"},
		{"two segments", "", []string{header + "." + claims}, exitFailure, "got 2"},
		{"four segments", "", []string{header + "." + claims + ".x.y"}, exitFailure, "got 4"},
		{"JWE", "", []string{"a.b.c.d.e"}, exitFailure, "encrypted token (JWE)"},
		{"header not base64", "", []string{"%%%." + claims + ".c2ln"}, exitFailure, "the header is not base64url"},
		{"header not JSON", "", []string{b64("alg=HS256") + "." + claims + ".c2ln"}, exitFailure, "the header is not a JSON object"},
		{"header null", "", []string{b64("null") + "." + claims + ".c2ln"}, exitFailure, "the header is not a JSON object"},
		{"payload an array", "", []string{header + "." + b64(`["sub"]`) + ".c2ln"}, exitFailure, "the payload is not a JSON object"},
		{"payload truncated", "", []string{header + "." + b64(`{"sub":`) + ".c2ln"}, exitFailure, "the payload is not a JSON object"},
		{"payload two objects", "", []string{header + "." + b64(`{}{}`) + ".c2ln"}, exitFailure, "the payload is not a JSON object"},
		{"signature not base64", "", []string{header + "." + claims + ".!!"}, exitFailure, "the signature is not base64url"},
		{"token with a space", "", []string{header + ". " + claims + ".c2ln"}, exitFailure, "the payload is not base64url"},
		{"stdin too large", strings.Repeat("a", maxTokenInput+1), nil, exitFailure, "stdin holds over"},
		{"two tokens", "", []string{"a.b.c", "d.e.f"}, exitUsage, "want one TOKEN, got 2 arguments"},
		{"bad leeway flag", "", []string{"--leeway", "soon", "a.b.c"}, exitUsage, `invalid value "soon" for flag -leeway`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{env: hsEnv(), stdin: tt.stdin}.run(t, append([]string{"inspect"}, tt.args...)...)
			checkResult(t, r, tt.code, nil, []string{tt.stderr})
			if r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
			if strings.Contains(r.stderr, "sekrit") {
				t.Errorf("stderr quotes the input")
			}
		})
	}

	t.Run("bad times shown as such", func(t *testing.T) {
		token := header + "." + b64(`{"exp":"tomorrow","iat":-5}`) + ".c2ln"
		r := cmd{}.run(t, "inspect", token)
		checkResult(t, r, exitOK, []string{"  iat  not a NumericDate", "  exp  not a NumericDate", "signature not checked"}, nil)
	})
}

func TestRelative(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{45 * time.Second, "45s"},
		{90 * time.Second, "1m30s"},
		{52*time.Minute + 59*time.Second, "52m59s"},
		{52 * time.Minute, "52m"},
		{3 * time.Hour, "3h"},
		{3*time.Hour + 12*time.Minute + 30*time.Second, "3h12m"},
		{-3 * time.Hour, "3h"},
		{52 * time.Hour, "2d4h"},
		{7 * 24 * time.Hour, "7d"},
	}
	for _, tt := range tests {
		if got := relative(tt.d); got != tt.want {
			t.Errorf("relative(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// FuzzInspect runs inspect on arbitrary input: it never panics, exits 0 or
// 1, and never writes the input to stderr.
func FuzzInspect(f *testing.F) {
	f.Add("")
	f.Add("a.b.c")
	f.Add("Bearer " + b64(`{"alg":"HS256"}`) + "." + b64(`{"exp":1e300,"iat":-1,"nbf":"x"}`) + ".")
	f.Add(b64(`{"alg":"HS256"}`) + "." + b64(`{"exp":1772351400,"iat":1772347800,"iss":"test-issuer","type":"auth"}`) + ".c2ln")
	f.Fuzz(func(t *testing.T, input string) {
		r := cmd{env: hsEnv(), stdin: input}.run(t, "inspect")
		if r.code != exitOK && r.code != exitFailure {
			t.Fatalf("exit code %d: %s", r.code, r.stderr)
		}
		if len(input) >= 16 && strings.Contains(r.stderr, input) {
			t.Fatalf("stderr quotes the input: %s", r.stderr)
		}
	})
}
