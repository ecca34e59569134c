package cli

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
	discovery                         bool // inspect only (registerRemote)
	authMaxAge, refreshMaxAge, leeway seconds
	set                               map[string]bool // the flags given, by name
}

// configUsage ends the usage of the commands that take configFlags.
const configUsage = `
Any of --secret-file, --key-file, --public-key-file, --jwks-file and
--jwks-url replaces all the key material of the environment, so that a key
given on the command line never meets a JWT_SECRET left in the shell.
`

// registerRemote adds the flags of a command that only verifies: keys
// found from the issuer's metadata.
func (c *configFlags) registerRemote(fs *flag.FlagSet) {
	fs.BoolVar(&c.discovery, "discovery", false, "verify with the JWK Set that the issuer's metadata names ({issuer}/.well-known/openid-configuration; overrides JWT_DISCOVERY)")
}

// keyFlags are the flags that say where keys come from. Giving any of them
// replaces all the key material of the environment, so that a --key-file
// never meets a JWT_SECRET left in the shell.
var keyFlags = []string{"secret-file", "key-file", "public-key-file", "jwks-file", "jwks-url", "discovery"}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.issuer, "issuer", "", "issuer, the iss claim (overrides JWT_ISSUER)")
	fs.StringVar(&c.alg, "alg", "", "algorithm: "+strings.Join(manager.Algorithms(), " ")+" (overrides JWT_AUTHTYPE)")
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
// fs must have been parsed. The flags are read as the JWT_* variables they
// override, by [manager.ConfigFromLookup]: one reading of the environment,
// the Manager's. Durations are set after it, since their flags take Go
// durations as well as seconds.
func (c *configFlags) load(fs *flag.FlagSet, getenv func(string) string) (manager.Config, error) {
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	over := map[string]string{}
	for flagName, variable := range map[string]string{"issuer": "JWT_ISSUER", "alg": "JWT_AUTHTYPE", "kid": "JWT_KEYID", "audience": "JWT_AUDIENCE"} {
		if c.set[flagName] {
			over[variable] = fs.Lookup(flagName).Value.String()
		}
	}
	keysFromFlags := false
	for _, name := range keyFlags {
		keysFromFlags = keysFromFlags || c.set[name]
	}
	if keysFromFlags {
		for _, variable := range manager.KeyVariables() {
			over[variable] = ""
		}
		for _, f := range []struct{ flag, path, variable string }{
			{"--secret-file", c.secretFile, "JWT_SECRET_FILE"},
			{"--key-file", c.keyFile, "JWT_PRIVATEKEY_FILE"},
			{"--public-key-file", c.pubKeyFile, "JWT_PUBLICKEY_FILE"},
			{"--jwks-file", c.jwksFile, "JWT_JWKS_FILE"},
		} {
			if f.path == "" {
				continue
			}
			if err := checkKeyFile(f.flag, f.path); err != nil {
				return manager.Config{}, err
			}
			over[f.variable] = f.path
		}
		over["JWT_JWKS_URL"] = c.jwksURL
		over["JWT_DISCOVERY"] = strconv.FormatBool(c.discovery)
	}
	cfg, err := manager.ConfigFromLookup(func(name string) string {
		if v, ok := over[name]; ok {
			return v
		}
		return getenv(name)
	})
	if err != nil {
		return manager.Config{}, err
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
	return cfg, nil
}

// hasKeys reports whether cfg says how to verify tokens.
func hasKeys(cfg manager.Config) bool {
	return len(cfg.Secret) > 0 || cfg.PrivateKey != nil || cfg.PublicKey != nil || len(cfg.JWKS) > 0 || cfg.JWKSURL != "" || cfg.Discovery
}

// fromJWKS reports whether cfg's keys come from a JWK Set.
func fromJWKS(cfg manager.Config) bool {
	return len(cfg.JWKS) > 0 || cfg.JWKSURL != "" || cfg.Discovery
}

// maxKeyFileSize bounds the secret, key and JWK Set files read.
const maxKeyFileSize = 1 << 20

// checkKeyFile checks, before the Manager's configuration reads it, that
// the key file named by flag exists and is no larger than maxKeyFileSize,
// so that errors name the flag and a wrong path can't make the command
// read a huge file.
func checkKeyFile(flag, path string) error {
	f, err := os.Open(path)
	if err != nil {
		// A *PathError names the path, which is not secret.
		return fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	if info.Size() > maxKeyFileSize {
		return fmt.Errorf("%s: %s is over %d bytes", flag, path, maxKeyFileSize)
	}
	return nil
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

// newManager builds the Manager of cfg with the app's clock, and explains a
// missing issuer or algorithm in terms of the variables and flags that set
// them. Keys from a JWK Set need no algorithm: the Manager takes the
// asymmetric algorithms that fit each key.
func (a *app) newManager(cfg manager.Config, opts ...manager.Option) (*manager.Manager, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("no issuer: set JWT_ISSUER or --issuer")
	case cfg.Algorithm == "" && !fromJWKS(cfg):
		return nil, errors.New("no algorithm: set JWT_AUTHTYPE or --alg")
	}
	return manager.New(cfg, append([]manager.Option{manager.WithClock(a.now)}, opts...)...)
}
