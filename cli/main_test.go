package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testNow is the clock of the commands run by tests.
var testNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// testSecret is the HS256 secret of the tests' environment.
const testSecret = "test-secret-0123456789abcdefghijklmnop"

// result is what a command run in-process did.
type result struct {
	code           int
	stdout, stderr string
}

// cmd describes one run of the command.
type cmd struct {
	env   map[string]string
	stdin string
	now   time.Time // testNow when zero
	loc   *time.Location
}

func (c cmd) run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(c.stdin), &stdout, &stderr, func(k string) string { return c.env[k] })
	now := c.now
	if now.IsZero() {
		now = testNow
	}
	a.now = func() time.Time { return now }
	a.loc = time.UTC
	if c.loc != nil {
		a.loc = c.loc
	}
	code := a.run(args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// hsEnv is an environment that mints and verifies HS256 tokens.
func hsEnv() map[string]string {
	return map[string]string{"JWT_ISSUER": "test-issuer", "JWT_AUTHTYPE": "HS256", "JWT_SECRET": testSecret}
}

// with returns a copy of env with the variables kv (name, value, ...) set.
func with(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// writeFile writes data to name in a new temporary directory.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkResult fails unless r exited with code and its outputs hold the
// wanted texts.
func checkResult(t *testing.T, r result, code int, wantStdout, wantStderr []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range wantStdout {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	for _, w := range wantStderr {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, testSecret) {
		t.Errorf("output shows the secret")
	}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout []string
		wantStderr []string
	}{
		{"no command", nil, exitUsage, nil, []string{"Usage: protojwt <command>"}},
		{"unknown command", []string{"frobnicate"}, exitUsage, nil, []string{`unknown command "frobnicate"`}},
		{"unknown flag first", []string{"--verbose"}, exitUsage, nil, []string{`unknown command "--verbose"`}},
		{"help of unknown command", []string{"help", "frobnicate"}, exitUsage, nil, []string{`unknown command "frobnicate"`}},
		{"undefined flag", []string{"mint", "--bogus"}, exitUsage, nil, []string{"flag provided but not defined: -bogus", "protojwt mint --help"}},
		{"secret flag does not exist", []string{"mint", "--sub", "a", "--secret", testSecret}, exitUsage, nil, []string{"flag provided but not defined: -secret"}},
		{"flag without value", []string{"inspect", "--issuer"}, exitUsage, nil, []string{"flag needs an argument: -issuer"}},
		{"keys without subcommand", []string{"keys"}, exitUsage, nil, []string{"want a subcommand: gen"}},
		{"keys unknown subcommand", []string{"keys", "rotate"}, exitUsage, nil, []string{`unknown subcommand "rotate"`}},
		{"help", []string{"--help"}, exitOK, []string{"Usage: protojwt <command>", "mint", "inspect", "rules", "keys", "This build has no CEL", "celexpr/cmd/protojwt"}, nil},
		{"-h", []string{"-h"}, exitOK, []string{"Usage: protojwt <command>"}, nil},
		{"help command", []string{"help"}, exitOK, []string{"Usage: protojwt <command>"}, nil},
		{"help mint", []string{"help", "mint"}, exitOK, []string{"Usage: protojwt mint", "-sub"}, nil},
		{"mint --help", []string{"mint", "--help"}, exitOK, []string{"Usage: protojwt mint", "-claim", "-secret-file"}, nil},
		{"mint -h after flags", []string{"mint", "--sub", "a", "-h"}, exitOK, []string{"Usage: protojwt mint"}, nil},
		{"inspect --help", []string{"inspect", "--help"}, exitOK, []string{"Usage: protojwt inspect", "-no-verify"}, nil},
		{"rules --help", []string{"rules", "--help"}, exitOK, []string{"Usage: protojwt rules", "-strict", "-json"}, nil},
		{"keys --help", []string{"keys", "--help"}, exitOK, []string{"Usage: protojwt keys gen"}, nil},
		{"keys gen --help", []string{"keys", "gen", "--help"}, exitOK, []string{"Usage: protojwt keys gen", "-out-dir", "-force"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{env: hsEnv()}.run(t, tt.args...)
			checkResult(t, r, tt.code, tt.wantStdout, tt.wantStderr)
			if tt.code == exitOK && r.stderr != "" {
				t.Errorf("help wrote to stderr: %s", r.stderr)
			}
			if tt.code != exitOK && r.stdout != "" {
				t.Errorf("usage error wrote to stdout: %s", r.stdout)
			}
		})
	}
}

// TestRun runs whole command lines with the real clock, and with no
// environment at all.
func TestRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := hsEnv()
	if code := newApp(strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] }).run([]string{"mint", "--sub", "alice"}); code != exitOK {
		t.Fatalf("mint: exit %d: %s", code, stderr.String())
	}
	token := strings.TrimSpace(stdout.String())
	stdout.Reset()
	if code := newApp(strings.NewReader(token+"\n"), &stdout, &stderr, func(k string) string { return env[k] }).run([]string{"inspect", "-"}); code != exitOK {
		t.Fatalf("inspect: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Verification: OK") || !strings.Contains(stdout.String(), "expires in 1h") {
		t.Errorf("inspect of a fresh token:\n%s", stdout.String())
	}
	if code := newApp(nil, &stdout, &stderr, nil).run(nil); code != exitUsage {
		t.Errorf("no arguments, no environment: exit %d, want %d", code, exitUsage)
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		want string // positional arguments joined by "|"
	}{
		{[]string{"a.binpb", "--strict"}, "a.binpb"},
		{[]string{"--strict", "a.binpb", "b"}, "a.binpb|b"},
		{[]string{"-", "--json"}, "-"},
		{[]string{"--", "--strict"}, "--strict"},
		{[]string{"x", "--", "-y", "--json"}, "x|-y|--json"},
		{nil, ""},
	}
	for _, tt := range tests {
		a := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}, nil)
		fs := newTestFlagSet()
		got, err := a.parseFlags(fs, "", tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if strings.Join(got, "|") != tt.want {
			t.Errorf("%q: positional %q, want %q", tt.args, got, tt.want)
		}
	}
}

func newTestFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.Bool("strict", false, "")
	fs.Bool("json", false, "")
	return fs
}
