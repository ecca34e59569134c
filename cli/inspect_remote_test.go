package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/protojwt/protojwt/manager"
)

// provider is an identity provider on loopback: its metadata
// (/.well-known/openid-configuration), its JWK Set (/jwks), and a key
// that signs its tokens.
type provider struct {
	url string
	key *ecdsa.PrivateKey
	m   *manager.Manager // issues its protojwt tokens, serves its JWK Set
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{key: key}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	p.m, err = manager.New(manager.Config{Issuer: p.url, Algorithm: "ES256", PrivateKey: key, KeyID: "k1"},
		manager.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.m.Close() })
	mux.Handle("/jwks", p.m.JWKSHandler())
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.url, "jwks_uri": p.url + "/jwks"})
	})
	return p
}

// accessToken signs an RFC 9068 access token (typ at+jwt, no type claim)
// with key, as an identity provider issues one.
func (p *provider) accessToken(t *testing.T, key *ecdsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"iss": p.url, "sub": "alice", "iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix(), "client_id": "web", "jti": "j1"}
	for k, v := range claims {
		c[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verifyError returns the error of a Manager of cfg verifying token: the
// words a server's Decision.Err has.
func verifyError(t *testing.T, cfg manager.Config, token string, opts ...manager.Option) string {
	t.Helper()
	m, err := manager.New(cfg, append([]manager.Option{manager.WithClock(func() time.Time { return testNow })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Verify(context.Background(), token)
	if err == nil {
		t.Fatal("the token verifies")
	}
	return err.Error()
}

// TestInspectProviderTokens verifies an identity provider's tokens with
// its JWK Set, found by --jwks-url or --discovery, with no --alg: its
// access tokens with --access-token-profile. A token that fails is shown
// with the Manager's own error, the text a server's Decision.Err holds.
func TestInspectProviderTokens(t *testing.T) {
	p := newProvider(t)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := p.m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	access := p.accessToken(t, p.key, nil)
	forged := p.accessToken(t, other, nil)
	expired := p.accessToken(t, p.key, jwt.MapClaims{"exp": testNow.Add(-time.Hour).Unix()})
	remote := manager.Config{Issuer: p.url, JWKSURL: p.url + "/jwks"}
	discovered := manager.Config{Issuer: p.url, Discovery: true}
	env := map[string]string{"JWT_ISSUER": p.url}

	ok := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"jwks-url", env, []string{"--jwks-url", p.url + "/jwks", issued.Signed}},
		{"discovery", env, []string{"--discovery", issued.Signed}},
		{"discovery from the environment", with(env, "JWT_DISCOVERY", "true"), []string{issued.Signed}},
		{"issuer flag", nil, []string{"--issuer", p.url, "--discovery", issued.Signed}},
		{"access token", env, []string{"--discovery", "--access-token-profile", access}},
		{"access token, jwks-url", env, []string{"--jwks-url", p.url + "/jwks", "--access-token-profile", access}},
		{"keys flags replace the environment's secret", with(env, "JWT_SECRET", testSecret), []string{"--discovery", issued.Signed}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{env: tt.env}.run(t, append([]string{"inspect"}, tt.args...)...)
			checkResult(t, r, exitOK, []string{`Verification: OK (ES256 signature, issuer "` + p.url + `"`}, nil)
		})
	}

	refused := []struct {
		name   string
		args   []string
		stdout string
		want   string // the Manager's error, as Decision.Err says it
	}{
		{"access token without the profile", []string{"--discovery", access}, "Verification: FAILED: malformed: the header typ is at+jwt, an access token: add --access-token-profile",
			verifyError(t, discovered, access)},
		{"access token without the profile, jwks-url", []string{"--jwks-url", p.url + "/jwks", access}, "Verification: FAILED: malformed",
			verifyError(t, remote, access)},
		{"another key", []string{"--discovery", "--access-token-profile", forged}, "Verification: FAILED: bad signature",
			verifyError(t, discovered, forged, manager.WithAccessTokenProfile())},
		{"expired", []string{"--discovery", "--access-token-profile", expired}, "Verification: FAILED: expired 1h ago",
			verifyError(t, discovered, expired, manager.WithAccessTokenProfile())},
		{"a protojwt token with the profile", []string{"--discovery", "--access-token-profile", issued.Signed}, "Verification: FAILED: wrong token type: the header typ is not at+jwt",
			verifyError(t, discovered, issued.Signed, manager.WithAccessTokenProfile())},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{env: env}.run(t, append([]string{"inspect"}, tt.args...)...)
			checkResult(t, r, exitFailure, []string{tt.stdout, "\n  error: " + tt.want + "\n"}, []string{tt.want})
			if strings.Contains(r.stderr, tt.args[len(tt.args)-1]) {
				t.Error("stderr quotes the token")
			}
		})
	}

	t.Run("discovery of another issuer", func(t *testing.T) {
		r := cmd{}.run(t, "inspect", "--issuer", p.url+"/other", "--discovery", issued.Signed)
		checkResult(t, r, exitFailure, []string{"Verification: signature not checked: the key configuration can't be used"}, []string{"protojwt inspect: "})
	})
	t.Run("no keys at the URL", func(t *testing.T) {
		r := cmd{env: env}.run(t, "inspect", "--jwks-url", p.url+"/missing", issued.Signed)
		checkResult(t, r, exitFailure, []string{"Verification: signature not checked: the key configuration can't be used"}, []string{"JWK Set"})
	})
	t.Run("an HS secret still needs its algorithm", func(t *testing.T) {
		r := cmd{env: map[string]string{"JWT_ISSUER": "x", "JWT_SECRET": testSecret}}.run(t, "inspect", issued.Signed)
		checkResult(t, r, exitFailure, nil, []string{"no algorithm: set JWT_AUTHTYPE or --alg"})
	})
}
