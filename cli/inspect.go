package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/protojwt/protojwt/manager"
)

const inspectUsage = `Usage: protojwt inspect [flags] [TOKEN | -]

Shows a token's header and claims, and its times in local time and relative
to now. The token is read from stdin when TOKEN is "-" or absent; a leading
"Bearer " is ignored.

When keys are configured (the JWT_* environment or the flags below), the
token is verified as a server would verify it, and the command says why it
does not verify and exits 1. Without keys, it says "signature not checked".
--no-verify skips verification even when keys are configured.

An identity provider's tokens verify with its JWK Set, --jwks-url or
--discovery (the set its metadata names), and the algorithm of each key;
--alg is then not needed. Its access tokens (header typ "at+jwt", RFC 9068)
verify with --access-token-profile, as a server given
manager.WithAccessTokenProfile verifies them. A token that fails is shown
with the error a server's decision hook sees (Decision.Err).
`

// maxTokenInput bounds what inspect reads; servers refuse tokens over 8 KiB
// by default, but inspect shows larger ones too.
const maxTokenInput = 1 << 20

func (a *app) inspect(args []string) error {
	const name = "inspect"
	var cf configFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	noVerify := fs.Bool("no-verify", false, "don't verify even when keys are configured")
	atProfile := fs.Bool("access-token-profile", false, "verify RFC 9068 access tokens (typ at+jwt), as manager.WithAccessTokenProfile")
	cf.register(fs)
	cf.registerRemote(fs)
	positional, err := a.parseFlags(fs, inspectUsage+configUsage, args)
	if err != nil {
		return err
	}
	if len(positional) > 1 {
		return usageErrorf(name, "want one TOKEN, got %d arguments", len(positional))
	}
	raw := "-"
	if len(positional) == 1 {
		raw = positional[0]
	}
	if raw == "-" {
		if raw, err = a.readStdinToken(); err != nil {
			return err
		}
	}
	tok, err := decodeToken(raw)
	if err != nil {
		return err
	}
	a.printToken(tok)

	if *noVerify {
		fmt.Fprintln(a.stdout, "Verification: signature not checked (--no-verify)")
		return nil
	}
	cfg, err := cf.load(fs, a.getenv)
	if err != nil {
		fmt.Fprintln(a.stdout, "Verification: signature not checked: the key configuration can't be used")
		return err
	}
	if !hasKeys(cfg) {
		fmt.Fprintln(a.stdout, "Verification: signature not checked (no key configured: set JWT_SECRET_FILE, JWT_PUBLICKEY_FILE, JWT_JWKS_URL, ... or --secret-file, --public-key-file, ...)")
		return nil
	}
	var opts []manager.Option
	if *atProfile {
		opts = append(opts, manager.WithAccessTokenProfile())
	}
	m, err := a.newManager(cfg, opts...)
	if err != nil {
		fmt.Fprintln(a.stdout, "Verification: signature not checked: the key configuration can't be used")
		return err
	}
	defer m.Close()
	if _, err := m.Verify(context.Background(), tok.compact); err != nil {
		why := a.verifyFailure(err, tok, cfg)
		// The second line is the error itself, as a server's decision hook
		// logs it (Decision.Err): the same words in the terminal as in the
		// server's logs.
		fmt.Fprintf(a.stdout, "Verification: FAILED: %s\n  error: %v\n", why, err)
		return fmt.Errorf("token does not verify: %s (%v)", why, err)
	}
	alg := cfg.Algorithm
	if alg == "" {
		alg = tok.alg // one the Manager accepts for the JWK Set's key
	}
	fmt.Fprintf(a.stdout, "Verification: OK (%s signature, issuer %q%s, exp, nbf and iat checked)\n", alg, cfg.Issuer, audienceNote(cfg))
	return nil
}

// readStdinToken reads a token piped on stdin.
func (a *app) readStdinToken() (string, error) {
	if f, ok := a.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return "", usageErrorf("inspect", "no TOKEN: give it as an argument or pipe it on stdin")
		}
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, maxTokenInput+1))
	if err != nil {
		return "", fmt.Errorf("reading stdin: %w", err)
	}
	if len(b) > maxTokenInput {
		return "", fmt.Errorf("stdin holds over %d bytes: not a token", maxTokenInput)
	}
	return string(b), nil
}

// decodedToken is a compact JWS taken apart, not verified.
type decodedToken struct {
	compact string         // the token, without surrounding space or "Bearer "
	header  []byte         // JSON object
	payload []byte         // JSON object
	claims  map[string]any // payload decoded
	alg     string         // alg header, "" when absent
	typ     string         // typ header, "" when absent
}

// decodeToken takes a compact JWS apart. Errors never quote the token.
func decodeToken(s string) (*decodedToken, error) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	if s == "" {
		return nil, errors.New("no token: the input is empty")
	}
	parts := strings.Split(s, ".")
	switch len(parts) {
	case 3:
	case 5:
		return nil, errors.New("not a signed JWT: 5 segments is an encrypted token (JWE), which can't be inspected")
	default:
		return nil, fmt.Errorf("not a JWT: want 3 dot-separated segments, got %d", len(parts))
	}
	t := &decodedToken{compact: s}
	var err error
	if t.header, err = decodeSegment("header", parts[0]); err != nil {
		return nil, err
	}
	if t.payload, err = decodeSegment("payload", parts[1]); err != nil {
		return nil, err
	}
	if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "=")); err != nil {
		return nil, errors.New("not a JWT: the signature is not base64url")
	}
	var header map[string]any
	_ = json.Unmarshal(t.header, &header) // checked by decodeSegment
	t.alg, _ = header["alg"].(string)
	t.typ, _ = header["typ"].(string)
	_ = json.Unmarshal(t.payload, &t.claims)
	return t, nil
}

// decodeSegment decodes one base64url segment holding a JSON object.
func decodeSegment(what, seg string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, fmt.Errorf("not a JWT: the %s is not base64url", what)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("not a JWT: the %s is not a JSON object", what)
	}
	return b, nil
}

// printToken writes the header, the claims and the times of t.
func (a *app) printToken(t *decodedToken) {
	fmt.Fprintln(a.stdout, "Header:")
	a.printJSON(t.header)
	fmt.Fprintln(a.stdout, "Claims:")
	a.printJSON(t.payload)
	// NumericDates are whole seconds: so is now, so that a token minted
	// with a lifetime of 1h "expires in 1h", not in 59m59s.
	now := a.now().Truncate(time.Second)
	lines := []struct {
		claim             string
		future, now, past string
	}{
		{"iat", "issued in %s (in the future)", "issued just now", "issued %s ago"},
		{"nbf", "valid in %s", "valid from now", "valid since %s ago"},
		{"exp", "expires in %s", "expired just now", "expired %s ago"},
	}
	header := false
	for _, l := range lines {
		v, ok := t.claims[l.claim]
		if !ok {
			continue
		}
		if !header {
			fmt.Fprintln(a.stdout, "Times:")
			header = true
		}
		at, ok := numericDate(v)
		if !ok {
			fmt.Fprintf(a.stdout, "  %s  not a NumericDate (seconds since 1970)\n", l.claim)
			continue
		}
		var phrase string
		switch d := at.Sub(now); {
		case d > 0:
			phrase = fmt.Sprintf(l.future, relative(d))
		case d > -time.Second: // exp == now has expired
			phrase = l.now
		default:
			phrase = fmt.Sprintf(l.past, relative(-d))
		}
		fmt.Fprintf(a.stdout, "  %s  %s  %s\n", l.claim, at.In(a.loc).Format("2006-01-02 15:04:05 MST"), phrase)
	}
}

// printJSON writes the JSON object b indented, its members in their order.
func (a *app) printJSON(b []byte) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		out.Reset()
		out.Write(b)
	}
	out.WriteByte('\n')
	a.stdout.Write(out.Bytes())
}

// numericDate converts a JSON NumericDate, seconds since 1970, to a time.
func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || f < 0 || f > 253402300799 { // up to the year 9999
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// relative writes a non-negative duration with its two largest units, cut
// down, not rounded: "45s", "52m", "1m30s", "3h", "3h12m", "2d4h".
func relative(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d < 0 {
		d = -d
	}
	const day = 24 * time.Hour
	units := []struct {
		size time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units {
		if d < u.size && u.size != time.Second {
			continue
		}
		s := fmt.Sprintf("%d%s", d/u.size, u.name)
		if i+1 < len(units) {
			if n := (d % u.size) / units[i+1].size; n > 0 {
				s += fmt.Sprintf("%d%s", n, units[i+1].name)
			}
		}
		return s
	}
	return "0s"
}

// verifyFailure says, in a user's words, why Verify refused the token, from
// the sentinel the error wraps and what the token and cfg hold.
func (a *app) verifyFailure(err error, t *decodedToken, cfg manager.Config) string {
	switch {
	case errors.Is(err, manager.ErrExpired):
		if at, ok := numericDate(t.claims["exp"]); ok {
			return fmt.Sprintf("expired %s ago (leeway %s)", relative(a.now().Sub(at)), cfg.Leeway)
		}
		return "expired"
	case errors.Is(err, manager.ErrNotYetValid):
		return fmt.Sprintf("not valid yet: nbf or iat is in the future (leeway %s)", cfg.Leeway)
	case errors.Is(err, manager.ErrSignature):
		return "bad signature: the configured key did not sign this token (another key or secret, another kid, or an altered token)"
	case errors.Is(err, manager.ErrAlgorithm):
		if cfg.Algorithm == "" {
			return fmt.Sprintf("wrong algorithm: the token says %q, which the JWK Set's key does not take", t.alg)
		}
		return fmt.Sprintf("wrong algorithm: the token says %q, the configuration %s", t.alg, cfg.Algorithm)
	case errors.Is(err, manager.ErrIssuer):
		return fmt.Sprintf("wrong issuer: the token's iss is %s, the configured issuer %q", jsonText(t.claims["iss"]), cfg.Issuer)
	case errors.Is(err, manager.ErrAudience):
		return fmt.Sprintf("wrong audience: the token's aud is %s, the configured audience %q", jsonText(t.claims["aud"]), cfg.Audience)
	case errors.Is(err, manager.ErrMalformed) && isAccessTokenType(t.typ):
		return "malformed: the header typ is " + t.typ + ", an access token: add --access-token-profile"
	case errors.Is(err, manager.ErrTokenType) && !isAccessTokenType(t.typ):
		return "wrong token type: the header typ is not at+jwt, which --access-token-profile requires"
	case errors.Is(err, manager.ErrMalformed):
		return "malformed: not a JWT with the claims protojwt requires (exp, iat, iss, type of the right types)"
	case errors.Is(err, manager.ErrRevoked):
		return "revoked"
	case errors.Is(err, manager.ErrJWKS):
		return "the JWK Set can't be used"
	}
	return "refused"
}

// isAccessTokenType reports whether typ is RFC 9068's, its media type
// compared without case.
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

// jsonText writes a decoded JSON value back as JSON, "absent" for nil.
func jsonText(v any) string {
	if v == nil {
		return "absent"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

func audienceNote(cfg manager.Config) string {
	if len(cfg.Audience) == 0 {
		return ""
	}
	return fmt.Sprintf(", audience %q", cfg.Audience)
}
