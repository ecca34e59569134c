package introspection

import (
	"crypto"
	"fmt"
	"net/http"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// Config says where the introspection endpoint is and how this client
// authenticates to it.
type Config struct {
	// Issuer is the authorization server's issuer identifier. When Endpoint
	// is "", New reads introspection_endpoint from the issuer's metadata
	// ({Issuer}/.well-known/openid-configuration, then RFC 8414's
	// /.well-known/oauth-authorization-server), whose "issuer" must equal
	// Issuer. When set, an answer whose "iss" is another issuer is refused,
	// an answer without "iss" gets Issuer as its "iss" (the endpoint vouches
	// for its own tokens, and rules' issuers read it), and the client
	// assertion of private_key_jwt is addressed to it.
	Issuer string
	// Audience, when set, requires the answer's "aud" (a string or a list)
	// to name one of these, as [manager.Config.Audience] does for JWTs: a
	// token the provider issued for another resource server is refused
	// ([manager.ErrAudience]). By default, "aud" is not checked; a rule's
	// audiences can still check it per method.
	Audience []string
	// Endpoint is the introspection endpoint's URL; "" to discover it.
	Endpoint string
	// ClientID identifies this resource server to the endpoint.
	ClientID string
	// ClientSecret authenticates with client_secret_basic.
	ClientSecret string
	// PrivateKey authenticates with private_key_jwt (RFC 7523): each
	// request carries a JWT signed with it (an *[rsa.PrivateKey],
	// *[ecdsa.PrivateKey] or [ed25519.PrivateKey]), whose iss and sub are
	// ClientID. Exactly one of ClientSecret and PrivateKey is set.
	PrivateKey crypto.Signer
	// KeyID is the "kid" of PrivateKey's assertions; "" for none.
	KeyID string
	// Algorithm signs the assertions: by default RS256 for an RSA key,
	// ES256, ES384 or ES512 by the curve of an ECDSA key, EdDSA for
	// Ed25519.
	Algorithm string
}

// Option configures an Introspector.
type Option interface{ apply(*settings) }

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// settings are what the options set.
type settings struct {
	cacheTTL     time.Duration
	inactiveTTL  time.Duration
	cacheBytes   int64
	maxResponse  int64
	timeout      time.Duration
	client       *http.Client
	now          func() time.Time
	maxTokenSize int
	maxInFlight  int
}

func defaults() settings {
	return settings{
		cacheTTL:     5 * time.Minute,
		inactiveTTL:  10 * time.Second,
		cacheBytes:   16 << 20,
		maxResponse:  64 << 10,
		timeout:      10 * time.Second,
		client:       http.DefaultClient,
		now:          time.Now,
		maxTokenSize: 8 << 10,
		maxInFlight:  64,
	}
}

// WithCacheTTL bounds how long an active answer is reused: until the
// earlier of the token's exp and d after it was received. A token revoked
// at the server is accepted for up to d; 0 turns caching of active answers
// off. By default, d is 5 minutes.
func WithCacheTTL(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.cacheTTL = d })
}

// WithInactiveTTL sets how long an answer that the token is not active is
// reused, so that a flood of one bad token costs one request per d; 0
// turns it off. By default, d is 10 seconds.
func WithInactiveTTL(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.inactiveTTL = d })
}

// WithCacheBytes bounds the estimated heap the cached answers hold; the
// least recently used go first. 0 turns the cache off. By default, n is 16
// MiB.
func WithCacheBytes(n int64) Option {
	return optionFunc(func(s *settings) { s.cacheBytes = n })
}

// WithMaxResponseBytes bounds an answer's body: a larger one is refused
// ([manager.ErrKeysUnavailable]), never read whole. By default, n is 64 KiB.
func WithMaxResponseBytes(n int64) Option {
	return optionFunc(func(s *settings) { s.maxResponse = n })
}

// WithTimeout bounds one request to the endpoint (discovery included),
// whatever the callers' contexts allow; each caller still stops waiting
// when its own context ends. By default, d is 10 seconds.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.timeout = d })
}

// WithHTTPClient sends the requests with c (its Transport, Timeout and
// Jar), its TLS configuration deciding which endpoints are trusted.
// Redirects are never followed, whatever c's CheckRedirect: an answer that
// redirects is an error. By default, [http.DefaultClient].
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(s *settings) { s.client = c })
}

// WithClock reads the time from now, for tests. By default, [time.Now].
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *settings) { s.now = now })
}

// WithMaxTokenSize refuses tokens longer than n bytes before any request.
// By default, n is 8 KiB.
func WithMaxTokenSize(n int) Option {
	return optionFunc(func(s *settings) { s.maxTokenSize = n })
}

// WithMaxInFlight bounds the requests to the endpoint at a time, over all
// tokens, so that a flood of distinct tokens can't flood the endpoint: a
// request that finds no room within [WithTimeout] fails with
// [manager.ErrKeysUnavailable]. By default, n is 64.
func WithMaxInFlight(n int) Option {
	return optionFunc(func(s *settings) { s.maxInFlight = n })
}

// configError wraps [manager.ErrConfig] with why the configuration can't be
// used.
func configError(format string, args ...any) error {
	return fmt.Errorf("introspection: "+format+": %w", append(args, manager.ErrConfig)...)
}
