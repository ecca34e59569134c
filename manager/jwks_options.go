package manager

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of the JWK Set options.
const (
	defaultJWKSMaxAge          = 5 * time.Minute
	defaultJWKSRefreshInterval = 5 * time.Minute
	defaultJWKSUnknownKIDEvery = 30 * time.Second
	defaultJWKSTimeout         = 10 * time.Second
)

// jwksSettings are the options of publishing and fetching JWK Sets.
type jwksSettings struct {
	maxAge          time.Duration
	refreshInterval time.Duration
	unknownKIDEvery time.Duration
	timeout         time.Duration
	client          *http.Client
	onError         func(error)
}

func defaultJWKSSettings() jwksSettings {
	return jwksSettings{
		maxAge:          defaultJWKSMaxAge,
		refreshInterval: defaultJWKSRefreshInterval,
		unknownKIDEvery: defaultJWKSUnknownKIDEvery,
		timeout:         defaultJWKSTimeout,
		client:          http.DefaultClient,
		onError: func(err error) {
			slog.Default().Warn("protojwt: refreshing the JWK Set failed; verifying with the keys of the last good fetch", "error", err)
		},
	}
}

// checkKeyOptions reports an option New can't use.
func (m *Manager) checkKeyOptions() error {
	s := m.jwksSettings
	switch {
	case m.untyped != "" && m.untyped != Auth && m.untyped != Refresh:
		return configError(`WithUntypedTokens needs "auth" or "refresh"`)
	case s.maxAge < 0:
		return configError("WithJWKSMaxAge can't be negative")
	case s.refreshInterval <= 0:
		return configError("WithJWKSRefreshInterval needs a positive interval")
	case s.unknownKIDEvery < 0:
		return configError("WithJWKSRefreshUnknownKID can't be negative")
	case s.timeout <= 0:
		return configError("WithJWKSTimeout needs a positive timeout")
	}
	return nil
}

// WithUntypedTokens makes Verify accept a token without a "type" claim, as
// identity providers and other issuers make them, as a token of type t
// (Auth or Refresh): its Token.Type is t and its Claims stay as they are.
// A token whose type claim is present must still say "auth" or "refresh",
// and every other check stays as strict. New refuses another t. By default,
// a token without a type claim is refused with ErrMalformed.
func WithUntypedTokens(t TokenType) Option {
	return optionFunc(func(m *Manager) {
		m.untyped = t
	})
}

// WithJWKSMaxAge sets how long clients may cache the JWK Set that
// JWKSHandler serves: the max-age of its Cache-Control header, in whole
// seconds; under a second sends "no-cache". Announce a key with AddKey at
// least this long (plus the verifiers' refresh interval) before RotateKey
// signs with it. New refuses a negative d. By default, 5 minutes.
func WithJWKSMaxAge(d time.Duration) Option {
	return optionFunc(func(m *Manager) {
		m.jwksSettings.maxAge = d
	})
}

// WithJWKSRefreshInterval sets how often a Manager whose keys come from
// Config.JWKSURL fetches the set again in the background. New refuses an
// interval that is not positive. By default, 5 minutes.
func WithJWKSRefreshInterval(d time.Duration) Option {
	return optionFunc(func(m *Manager) {
		m.jwksSettings.refreshInterval = d
	})
}

// WithJWKSRefreshUnknownKID sets the rate at which a Manager whose keys come
// from Config.JWKSURL fetches the set when a token names a kid it lacks: at
// most once per d, so a flood of tokens with made-up kids costs at most one
// fetch per d. A Verify call that would wait longer than WithJWKSTimeout for
// its turn is refused at once with ErrSignature. Zero turns these fetches
// off; New refuses a negative d. By default, once per 30 seconds.
func WithJWKSRefreshUnknownKID(d time.Duration) Option {
	return optionFunc(func(m *Manager) {
		m.jwksSettings.unknownKIDEvery = d
	})
}

// WithJWKSTimeout bounds each fetch of Config.JWKSURL, the first one
// included, and how long a Verify call may wait for a refresh. New refuses a
// timeout that is not positive. By default, 10 seconds.
func WithJWKSTimeout(d time.Duration) Option {
	return optionFunc(func(m *Manager) {
		m.jwksSettings.timeout = d
	})
}

// WithJWKSHTTPClient sets the HTTP client that fetches Config.JWKSURL: for
// a private CA, a proxy or credentials. A nil c is ignored. By default,
// http.DefaultClient.
func WithJWKSHTTPClient(c *http.Client) Option {
	return optionFunc(func(m *Manager) {
		if c != nil {
			m.jwksSettings.client = c
		}
	})
}

// WithJWKSErrorHandler sets the function that learns of each failed refresh
// of Config.JWKSURL, in the background or for an unknown kid; the Manager
// goes on with the keys it has. f must be safe for concurrent use. A nil f
// is ignored. By default, failures are logged with slog.Default at level
// Warn.
func WithJWKSErrorHandler(f func(error)) Option {
	return optionFunc(func(m *Manager) {
		if f != nil {
			m.jwksSettings.onError = f
		}
	})
}
