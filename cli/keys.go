package cli

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/protojwt/protojwt/manager"
)

const keysUsage = `Usage: protojwt keys gen --alg ALG [--out-dir DIR] [--name NAME] [--force]

Subcommands:
  gen   generate a key pair (or an HS* secret) and print the JWT_* lines to use
`

const keysGenUsage = `Usage: protojwt keys gen --alg ALG [--out-dir DIR] [--name NAME] [--bits N] [--force]

Generates a key for ALG and writes it as PEM files in DIR:
  NAME.private.pem  the private key, PKCS #8, file mode 0600
  NAME.public.pem   the public key, PKIX, for the services that only verify
For HS256, HS384 and HS512 it writes NAME.secret instead (mode 0600): a
random secret of 256, 384 or 512 bits, as base64url text.

Existing files are not overwritten unless --force. Prints the JWT_* lines to
use, as shell exports (eval "$(protojwt keys gen --alg ES256)"), with a
JWT_KEYID suggestion: the key's JWK thumbprint (RFC 7638). The secret and the
private key are never printed.
`

// Sizes of generated keys.
const (
	defaultRSABits = 2048 // the smallest a Manager accepts
	maxRSABits     = 8192
)

// hmacSecretSizes are the random bytes of a generated HS* secret: the size
// of the hash, as RFC 7518 section 3.2 asks.
var hmacSecretSizes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// ecCurves are the curves of the ES* algorithms.
var ecCurves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

func (a *app) keys(args []string) error {
	if len(args) == 0 {
		return usageErrorf("keys", "want a subcommand: gen")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(a.stdout, keysUsage)
		return errHelpShown
	case "gen":
		return a.keysGen(args[1:])
	}
	return usageErrorf("keys", "unknown subcommand %q: want gen", args[0])
}

func (a *app) keysGen(args []string) error {
	const name = "keys gen"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	alg := fs.String("alg", "", "algorithm: "+strings.Join(manager.Algorithms(), " ")+" (required)")
	outDir := fs.String("out-dir", ".", "`directory` to write the files in, created (mode 0700) when missing")
	base := fs.String("name", "", "file name prefix (default protojwt-<alg>, such as protojwt-es256)")
	bits := fs.Int("bits", defaultRSABits, "RSA key size for RS* and PS*, 2048 to 8192")
	force := fs.Bool("force", false, "overwrite existing files")
	positional, err := a.parseFlags(fs, keysGenUsage, args)
	if err != nil {
		return err
	}
	bitsSet := false
	fs.Visit(func(f *flag.Flag) { bitsSet = bitsSet || f.Name == "bits" })
	switch {
	case len(positional) > 0:
		return usageErrorf(name, "unexpected argument %q", positional[0])
	case *alg == "":
		return usageErrorf(name, "--alg is required")
	case !knownAlg(*alg):
		return usageErrorf(name, "--alg %q: want one of %s", *alg, strings.Join(manager.Algorithms(), " "))
	case isRSA(*alg) && (*bits < defaultRSABits || *bits > maxRSABits):
		return usageErrorf(name, "--bits %d: want 2048 to 8192", *bits)
	case !isRSA(*alg) && bitsSet:
		return usageErrorf(name, "--bits applies to RS* and PS* only")
	}
	if *base == "" {
		*base = "protojwt-" + strings.ToLower(*alg)
	}
	if *base == "." || *base == ".." || strings.ContainsAny(*base, `/\`) {
		return usageErrorf(name, "--name %q: a file name prefix, not a path (use --out-dir)", *base)
	}
	dir, err := filepath.Abs(*outDir)
	if err != nil {
		return err
	}

	var files []keyFile
	var lines []string
	if n, ok := hmacSecretSizes[*alg]; ok {
		secret := make([]byte, n)
		rand.Read(secret)
		text := base64.RawURLEncoding.EncodeToString(secret)
		if err := checkKey(manager.Config{Algorithm: *alg, Secret: []byte(text)}); err != nil {
			return err
		}
		path := filepath.Join(dir, *base+".secret")
		files = []keyFile{{path, []byte(text + "\n"), 0o600, "secret"}}
		kid := make([]byte, 8)
		rand.Read(kid)
		lines = []string{
			"JWT_AUTHTYPE=" + *alg,
			"JWT_SECRET_FILE=" + shellQuote(path),
			"JWT_KEYID=" + strings.ToLower(*alg) + "-" + hex.EncodeToString(kid),
		}
	} else {
		priv, err := generateKey(*alg, *bits)
		if err != nil {
			return err
		}
		if err := checkKey(manager.Config{Algorithm: *alg, PrivateKey: priv}); err != nil {
			return err
		}
		privDER, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return err
		}
		pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
		if err != nil {
			return err
		}
		kid, err := thumbprint(priv.Public())
		if err != nil {
			return err
		}
		privPath := filepath.Join(dir, *base+".private.pem")
		pubPath := filepath.Join(dir, *base+".public.pem")
		files = []keyFile{
			{privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600, "private key"},
			{pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644, "public key"},
		}
		lines = []string{
			"JWT_AUTHTYPE=" + *alg,
			"JWT_PRIVATEKEY_FILE=" + shellQuote(privPath),
			"JWT_PUBLICKEY_FILE=" + shellQuote(pubPath),
			"JWT_KEYID=" + kid,
		}
	}

	if !*force {
		for _, f := range files {
			if _, err := os.Lstat(f.path); err == nil {
				return fmt.Errorf("refusing to overwrite %s: use --force", f.path)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range files {
		if err := f.write(*force); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "wrote %s (%s, mode %#o)\n", f.path, f.what, f.mode)
	}
	for _, l := range lines {
		fmt.Fprintln(a.stdout, "export "+l)
	}
	fmt.Fprintln(a.stderr, "set JWT_ISSUER as well; services that only verify need JWT_PUBLICKEY_FILE (or the secret) alone")
	return nil
}

// keyFile is a file keys gen writes.
type keyFile struct {
	path string
	data []byte
	mode os.FileMode
	what string
}

// write creates the file, or with force replaces it, with exactly f.mode.
func (f keyFile) write(force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	file, err := os.OpenFile(f.path, flags, f.mode)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("refusing to overwrite %s: use --force", f.path)
	}
	if err != nil {
		return err
	}
	// An existing file keeps its mode through O_TRUNC; the umask may have
	// narrowed a new one's: set the mode asked for.
	err = file.Chmod(f.mode)
	if err == nil {
		_, err = file.Write(f.data)
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

func knownAlg(alg string) bool {
	_, hs := hmacSecretSizes[alg]
	_, es := ecCurves[alg]
	return hs || es || isRSA(alg) || alg == "EdDSA"
}

func isRSA(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return true
	}
	return false
}

// generateKey returns a new private key for the asymmetric algorithm alg.
func generateKey(alg string, rsaBits int) (crypto.Signer, error) {
	switch {
	case isRSA(alg):
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case ecCurves[alg] != nil:
		return ecdsa.GenerateKey(ecCurves[alg], rand.Reader)
	case alg == "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("no key generator for %s", alg)
}

// checkKey has [manager.New] accept the generated key for its algorithm, as
// the services using it will: the same checks of kind, curve and size, and a
// signature verified with the public key.
func checkKey(cfg manager.Config) error {
	cfg.Issuer = "protojwt keys gen"
	m, err := manager.New(cfg)
	if err != nil {
		return fmt.Errorf("generated key refused: %w", err)
	}
	return m.Close()
}

// thumbprint returns the JWK thumbprint of pub (RFC 7638): the base64url
// SHA-256 of its required JWK members, in lexical order.
func thumbprint(pub crypto.PublicKey) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	var members string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		e := big.NewInt(int64(k.E)).Bytes()
		members = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64(e), b64(k.N.Bytes()))
	case *ecdsa.PublicKey:
		point, err := k.Bytes() // 0x04 || x || y, each of the curve's size
		if err != nil {
			return "", err
		}
		size := (len(point) - 1) / 2
		members = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`,
			k.Curve.Params().Name, b64(point[1:1+size]), b64(point[1+size:]))
	case ed25519.PublicKey:
		members = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64(k))
	default:
		return "", fmt.Errorf("no thumbprint for a %T", pub)
	}
	sum := sha256.Sum256([]byte(members))
	return b64(sum[:]), nil
}

// shellSafe matches words a POSIX shell reads literally.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+,=-]+$`)

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
