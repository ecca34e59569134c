package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// configFlags are the flags of mint and inspect that override the JWT_*
// environment. There is deliberately no flag taking a secret or a key
// itself: command lines are visible to other users (ps) and kept in shell
// history, so key material comes from files or the environment only.
type configFlags struct {
	issuer, alg, kid, audience        string
	secretFile, keyFile, pubKeyFile   string
	jwksFile, jwksURL                 string
	authMaxAge, refreshMaxAge, leeway seconds
	set                               map[string]bool // the flags given, by name
}

// configUsage ends the usage of the commands that take configFlags.
const configUsage = `
Any of --secret-file, --key-file, --public-key-file, --jwks-file and
--jwks-url replaces all the key material of the environment, so that a key
given on the command line never meets a JWT_SECRET left in the shell.
`

// keyFlags are the flags that say where keys come from. Giving any of them
// replaces all the key material of the environment, so that a --key-file
// never meets a JWT_SECRET left in the shell.
var keyFlags = []string{"secret-file", "key-file", "public-key-file", "jwks-file", "jwks-url"}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.issuer, "issuer", "", "issuer, the iss claim (overrides JWT_ISSUER)")
	fs.StringVar(&c.alg, "alg", "", "algorithm: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA (overrides JWT_AUTHTYPE)")
	fs.StringVar(&c.kid, "kid", "", "key ID, the kid header (overrides JWT_KEYID)")
	fs.StringVar(&c.audience, "audience", "", "audiences, comma separated (overrides JWT_AUDIENCE)")
	fs.StringVar(&c.secretFile, "secret-file", "", "`file` holding the HS* secret, one trailing newline ignored (overrides JWT_SECRET, JWT_SECRET_FILE)")
	fs.StringVar(&c.keyFile, "key-file", "", "PEM `file` of the private key (overrides JWT_PRIVATEKEY, JWT_PRIVATEKEY_FILE)")
	fs.StringVar(&c.pubKeyFile, "public-key-file", "", "PEM `file` of the public key (overrides JWT_PUBLICKEY, JWT_PUBLICKEY_FILE)")
	fs.StringVar(&c.jwksFile, "jwks-file", "", "`file` holding a JWK Set whose keys verify (overrides JWT_JWKS, JWT_JWKS_FILE)")
	fs.StringVar(&c.jwksURL, "jwks-url", "", "`URL` of a JWK Set whose keys verify (overrides JWT_JWKS_URL)")
	fs.Var(&c.authMaxAge, "auth-max-age", "lifetime of auth tokens: a `duration` (15m) or seconds (overrides JWT_AUTHMAXAGE)")
	fs.Var(&c.refreshMaxAge, "refresh-max-age", "lifetime of refresh tokens: a `duration` or seconds (overrides JWT_REFRESHMAXAGE)")
	fs.Var(&c.leeway, "leeway", "clock skew allowed on exp, nbf, iat: a `duration` or seconds (overrides JWT_LEEWAY)")
}

// load returns the Config of the environment overridden by the flags given;
// fs must have been parsed.
func (c *configFlags) load(fs *flag.FlagSet, getenv func(string) string) (manager.Config, error) {
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	keysFromFlags := false
	for _, name := range keyFlags {
		keysFromFlags = keysFromFlags || c.set[name]
	}
	cfg, err := configFromEnv(getenv, !keysFromFlags)
	if err != nil {
		return manager.Config{}, err
	}
	if c.set["issuer"] {
		cfg.Issuer = c.issuer
	}
	if c.set["alg"] {
		cfg.Algorithm = c.alg
	}
	if c.set["kid"] {
		cfg.KeyID = c.kid
	}
	if c.set["audience"] {
		cfg.Audience = splitList(c.audience)
	}
	if c.set["auth-max-age"] {
		cfg.AuthMaxAge = time.Duration(c.authMaxAge)
	}
	if c.set["refresh-max-age"] {
		cfg.RefreshMaxAge = time.Duration(c.refreshMaxAge)
	}
	if c.set["leeway"] {
		cfg.Leeway = time.Duration(c.leeway)
	}
	if !keysFromFlags {
		return cfg, nil
	}
	if c.secretFile != "" {
		b, err := readFile("--secret-file", c.secretFile)
		if err != nil {
			return manager.Config{}, err
		}
		cfg.Secret = trimNewline(b)
	}
	if c.keyFile != "" {
		if cfg.PrivateKey, err = readPEMFile("--key-file", c.keyFile, manager.ParsePrivateKeyPEM); err != nil {
			return manager.Config{}, err
		}
	}
	if c.pubKeyFile != "" {
		if cfg.PublicKey, err = readPEMFile("--public-key-file", c.pubKeyFile, manager.ParsePublicKeyPEM); err != nil {
			return manager.Config{}, err
		}
	}
	if c.jwksFile != "" {
		if cfg.JWKS, err = readFile("--jwks-file", c.jwksFile); err != nil {
			return manager.Config{}, err
		}
	}
	cfg.JWKSURL = strings.TrimSpace(c.jwksURL)
	return cfg, nil
}

// hasKeys reports whether cfg says how to verify tokens.
func hasKeys(cfg manager.Config) bool {
	return len(cfg.Secret) > 0 || cfg.PrivateKey != nil || cfg.PublicKey != nil || len(cfg.JWKS) > 0 || cfg.JWKSURL != ""
}

// keyVariables are the JWT_* variables that carry key material.
var keyVariables = map[string]bool{
	"JWT_SECRET": true, "JWT_SECRET_FILE": true,
	"JWT_PRIVATEKEY": true, "JWT_PRIVATEKEY_FILE": true,
	"JWT_PUBLICKEY": true, "JWT_PUBLICKEY_FILE": true,
	"JWT_JWKS": true, "JWT_JWKS_FILE": true, "JWT_JWKS_URL": true,
}

// configFromEnv is manager.ConfigFromEnv reading getenv. With withKeys
// false it leaves the key material (secret, keys, JWK Set) out, unread.
func configFromEnv(getenv func(string) string, withKeys bool) (manager.Config, error) {
	lookup := getenv
	if !withKeys {
		lookup = func(name string) string {
			if keyVariables[name] {
				return ""
			}
			return getenv(name)
		}
	}
	return manager.ConfigFromLookup(lookup)
}

// maxKeyFileSize bounds the secret, key and JWK Set files read.
const maxKeyFileSize = 1 << 20

// readFile reads a key file named by the flag or variable from.
func readFile(from, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		// A *PathError names the path, which is not secret.
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("%s: %s is over %d bytes", from, path, maxKeyFileSize)
	}
	return b, nil
}

func readPEMFile[K any](from, path string, parse func([]byte) (K, error)) (K, error) {
	var zero K
	b, err := readFile(from, path)
	if err != nil {
		return zero, err
	}
	k, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("%s: %s: %w", from, path, err)
	}
	return k, nil
}

// seconds is a duration flag that takes a Go duration ("90s", "15m") or,
// like the JWT_* variables, an integer number of seconds ("900").
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	d, err := parseSeconds(v)
	if err != nil {
		return err
	}
	*s = seconds(d)
	return nil
}

func parseSeconds(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/int64(time.Second) {
			return 0, errors.New("seconds out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("not a duration (15m, 1h30m) or a number of seconds")
	}
	if d < 0 {
		return 0, errors.New("negative duration")
	}
	return d, nil
}

// splitList splits a comma separated list as manager.ConfigFromEnv does:
// values trimmed, empty ones dropped, nil when none is left.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// trimNewline removes one trailing "\n" or "\r\n", as editors and echo
// leave at the end of a secret file.
func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// newManager builds the Manager of cfg with the app's clock, and explains a
// missing issuer or algorithm in terms of the variables and flags that set
// them.
func (a *app) newManager(cfg manager.Config, opts ...manager.Option) (*manager.Manager, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("no issuer: set JWT_ISSUER or --issuer")
	case cfg.Algorithm == "":
		return nil, errors.New("no algorithm: set JWT_AUTHTYPE or --alg")
	}
	return manager.New(cfg, append([]manager.Option{manager.WithClock(a.now)}, opts...)...)
}
