// Package provider runs a real OpenID Provider on loopback, panva's
// oidc-provider under Node.js, for protojwt's identity-provider example
// and tests: discovery, a JWK Set with keys this package makes and
// rotates, RFC 9068 access tokens (typ at+jwt) by the client credentials
// grant, bound to a client's key with DPoP when asked, and ID tokens by a
// scripted browser login.
//
//	p, err := provider.Start(ctx)
//	defer p.Stop()
//	access, err := p.ServiceToken(ctx, "orders:read")
//	id, access2, err := p.Login(ctx, "alice")
//
// It needs node and the packages of op/package-lock.json: Start installs
// them with npm ci when op/node_modules is missing.
package provider

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Resource is the audience of the provider's access tokens.
const Resource = "https://orders.example"

// OpaqueResource is the audience of the provider's opaque access tokens,
// which resource servers read by introspection (RFC 7662).
const OpaqueResource = "https://opaque.example"

// The clients that introspect tokens: ResourceServer authenticates with
// client_secret_basic (ResourceServerSecret), ResourceServerJWT with
// private_key_jwt (ResourceServerKey).
const (
	ResourceServer    = "resource-server"
	ResourceServerJWT = "resource-server-jwt"
)

// secret is the client secret of the provider's two clients.
const secret = "loopback-only-client-secret-0123456789"

// Provider is a running OpenID Provider.
type Provider struct {
	// Issuer is its issuer URL, http://127.0.0.1:PORT.
	Issuer string

	port int
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	keys []*rsa.PrivateKey // keys[0] signs
	kids []string
	http *http.Client
	rs   *rsa.PrivateKey // ResourceServerJWT's key
	rsID string
}

// Start installs the provider's packages if needed and starts it with a
// new signing key, returning once it serves.
func Start(ctx context.Context) (*Provider, error) {
	dir, err := opDir()
	if err != nil {
		return nil, err
	}
	if err := install(ctx, dir); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &Provider{
		Issuer: fmt.Sprintf("http://127.0.0.1:%d", port),
		port:   port,
		http:   &http.Client{Timeout: 10 * time.Second},
	}
	key, kid, err := newKey()
	if err != nil {
		return nil, err
	}
	p.keys, p.kids = []*rsa.PrivateKey{key}, []string{kid}
	if p.rs, p.rsID, err = newKey(); err != nil {
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// install runs npm ci in dir unless its packages are installed, once even
// when several test binaries start providers at the same time (go test
// runs packages in parallel): the process that creates the lock file
// installs, the others wait for it to go. npm writes
// node_modules/.package-lock.json when an install is complete.
func install(ctx context.Context, dir string) error {
	done := filepath.Join(dir, "node_modules", ".package-lock.json")
	lock := filepath.Join(dir, ".npm-ci.lock")
	for {
		if _, err := os.Stat(done); err == nil {
			if _, err := os.Stat(lock); errors.Is(err, os.ErrNotExist) {
				return nil
			}
		}
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			defer os.Remove(lock)
			if _, err := os.Stat(done); err == nil {
				return nil
			}
			cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--silent")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("provider: npm ci in %s: %v\n%s", dir, err, out)
			}
			return nil
		}
		if info, err := os.Stat(lock); err == nil && time.Since(info.ModTime()) > 10*time.Minute {
			os.Remove(lock) // left by a process that died installing
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("provider: waiting for npm ci in %s: %w", dir, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// opDir returns the directory of op.mjs, beside this file.
func opDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("provider: can't find op/")
	}
	return filepath.Join(filepath.Dir(file), "op"), nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newKey returns a new RSA key and its key ID.
func newKey() (*rsa.PrivateKey, string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", err
	}
	var id [6]byte
	rand.Read(id[:])
	return key, "op-" + base64.RawURLEncoding.EncodeToString(id[:]), nil
}

// start runs node with the current keys and waits until it listens.
func (p *Provider) start(ctx context.Context) error {
	dir, err := opDir()
	if err != nil {
		return err
	}
	jwks, err := privateJWKS(p.keys, p.kids)
	if err != nil {
		return err
	}
	cmd := exec.Command("node", "op.mjs")
	cmd.Dir = dir
	rsJWKS, err := publicJWKS(p.rs, p.rsID)
	if err != nil {
		return err
	}
	cmd.Env = append(os.Environ(), "ISSUER="+p.Issuer, fmt.Sprintf("PORT=%d", p.port), "JWKS="+jwks, "SECRET="+secret, "RS_JWKS="+rsJWKS)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("provider: start node: %w", err)
	}
	done := make(chan struct{})
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "LISTENING ") {
				close(listening)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-listening:
	case <-done:
		return fmt.Errorf("provider: node exited before listening: %s", stderr.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return errors.New("provider: node did not listen within 30s")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return ctx.Err()
	}
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// Stop ends the provider and waits for it.
func (p *Provider) Stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts a stopped provider again, on the same issuer with the
// same keys: the end of an outage. It does nothing to a running one.
func (p *Provider) Restart(ctx context.Context) error {
	p.mu.Lock()
	running := p.cmd != nil
	p.mu.Unlock()
	if running {
		return nil
	}
	return p.start(ctx)
}

// Rotate restarts the provider on the same issuer with a new signing key,
// keeping the previous ones in its JWK Set when keepOld, so that tokens
// they signed still verify; without keepOld only the new key is published.
// It returns the new key's ID.
func (p *Provider) Rotate(ctx context.Context, keepOld bool) (string, error) {
	key, kid, err := newKey()
	if err != nil {
		return "", err
	}
	p.Stop()
	if keepOld {
		p.keys, p.kids = append([]*rsa.PrivateKey{key}, p.keys...), append([]string{kid}, p.kids...)
	} else {
		p.keys, p.kids = []*rsa.PrivateKey{key}, []string{kid}
	}
	return kid, p.start(ctx)
}

// KeyIDs returns the IDs of the keys the provider publishes, the signing
// key first.
func (p *Provider) KeyIDs() []string { return append([]string(nil), p.kids...) }

// privateJWKS writes keys as a private JWK Set, for node.
func privateJWKS(keys []*rsa.PrivateKey, kids []string) (string, error) {
	b64 := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	type jwk map[string]string
	var set struct {
		Keys []jwk `json:"keys"`
	}
	for i, k := range keys {
		k.Precompute()
		set.Keys = append(set.Keys, jwk{
			"kty": "RSA", "kid": kids[i], "use": "sig", "alg": "RS256",
			"n": b64(k.N), "e": b64(big.NewInt(int64(k.E))), "d": b64(k.D),
			"p": b64(k.Primes[0]), "q": b64(k.Primes[1]),
			"dp": b64(k.Precomputed.Dp), "dq": b64(k.Precomputed.Dq), "qi": b64(k.Precomputed.Qinv),
		})
	}
	b, err := json.Marshal(set)
	return string(b), err
}

// publicJWKS writes key's public half as a JWK Set.
func publicJWKS(key *rsa.PrivateKey, kid string) (string, error) {
	b64 := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	b, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(key.N), "e": b64(big.NewInt(int64(key.E))),
	}}})
	return string(b), err
}

// ResourceServerSecret returns the client secret of ResourceServer.
func (p *Provider) ResourceServerSecret() string { return secret }

// ResourceServerKey returns the private key of ResourceServerJWT and its
// key ID, which the provider knows the public half of.
func (p *Provider) ResourceServerKey() (*rsa.PrivateKey, string) { return p.rs, p.rsID }

// Login signs user in as a browser would, through the provider's login and
// consent pages, and returns the ID token and the access token of the
// "web" client.
func (p *Provider) Login(ctx context.Context, user string) (idToken, accessToken string, err error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", "", err
	}
	c := &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	q := url.Values{
		"client_id": {"web"}, "response_type": {"code"}, "scope": {"openid orders:read orders:write"},
		"redirect_uri": {"http://127.0.0.1/callback"}, "state": {"state-1"}, "nonce": {"nonce-1"},
	}
	// authorize -> login page -> authorize -> consent page -> authorize -> callback
	next := p.Issuer + "/auth?" + q.Encode()
	steps := []url.Values{nil, {"prompt": {"login"}, "login": {user}, "password": {"any"}}, nil, {"prompt": {"consent"}}, nil}
	for i, form := range steps {
		loc, err := p.step(ctx, c, next, form)
		if err != nil {
			return "", "", fmt.Errorf("provider: login step %d: %w", i, err)
		}
		next = loc
	}
	cb, err := url.Parse(next)
	if err != nil || cb.Query().Get("code") == "" {
		return "", "", fmt.Errorf("provider: login ended at %q, not the callback with a code", next)
	}
	out, err := p.token(ctx, "web", url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1/callback"},
	})
	if err != nil {
		return "", "", err
	}
	return out.IDToken, out.AccessToken, nil
}

// step requests target (POSTing form when not nil) and returns where it
// redirects, made absolute.
func (p *Provider) step(ctx context.Context, c *http.Client, target string, form url.Values) (string, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("%s %s: status %d, no redirect", method, target, resp.StatusCode)
	}
	u, err := req.URL.Parse(loc)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
