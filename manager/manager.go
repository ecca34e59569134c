package manager

import (
	"cmp"
	"context"
	"slices"
)

// Manager issues and verifies the tokens of one Config. New checks the
// Config and prepares everything a call needs, so a Manager is safe for
// concurrent use; only its keys change, swapped whole by RotateKey, AddKey
// and RemoveKey while calls go on.
type Manager struct {
	// A facade over parts of one role each, every one with its own state.
	issuer   string   // Config.Issuer
	signer   signer   // its own keys: issuing, key changes, the published JWK Set
	verifier verifier // Verify and its cache, over a keySource: its own keys or a fetched JWK Set
	sessions sessions // revocation and refresh rotation
}

// New returns a Manager for cfg, or an error wrapping [ErrConfig] that says
// what can't be used: a missing Issuer or Algorithm (see Config.Algorithm
// for when it may be empty), an unknown algorithm, Algorithms that the keys
// don't all fit, an HS algorithm with a JWK Set, a negative duration, an HS
// Secret shorter than 32 bytes, a key of the wrong kind, curve or size for
// the Algorithm (RSA keys need 2048 bits), keys next to a Secret, or a
// PrivateKey and PublicKey that are not a pair. The error never contains
// the secret or the keys.
//
// A Config without PrivateKey (RS, PS, ES and EdDSA only) makes a
// verify-only Manager: Verify works, AuthToken and RefreshToken return an
// error wrapping [ErrConfig]. So does a Config with JWKS, JWKSURL or
// Discovery, whose keys come from a JWK Set. New fetches JWKSURL (or the
// issuer's metadata, then its jwks_uri) once within [WithJWKSTimeout] (Open
// takes a context too) and returns an error wrapping [ErrJWKS] when it
// can't; the Manager then refreshes the set in the background until Close.
func New(cfg Config, opts ...Option) (*Manager, error) {
	return build(context.Background(), cfg, opts)
}

// Open returns a Manager for cfg as New does. When cfg.JWKSURL or
// cfg.Discovery is set, ctx bounds the first fetch of the JWK Set (and of
// the issuer's metadata), on top of [WithJWKSTimeout]: when ctx ends first,
// Open returns an error wrapping [ErrJWKS] and ctx's error. ctx does not bound
// the Manager's life; Close ends the background refresh.
//
// A Manager whose keys come from JWKSURL, or from the jwks_uri that
// Discovery finds, only verifies. It fetches the set
// once before Open returns, and fails when that fetch fails or the set holds
// no key usable with Config.Algorithms (unless [WithStartUnavailable]). Then
// it refreshes the set in the background ([WithJWKSRefreshInterval]), and
// when a token names a kid the set lacks ([WithJWKSRefreshUnknownKID]), at a
// bounded rate so that tokens with random kids can't make it fetch in a
// loop. When the endpoint fails, it keeps verifying with the keys of its
// last good fetch (for at most [WithMaxKeyAge]) and retries with backoff
// before the next interval. Refresh failures go to [WithJWKSErrorHandler].
//
// Every fetch refuses a response body over 1 MiB (JWK Sets take a few
// kilobytes) and a redirect that leaves https, on every hop; a redirect
// from an http loopback URL may only go to https or to loopback. A fetch
// for an unknown kid made by Verify ends with Verify's ctx as well as
// within [WithJWKSTimeout].
//
// The token's kid selects the JWK with that "kid" (a token without kid, the
// JWK without one). The JWK is used only when its "use" (when present) is
// "sig", its "key_ops" (when present) include "verify", its "alg" (when
// present) is the token's algorithm, one of Config.Algorithms, and its key
// is of the kind, curve and size that algorithm needs: a token whose key
// fails this is refused with [ErrAlgorithm], a token whose kid names no JWK
// with [ErrSignature].
func Open(ctx context.Context, cfg Config, opts ...Option) (*Manager, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return build(ctx, cfg, opts)
}

// build is New and Open: ctx bounds the first fetch of a JWK Set only.
func build(ctx context.Context, cfg Config, opts []Option) (*Manager, error) {
	s := defaultSettings()
	s.revocation.leeway = cfg.Leeway
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&s)
		}
	}
	if err := checkConfig(cfg, &s); err != nil {
		return nil, err
	}
	alg, algs, err := chooseAlgorithms(cfg)
	if err != nil {
		return nil, err
	}
	scopeClaims := slices.Clone(cfg.ScopeClaims)
	if len(scopeClaims) == 0 {
		scopeClaims = defaultScopeClaims
	}
	if err := checkKeyOptions(&s); err != nil {
		return nil, err
	}
	// Last of the checks: with Config.JWKSURL or Discovery it fetches.
	fetch := fetcher{settings: s.jwks, algs: algs, events: s.events, now: s.now}
	keys, source, err := openKeys(ctx, cfg, alg, algs, fetch)
	if err != nil {
		return nil, err
	}

	m := &Manager{issuer: cfg.Issuer}
	describe := describer{untyped: s.untyped, leeway: cfg.Leeway, scopeClaims: scopeClaims}
	authMaxAge := cmp.Or(cfg.AuthMaxAge, defaultAuthMaxAge)
	refreshMaxAge := cmp.Or(cfg.RefreshMaxAge, defaultRefreshMaxAge)
	m.sessions = sessions{
		revocationSettings: s.revocation,
		now:                s.now,
		events:             s.events,
		horizon:            max(authMaxAge, refreshMaxAge) + s.revocation.leeway,
	}
	m.signer = signer{
		issuer:        cfg.Issuer,
		audience:      slices.Clone(cfg.Audience),
		authMaxAge:    authMaxAge,
		refreshMaxAge: refreshMaxAge,
		alg:           alg,
		algs:          algs,
		keys:          keys,
		maxTokenSize:  s.maxTokenSize,
		now:           s.now,
		describe:      describe,
		jwksMaxAge:    s.jwks.maxAge,
	}
	v := &m.verifier
	v.issuer = cfg.Issuer
	v.audience = slices.Clone(cfg.Audience)
	v.algs = algs
	v.algErrors = algorithmErrors(algs)
	v.source = source
	v.typeRequired = s.untyped == ""
	v.accessTokenProfile = s.accessTokenProfile
	v.leeway = cfg.Leeway
	v.now = s.now
	v.maxTokenSize = s.maxTokenSize
	v.describe = describe
	v.sessions = &m.sessions
	v.cache = newVerifyCache(s.cacheSize, s.cacheBytes, s.cacheTTL, source, s.now)
	return m, nil
}

// checkConfig reports what of cfg and the options New can't use, before
// the algorithms and keys.
func checkConfig(cfg Config, s *settings) error {
	switch {
	case cfg.Issuer == "":
		return configError("Issuer is required")
	case cfg.AuthMaxAge < 0, cfg.RefreshMaxAge < 0, cfg.Leeway < 0:
		return configError("AuthMaxAge, RefreshMaxAge and Leeway can't be negative")
	case slices.Contains(cfg.Audience, ""):
		return configError("Audience has an empty value")
	case slices.Contains(cfg.ScopeClaims, ""):
		return configError("ScopeClaims has an empty name")
	case s.maxTokenSize <= 0:
		return configError("WithMaxTokenSize needs a positive size")
	case s.cacheSize < 0:
		return configError("WithVerifyCache can't be negative")
	case s.cacheTTL <= 0:
		return configError("WithVerifyCacheTTL needs a positive TTL")
	case s.cacheBytes <= 0:
		return configError("WithVerifyCacheBytes needs a positive bound")
	}
	return nil
}

// checkKeyOptions reports an option of the keys New can't use.
func checkKeyOptions(s *settings) error {
	j := s.jwks
	switch {
	case s.untyped != "" && s.untyped != Auth && s.untyped != Refresh:
		return configError(`WithUntypedTokens needs "auth" or "refresh"`)
	case j.maxAge < 0:
		return configError("WithJWKSMaxAge can't be negative")
	case j.refreshInterval <= 0:
		return configError("WithJWKSRefreshInterval needs a positive interval")
	case j.unknownKIDEvery < 0:
		return configError("WithJWKSRefreshUnknownKID can't be negative")
	case j.timeout <= 0:
		return configError("WithJWKSTimeout needs a positive timeout")
	case j.maxKeyAge < 0:
		return configError("WithMaxKeyAge can't be negative")
	case j.maxKeyAge > 0 && j.maxKeyAge <= j.refreshInterval:
		return configError("WithMaxKeyAge must be longer than the JWK Set's refresh interval (WithJWKSRefreshInterval), or keys would age out between two good fetches")
	}
	return nil
}

// Close stops the background refresh of a Manager whose keys come from
// JWKSURL or Discovery, and returns once it has ended; it goes on
// verifying with the keys it holds, without fetching again (a Manager
// that never got keys, with [WithStartUnavailable], refuses every token).
// For any other Manager it does nothing. Close is safe to call more
// than once and always returns nil.
func (m *Manager) Close() error {
	m.verifier.source.close()
	return nil
}
