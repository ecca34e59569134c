package manager

import (
	"net/http"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// defaultMaxTokenSize is the size bound of tokens Verify accepts when
// [WithMaxTokenSize] is not given: 8 KiB.
const defaultMaxTokenSize = 8 << 10

// An Option changes how New builds a Manager.
type Option interface {
	apply(*settings)
}

// optionFunc adapts a function to Option.
type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// settings are what the options set, read by New as it builds the
// Manager's parts.
type settings struct {
	now                func() time.Time
	maxTokenSize       int
	untyped            TokenType // type of tokens without one; "" refuses them
	accessTokenProfile bool      // only RFC 9068 access tokens (typ at+jwt)
	jwks               jwksSettings
	revocation         revocationSettings // no store by default
	events             eventSink          // nil by default
	cacheSize          int
	cacheTTL           time.Duration
	cacheBytes         int64
}

// defaultSettings are the settings of a Manager given no option.
func defaultSettings() settings {
	return settings{
		now:          time.Now,
		maxTokenSize: defaultMaxTokenSize,
		jwks:         defaultJWKSSettings(),
		cacheSize:    DefaultVerifyCacheSize,
		cacheTTL:     DefaultVerifyCacheTTL,
		cacheBytes:   DefaultVerifyCacheBytes,
	}
}

// WithClock makes the Manager read the current time from now, both to stamp
// the tokens it issues and to check exp, nbf and iat in Verify. Tests use it
// to issue tokens in the past or the future. A nil now is ignored. By
// default, the Manager uses [time.Now].
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *settings) {
		if now != nil {
			s.now = now
		}
	})
}

// WithMaxTokenSize sets the largest token, in bytes, that Verify decodes;
// a larger one is refused with [ErrMalformed] before any decoding. New refuses
// a size that is not positive. By default, the bound is 8 KiB.
func WithMaxTokenSize(n int) Option {
	return optionFunc(func(s *settings) {
		s.maxTokenSize = n
	})
}

// Defaults of the verification cache.
const (
	// DefaultVerifyCacheSize is the number of verified tokens a Manager
	// keeps when [WithVerifyCache] is not given.
	DefaultVerifyCacheSize = 10_000
	// DefaultVerifyCacheTTL is how long a verified token is kept at most
	// when [WithVerifyCacheTTL] is not given.
	DefaultVerifyCacheTTL = time.Minute
	// DefaultVerifyCacheBytes is the estimated memory the kept tokens may
	// take when [WithVerifyCacheBytes] is not given: 64 MiB.
	DefaultVerifyCacheBytes = 64 << 20
)

// WithVerifyCache sets how many verified tokens Verify keeps, so that a
// token presented again is not decoded and its signature not checked again:
// clients send the same token on every call until it expires. 0 turns the
// cache off; New refuses a negative size. Sizes of 8 and more are rounded
// down to a multiple of 8. By default, [DefaultVerifyCacheSize] (10 000)
// tokens: about 3 KB each for a token of nine claims, its text and the
// private copy of its claims included, so 30 MB when full (see
// [CacheStats]). Large tokens are bounded by [WithVerifyCacheBytes] too.
//
// A token is found again by its exact compact form. Each time, Verify still
// checks exp, nbf and iat against the Manager's clock and Config.Leeway, and
// asks the revocation store (see [WithRevocation]); a token is kept until it
// expires or [WithVerifyCacheTTL] passes, whichever comes first. A token that
// fails any check is never kept. Changing the key set (RotateKey, AddKey,
// RemoveKey) makes every kept token verify again in full; with
// Config.JWKSURL, each reuse selects the token's key from the current set
// again and requires the key it was verified with.
//
// The *Token that Verify returns for a kept token is shared by every call
// that presents that token. The Manager and the rule engine decide from a
// private copy of its claims, so a handler that modifies it changes no
// decision, but the handlers of other calls would see the change: treat it
// as read-only.
func WithVerifyCache(size int) Option {
	return optionFunc(func(s *settings) {
		s.cacheSize = size
	})
}

// WithVerifyCacheBytes bounds the estimated memory of the tokens Verify
// keeps (see [WithVerifyCache]), so that large tokens can't take the cache
// far beyond what its count suggests: a token's estimate is its text, its
// decoded claims and their private copy, about 3 KB for a token of nine
// claims and up to ~40 bytes per byte of text for JSON of many small
// values. When a token would not fit, the tokens least recently used make
// room; a token estimated at over 1/16 of the bound is not kept at all.
// New refuses a bound that is not positive (WithVerifyCache(0) turns the
// cache off). By default, [DefaultVerifyCacheBytes] (64 MiB).
func WithVerifyCacheBytes(n int64) Option {
	return optionFunc(func(s *settings) {
		s.cacheBytes = n
	})
}

// WithVerifyCacheTTL sets how long Verify keeps a verified token at most,
// less when the token expires sooner. It bounds how long a token verified
// with a key that a JWK Set (Config.JWKSURL) no longer holds is reused
// before the Manager refreshes the set. New refuses a TTL that is not
// positive. By default, [DefaultVerifyCacheTTL] (1 minute).
func WithVerifyCacheTTL(ttl time.Duration) Option {
	return optionFunc(func(s *settings) {
		s.cacheTTL = ttl
	})
}

// WithUntypedTokens makes Verify accept a token without a "type" claim, as
// identity providers and other issuers make them, as a token of type t
// (Auth or Refresh): its Token.Type is t and its Claims stay as they are.
// A token whose type claim is present must still say "auth" or "refresh",
// and every other check stays as strict. New refuses another t. By default,
// a token without a type claim is refused with [ErrMalformed].
func WithUntypedTokens(t TokenType) Option {
	return optionFunc(func(s *settings) {
		s.untyped = t
	})
}

// WithJWKSMaxAge sets how long clients may cache the JWK Set that
// JWKSHandler serves: the max-age of its Cache-Control header, in whole
// seconds; under a second sends "no-cache". Announce a key with AddKey at
// least this long (plus the verifiers' refresh interval) before RotateKey
// signs with it. New refuses a negative d. By default, 5 minutes.
func WithJWKSMaxAge(d time.Duration) Option {
	return optionFunc(func(s *settings) {
		s.jwks.maxAge = d
	})
}

// WithJWKSRefreshInterval sets how often a Manager whose keys come from
// Config.JWKSURL fetches the set again in the background; with
// Config.Discovery, the issuer's metadata is read again on the same
// schedule, and a new jwks_uri followed. New refuses an interval that is
// not positive. By default, 5 minutes.
func WithJWKSRefreshInterval(d time.Duration) Option {
	return optionFunc(func(s *settings) {
		s.jwks.refreshInterval = d
	})
}

// WithJWKSRefreshUnknownKID sets the rate at which a Manager whose keys come
// from Config.JWKSURL fetches the set when a token names a kid it lacks: at
// most once per d, so a flood of tokens with made-up kids costs at most one
// fetch per d. A Verify call that would wait longer than [WithJWKSTimeout] for
// its turn is refused at once with [ErrSignature]. Zero turns these fetches
// off; New refuses a negative d. By default, once per 30 seconds.
func WithJWKSRefreshUnknownKID(d time.Duration) Option {
	return optionFunc(func(s *settings) {
		s.jwks.unknownKIDEvery = d
	})
}

// WithJWKSTimeout bounds each fetch of Config.JWKSURL (or of the issuer's
// metadata and jwks_uri with Config.Discovery), the first one included,
// and how long a Verify call may wait for a refresh. New refuses a
// timeout that is not positive. By default, 10 seconds.
func WithJWKSTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) {
		s.jwks.timeout = d
	})
}

// WithJWKSHTTPClient sets the HTTP client that fetches Config.JWKSURL (and
// the issuer's metadata with Config.Discovery): for a private CA, a proxy
// or credentials. A nil c is ignored. By default,
// [http.DefaultClient].
func WithJWKSHTTPClient(c *http.Client) Option {
	return optionFunc(func(s *settings) {
		if c != nil {
			s.jwks.client = c
		}
	})
}

// WithJWKSErrorHandler sets the function that learns of each failed refresh
// of Config.JWKSURL, in the background or for an unknown kid, and with
// Config.Discovery of each failed reading of the issuer's metadata; the
// Manager goes on with the keys it has. f must be safe for concurrent use. A nil f
// is ignored. By default, failures are logged with [slog.Default] at level
// Warn.
func WithJWKSErrorHandler(f func(error)) Option {
	return optionFunc(func(s *settings) {
		if f != nil {
			s.jwks.onError = f
		}
	})
}

// WithStartUnavailable lets Open and New return a Manager whose keys come
// from Config.JWKSURL or Config.Discovery even when the first fetch of the
// issuer's metadata or of the JWK Set fails (the provider is down, or its
// set holds no usable key): Open returns at once, and the Manager keeps
// fetching in the background, first after about a second, then twice as
// long each time (with jitter), at most every [WithJWKSRefreshInterval].
// Until usable keys arrive, Verify refuses every token with
// [ErrKeysUnavailable], which adapters answer as gRPC Unavailable and HTTP
// 503 (reason KEYS_UNAVAILABLE): clients retry instead of signing in
// again. A misconfiguration that no fetch can cure (a malformed URL, http
// to another host than loopback) still fails at once, with [ErrConfig].
// Close stops the fetching. Use it for services that must start while
// their identity provider is unreachable, and watch [WithEvents] or
// [WithJWKSErrorHandler]: a Manager that never gets keys refuses every
// token. By default, Open and New fail with [ErrJWKS] when the first fetch
// fails, so that a service without keys does not start.
func WithStartUnavailable() Option {
	return optionFunc(func(s *settings) {
		s.jwks.startUnavailable = true
	})
}

// WithMaxKeyAge bounds how long a Manager whose keys come from
// Config.JWKSURL or Config.Discovery trusts the keys of its last good
// fetch while fetches fail: once that fetch is older than d, Verify
// refuses every token, cached ones included, with [ErrKeysUnavailable]
// (gRPC Unavailable, HTTP 503), and verifies again as soon as a fetch
// succeeds. A failed refresh is retried with backoff well within d. New
// refuses a negative d, and a d not longer than [WithJWKSRefreshInterval],
// which would let keys age out between two good fetches.
//
// The choice is between two risks. Without a limit, a key the provider
// revoked while it was unreachable (after a leak) goes on verifying for
// as long as the outage lasts. With a limit, an outage longer than d
// turns into an outage of every service that verifies its tokens. Pick d
// from how long a revoked key may be trusted, for example an hour. By
// default, there is no limit: the keys of the last good fetch verify
// until a fetch succeeds.
func WithMaxKeyAge(d time.Duration) Option {
	return optionFunc(func(s *settings) {
		s.jwks.maxKeyAge = d
	})
}

// WithRevocation makes the Manager consult store: Verify refuses revoked
// tokens with [ErrRevoked], and Revoke, RevokeSubject and RotateRefreshToken
// become available. Each Verify of a token that verifies costs one call of
// store.Revoked: one round trip for a shared store. A nil store is ignored.
// By default, a Manager has no store: tokens can't be revoked, Verify
// consults nothing but the token, and the three methods return [ErrConfig].
func WithRevocation(store revocation.Store) Option {
	return optionFunc(func(s *settings) {
		if store != nil {
			s.revocation.store = store
		}
	})
}

// WithRevocationFailOpen makes Verify accept a token whose revocation the
// store could not check, rather than refuse it with
// [ErrRevocationUnavailable]. report, when not nil, is called with that error
// (wrapping [ErrRevocationUnavailable] and the store's error) each time, so
// that operators see the outage: from many goroutines at once. It trades
// revocation for availability while the store is down; RotateRefreshToken,
// Revoke and RevokeSubject still fail. A caller whose ctx ends before the
// store answers (a short deadline, a client that hangs up) is no outage:
// Verify then refuses the token with an error wrapping
// [ErrRevocationUnavailable] and ctx's error, and report is not called, so
// that a client can't make a revoked token pass by giving up early. By
// default, Verify fails closed.
func WithRevocationFailOpen(report func(error)) Option {
	return optionFunc(func(s *settings) {
		s.revocation.failOpen = true
		s.revocation.report = report
	})
}

// WithEvents makes the Manager call f with each Event: every fetch of the
// JWK Set of Config.JWKSURL (with the age of the keys after a failed one:
// Event.KeyAge), every read of the issuer's metadata, and every call of the revocation store by
// Verify, with its outcome and duration; what an OpenTelemetry meter (or
// any other) counts, without this package depending on one. f is called on
// the goroutine that did the work, from many at once: it must be safe for
// concurrent use, quick, and must not call the Manager. The cache's hits,
// misses and evictions are not events: [CacheStats] counts them exactly and
// at no cost, for an observable counter to read. A nil f is ignored. By
// default, there is no such function, and nothing is measured for it.
func WithEvents(f func(Event)) Option {
	return optionFunc(func(s *settings) {
		if f != nil {
			s.events = f
		}
	})
}

// WithAccessTokenProfile makes Verify accept only JWT access tokens as RFC
// 9068 types them: a "typ" header of "at+jwt" or "application/at+jwt"
// (compared without regard to case, as media types are). Any other token
// of the same issuer and keys, such as an OpenID Connect ID token or a
// logout token, is refused with [ErrTokenType], after its signature is
// checked. Access tokens carry no "type" claim: they are taken as auth
// tokens, as WithUntypedTokens(Auth) does (a type claim, when present,
// still says "auth" or "refresh" and decides). Use it for a Manager of an identity provider that
// issues RFC 9068 tokens (Auth0, Okta, Keycloak and Entra ID can be set to;
// Ory, Curity and oidc-provider do). By default, the typ header is not
// read: untyped tokens are refused unless [WithUntypedTokens] says
// otherwise.
func WithAccessTokenProfile() Option {
	return optionFunc(func(s *settings) {
		s.accessTokenProfile = true
		s.untyped = Auth
	})
}
