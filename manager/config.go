package manager

import (
	"crypto"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by New to a zero Config field.
const (
	defaultAuthMaxAge    = time.Hour
	defaultRefreshMaxAge = 7 * 24 * time.Hour
)

// Config says how a Manager issues and verifies tokens. The zero values of
// AuthMaxAge and RefreshMaxAge select their defaults; New checks the rest.
type Config struct {
	// Issuer is the "iss" claim of issued tokens and the only issuer Verify
	// accepts. Required. Environment: JWT_ISSUER.
	Issuer string
	// Algorithm is the JWS algorithm of issued tokens, and the one Verify
	// accepts unless Algorithms says otherwise: HS256, HS384, HS512, RS256,
	// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA.
	// Required, an empty Algorithm being refused rather than guessed,
	// except for a Manager whose keys come from a JWK Set (JWKSURL, JWKS,
	// Discovery), which issues nothing. Environment: JWT_AUTHTYPE.
	Algorithm string
	// Algorithms are the JWS algorithms Verify accepts; a token of any
	// other, "none" included, is refused with [ErrAlgorithm]. By default,
	// Algorithm alone, or for a Manager whose keys come from a JWK Set and
	// that leaves Algorithm empty, every asymmetric algorithm: RS256,
	// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA.
	// With a JWK Set a key verifies only the listed algorithms that fit
	// its kind and curve and, when the JWK names one, its "alg": an RSA key
	// never verifies an ES256 token. HS algorithms are refused with a JWK
	// Set, whose keys are public. The Manager's own keys (Secret,
	// PrivateKey, PublicKey, and those RotateKey and AddKey take) must fit
	// every listed algorithm, and Algorithm must be one of them.
	// Environment: JWT_ALGORITHMS (comma separated).
	Algorithms []string
	// Secret is the HMAC key of the HS algorithms, at least 32 bytes, and
	// must be empty for the others. Environment: JWT_SECRET or
	// JWT_SECRET_FILE.
	Secret []byte
	// PrivateKey signs tokens for the RS, PS, ES and EdDSA algorithms: an
	// *[rsa.PrivateKey] (RS, PS; at least 2048 bits), an *[ecdsa.PrivateKey] on
	// P-256, P-384 or P-521 (ES256, ES384, ES512), or an [ed25519.PrivateKey]
	// or any other [crypto.Signer] of an Ed25519 key (EdDSA). Nil makes a
	// verify-only Manager. Environment: JWT_PRIVATEKEY (PEM text) or
	// JWT_PRIVATEKEY_FILE (path of a PEM file).
	PrivateKey crypto.Signer
	// PublicKey verifies tokens for the RS, PS, ES and EdDSA algorithms. When
	// nil it is derived from PrivateKey; when both are set they must form a
	// pair. Environment: JWT_PUBLICKEY (PEM text) or JWT_PUBLICKEY_FILE.
	PublicKey crypto.PublicKey
	// KeyID is the "kid" header of issued tokens; no header when empty. It
	// is also the ID of the key in the Manager's key set: once a Manager
	// knows a key by ID, Verify selects keys by the tokens' kid (see
	// RotateKey). Environment: JWT_KEYID.
	KeyID string
	// AuthMaxAge is the lifetime of auth tokens, 1 hour when zero.
	// Environment: JWT_AUTHMAXAGE (integer seconds).
	AuthMaxAge time.Duration
	// RefreshMaxAge is the lifetime of refresh tokens, 7 days when zero.
	// Environment: JWT_REFRESHMAXAGE (integer seconds).
	RefreshMaxAge time.Duration
	// Audience, when not empty, is the "aud" claim of issued tokens, and
	// Verify accepts only tokens whose "aud" names at least one of these.
	// Environment: JWT_AUDIENCE (comma separated).
	Audience []string
	// Leeway is the clock skew allowed when Verify checks exp, nbf and iat.
	// Environment: JWT_LEEWAY (integer seconds).
	Leeway time.Duration
	// JWKSURL, when set, is the URL of a JWK Set (RFC 7517) whose keys
	// verify tokens, such as an identity provider's
	// "https://idp.example.com/.well-known/jwks.json". The Manager then only
	// verifies, with the keys of the set, refreshed in the background (see
	// Open). The URL must be https, or http to a loopback host; Secret,
	// PrivateKey, PublicKey, KeyID and JWKS must be empty, Discovery false,
	// and Algorithm empty or one of the RS, PS, ES or EdDSA algorithms (see
	// Algorithms). Environment: JWT_JWKS_URL.
	JWKSURL string
	// JWKS, when set, is a JWK Set document whose keys verify tokens, fixed
	// for the Manager's life, under the same rules as JWKSURL. Keys that
	// can't verify any of Algorithms are left out; a set left without keys is
	// refused. Environment: JWT_JWKS (the document) or JWT_JWKS_FILE (the
	// path of a file holding it).
	JWKS []byte
	// Discovery, when true, finds the JWK Set in the metadata the issuer
	// publishes: the "jwks_uri" of {Issuer}/.well-known/openid-configuration
	// (OpenID Connect Discovery), or when that is not found (404), of RFC
	// 8414's /.well-known/oauth-authorization-server inserted before
	// Issuer's path. The document's "issuer" must equal Issuer exactly.
	// Issuer and jwks_uri obey JWKSURL's rules (https, or http to a
	// loopback host), and the metadata is fetched as the JWK Set is:
	// within [WithJWKSTimeout], with [WithJWKSHTTPClient], no redirect that
	// leaves https, a body of at most 256 KiB. The keys are then those of
	// a JWKSURL, and the metadata is read again on the JWK Set's refresh
	// schedule ([WithJWKSRefreshInterval]), so that a provider that moves
	// its keys to another jwks_uri is followed; a failed reading keeps the
	// keys held. Exclusive with JWKSURL, JWKS and the Manager's own keys.
	// Environment: JWT_DISCOVERY ("true" or "1"; "false", "0" or empty
	// leave it off).
	Discovery bool
	// ScopeClaims are the claims whose values grant the OAuth scope names
	// that rules require (the `scopes` of a rule, httpauth.Scopes): each a
	// space-separated string, a list of strings, or an object whose keys
	// with a truthy value are the names. A name is granted when any of
	// them grants it. Names are taken whole, so "cognito:groups" works.
	// By default, ["scope"]. Okta and Entra ID put scopes in "scp", Auth0's
	// RBAC puts permissions in "permissions": ["scope", "permissions"].
	// The `scope` rule (JSON containment) reads the "scope" claim
	// whatever this says. Environment: JWT_SCOPE_CLAIMS (comma separated).
	ScopeClaims []string
}

// defaultScopeClaims is Config.ScopeClaims when it is empty.
var defaultScopeClaims = []string{"scope"}

// ConfigFromEnv reads a Config from the JWT_* environment variables listed on
// the fields of Config. Unset and empty variables leave their field zero.
//
// A key or secret is read from the variable itself or from the file named by
// the variable with a _FILE suffix, never both. Keys are PEM: PKCS #8, PKCS #1
// (RSA) or SEC 1 (EC) private keys; PKIX or PKCS #1 public keys, or a
// certificate. One trailing newline of a JWT_SECRET_FILE is removed, as
// written by echo or an editor. Durations are integer seconds, not negative.
// JWT_AUDIENCE, JWT_ALGORITHMS and JWT_SCOPE_CLAIMS are split on commas,
// each value trimmed, empty values dropped.
//
// Errors wrap [ErrConfig] and name the variable, never its value. [ConfigFromEnv]
// does not check the Config as a whole: New does.
func ConfigFromEnv() (Config, error) {
	return ConfigFromLookup(os.Getenv)
}

// ConfigFromLookup is [ConfigFromEnv] reading the variables with getenv
// instead of from the process environment: for a command that layers flags
// over the environment, or a test with an environment of its own.
func ConfigFromLookup(getenv func(string) string) (Config, error) {
	env := environment(getenv)
	cfg := Config{
		Issuer:    getenv("JWT_ISSUER"),
		Algorithm: getenv("JWT_AUTHTYPE"),
		KeyID:     getenv("JWT_KEYID"),
		Audience:  splitList(getenv("JWT_AUDIENCE")),
		JWKSURL:   strings.TrimSpace(getenv("JWT_JWKS_URL")),

		Algorithms:  splitList(getenv("JWT_ALGORITHMS")),
		ScopeClaims: splitList(getenv("JWT_SCOPE_CLAIMS")),
	}
	switch v := strings.TrimSpace(getenv("JWT_DISCOVERY")); strings.ToLower(v) {
	case "", "false", "0":
	case "true", "1":
		cfg.Discovery = true
	default:
		return Config{}, fmt.Errorf(`manager: JWT_DISCOVERY: not "true", "1", "false" or "0": %w`, ErrConfig)
	}

	secret, err := env.secret("JWT_SECRET")
	if err != nil {
		return Config{}, err
	}
	cfg.Secret = secret
	if cfg.JWKS, _, err = env.valueOrFile("JWT_JWKS"); err != nil {
		return Config{}, err
	}

	if pemText, name, err := env.valueOrFile("JWT_PRIVATEKEY"); err != nil {
		return Config{}, err
	} else if pemText != nil {
		if cfg.PrivateKey, err = ParsePrivateKeyPEM(pemText); err != nil {
			return Config{}, fmt.Errorf("manager: %s: %w: %w", name, err, ErrConfig)
		}
	}
	if pemText, name, err := env.valueOrFile("JWT_PUBLICKEY"); err != nil {
		return Config{}, err
	} else if pemText != nil {
		if cfg.PublicKey, err = ParsePublicKeyPEM(pemText); err != nil {
			return Config{}, fmt.Errorf("manager: %s: %w: %w", name, err, ErrConfig)
		}
	}

	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"JWT_AUTHMAXAGE", &cfg.AuthMaxAge},
		{"JWT_REFRESHMAXAGE", &cfg.RefreshMaxAge},
		{"JWT_LEEWAY", &cfg.Leeway},
	} {
		if *d.dst, err = env.seconds(d.name); err != nil {
			return Config{}, err
		}
	}
	return cfg, nil
}

// Algorithms returns the names of the JWS algorithms a Manager issues and
// verifies, the values Config.Algorithm (JWT_AUTHTYPE) takes: HS256,
// HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384,
// ES512 and EdDSA, in this order. The caller owns the slice.
func Algorithms() []string {
	return slices.Clone(algorithmNames)
}

// KeyVariables returns the names of the environment variables that
// [ConfigFromEnv] reads key material from: the secret, the private and
// public keys and the JWK Set, each as a value and as a _FILE path,
// JWT_JWKS_URL and JWT_DISCOVERY. A command that takes its keys from elsewhere (flags) can
// hide these from [ConfigFromLookup] so that no key of the environment mixes
// with its own. The caller owns the slice.
func KeyVariables() []string {
	return slices.Clone(keyVariables)
}

// keyVariables are the variables of key material, in the order of Config's
// fields.
var keyVariables = []string{
	"JWT_SECRET", "JWT_SECRET_FILE",
	"JWT_PRIVATEKEY", "JWT_PRIVATEKEY_FILE",
	"JWT_PUBLICKEY", "JWT_PUBLICKEY_FILE",
	"JWT_JWKS_URL", "JWT_JWKS", "JWT_JWKS_FILE", "JWT_DISCOVERY",
}

// environment reads configuration variables.
type environment func(string) string

// secret returns the value of name or the content of the file named by
// name_FILE, or nil when neither is set.
func (env environment) secret(name string) ([]byte, error) {
	b, from, err := env.valueOrFile(name)
	if err != nil || b == nil {
		return nil, err
	}
	if from != name {
		b = trimNewline(b)
	}
	return b, nil
}

// valueOrFile returns the value of the variable name, or the content of the
// file named by name_FILE, and which variable it came from. It returns nil
// when neither is set and an error when both are.
func (env environment) valueOrFile(name string) ([]byte, string, error) {
	fileVar := name + "_FILE"
	value, path := env(name), env(fileVar)
	switch {
	case value != "" && path != "":
		return nil, "", fmt.Errorf("manager: both %s and %s are set: %w", name, fileVar, ErrConfig)
	case value != "":
		return []byte(value), name, nil
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			// The *PathError names the path, which is not secret.
			return nil, "", fmt.Errorf("manager: %s: %w: %w", fileVar, err, ErrConfig)
		}
		return b, fileVar, nil
	}
	return nil, "", nil
}

// seconds parses the variable name as a non-negative integer number of
// seconds; unset is zero.
func (env environment) seconds(name string) (time.Duration, error) {
	s := strings.TrimSpace(env(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("manager: %s: not an integer number of seconds: %w", name, ErrConfig)
	}
	if n < 0 || n > math.MaxInt64/int64(time.Second) {
		return 0, fmt.Errorf("manager: %s: seconds out of range: %w", name, ErrConfig)
	}
	return time.Duration(n) * time.Second, nil
}

// splitList splits a comma separated list, trimming the values and dropping
// empty ones. It returns nil for an empty list.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}
