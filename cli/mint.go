package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/protojwt/protojwt/manager"
)

const mintUsage = `Usage: protojwt mint --sub SUBJECT [--type auth|refresh] [--scope JSON] [--claim NAME=VALUE]... [flags]

Issues a token signed with the configured key and prints it, for a quick
call with grpcurl or curl:

  grpcurl -H "authorization: Bearer $(protojwt mint --sub alice)" ...

The key and settings come from the JWT_* environment (JWT_ISSUER,
JWT_AUTHTYPE, JWT_SECRET or JWT_SECRET_FILE, JWT_PRIVATEKEY_FILE, JWT_KEYID,
JWT_AUDIENCE, JWT_AUTHMAXAGE, ...) and the flags below, which override it.
A secret is read from a file or the environment, never from the command line.

--claim adds a custom claim; VALUE is JSON when it parses as JSON (5, true,
{"a":1}, "quoted") and a string otherwise. Repeat it for several claims.
Claims the token sets itself (iss sub aud exp nbf iat jti type scope fam)
can't be given.
`

const noSigningKey = "no signing key: set JWT_SECRET, JWT_SECRET_FILE or --secret-file (HS*), or JWT_PRIVATEKEY_FILE or --key-file"

// mintFlags are the flags of mint.
type mintFlags struct {
	configFlags
	sub    string
	typ    string
	scope  string
	claims stringList
	ttl    seconds
}

func (a *app) mint(args []string) error {
	const name = "mint"
	var f mintFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&f.sub, "sub", "", "subject, the sub claim (required)")
	fs.StringVar(&f.typ, "type", "auth", "token type: auth or refresh")
	fs.StringVar(&f.scope, "scope", "", "scope claim of an auth token: a `JSON` value, such as '{\"admin\":true}' or '\"read write\"'")
	fs.Var(&f.claims, "claim", "custom claim `NAME=VALUE`, VALUE parsed as JSON when it is JSON, else a string; repeatable")
	fs.Var(&f.ttl, "ttl", "lifetime of this token: a `duration` or seconds (default: --auth-max-age or --refresh-max-age)")
	f.register(fs)
	positional, err := a.parseFlags(fs, mintUsage+configUsage, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usageErrorf(name, "unexpected argument %q: every input is a flag", positional[0])
	}
	if f.sub == "" {
		return usageErrorf(name, "--sub is required")
	}
	typ := manager.TokenType(f.typ)
	if typ != manager.Auth && typ != manager.Refresh {
		return usageErrorf(name, "--type %q: want auth or refresh", f.typ)
	}
	scope, err := parseScope(f.scope)
	if err != nil {
		return usageErrorf(name, "--scope: %v", err)
	}
	if scope != nil && typ == manager.Refresh {
		return usageErrorf(name, "--scope: refresh tokens carry no scope")
	}
	claims, err := parseClaims(f.claims)
	if err != nil {
		return usageErrorf(name, "%v", err)
	}
	ttlSet := false
	fs.Visit(func(fl *flag.Flag) { ttlSet = ttlSet || fl.Name == "ttl" })
	if ttlSet && f.ttl <= 0 {
		return usageErrorf(name, "--ttl must be positive")
	}

	cfg, err := f.load(fs, a.getenv)
	if err != nil {
		return err
	}
	if ttlSet {
		if typ == manager.Auth {
			cfg.AuthMaxAge = time.Duration(f.ttl)
		} else {
			cfg.RefreshMaxAge = time.Duration(f.ttl)
		}
	}
	if !hasKeys(cfg) {
		return errors.New(noSigningKey)
	}
	m, err := a.newManager(cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	var tok *manager.Token
	if typ == manager.Auth {
		tok, err = m.AuthToken(f.sub, scope, claims)
	} else {
		tok, err = m.RefreshToken(f.sub, claims)
	}
	switch {
	case errors.Is(err, manager.ErrReservedClaim):
		return usageErrorf(name, "--claim: %v", strings.TrimPrefix(err.Error(), "manager: "))
	case errors.Is(err, manager.ErrConfig) && cfg.PrivateKey == nil && len(cfg.Secret) == 0:
		return fmt.Errorf("%s: %w", noSigningKey, err)
	case err != nil:
		return err
	}
	fmt.Fprintln(a.stdout, tok.Signed)
	return nil
}

// parseScope decodes the --scope value; "" and "null" are no scope.
func parseScope(s string) (any, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	v, err := decodeJSON(s)
	if err != nil {
		return nil, fmt.Errorf("not JSON (%v); quote a string scope: '\"read write\"'", err)
	}
	return v, nil
}

// parseClaims decodes the --claim values NAME=VALUE: VALUE is JSON when it
// parses as one JSON value, a string otherwise.
func parseClaims(list []string) (map[string]any, error) {
	if len(list) == 0 {
		return nil, nil
	}
	claims := make(map[string]any, len(list))
	for _, kv := range list {
		name, raw, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("--claim %q: want NAME=VALUE", kv)
		case name == "":
			return nil, fmt.Errorf("--claim %q: empty claim name", kv)
		}
		if _, dup := claims[name]; dup {
			return nil, fmt.Errorf("--claim %s given twice", name)
		}
		v, err := decodeJSON(raw)
		if err != nil {
			v = raw
		}
		claims[name] = v
	}
	return claims, nil
}

// decodeJSON decodes s, which must be exactly one JSON value, with numbers
// kept exact ([json.Number]) so that large integers are not rounded.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if !onlySpace(s[dec.InputOffset():]) {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

func onlySpace(s string) bool { return strings.TrimSpace(s) == "" }
