package manager

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/protojwt/protojwt/internal/jws"
	"github.com/protojwt/protojwt/internal/metadata"
)

// TenantPlaceholder is the part of [TenantConfig].Template that a tenant
// replaces.
const TenantPlaceholder = "{tenant}"

// Defaults of [TenantConfig].
const (
	DefaultMaxTenants   = 100
	DefaultTenantIdle   = time.Hour
	DefaultTenantRetry  = 30 * time.Second
	DefaultTenantCreate = 100 * time.Millisecond
)

// maxTenantLen bounds a tenant read from a token's iss.
const maxTenantLen = 128

// TenantConfig is what [NewTenantIssuers] needs: the issuers of one identity
// provider that gives each tenant an issuer of its own, such as Entra ID's
// https://login.microsoftonline.com/{tenant}/v2.0.
type TenantConfig struct {
	// Template is the issuer of every tenant, with [TenantPlaceholder] once
	// where the tenant goes. Required.
	Template string
	// Admit reports whether tokens of tenant are trusted at all: a tenant
	// it refuses costs no fetch, and its tokens are refused with
	// [ErrIssuer]. The tenant is what the token's iss has in place of
	// [TenantPlaceholder]: letters, digits, '-', '_' and '.', at most 128
	// bytes (any other iss is refused before Admit is asked). It must be
	// safe for concurrent use and quick. Required.
	Admit func(tenant string) bool
	// Config is copied for each tenant, with Issuer set to the tenant's
	// (Issuer must be left empty), and [TenantPlaceholder] in JWKSURL
	// replaced too. Discovery or JWKSURL: each tenant's keys are fetched.
	Config Config
	// Options are the options of each tenant's Manager.
	Options []Option
	// MaxTenants bounds the tenants held at once, those whose Manager
	// failed to be made included; when full, the least recently used
	// gives way (approximately: use is tracked per IdleAfter/2). By
	// default, [DefaultMaxTenants].
	MaxTenants int
	// IdleAfter is how long a tenant's Manager is kept unused: then it is
	// closed (after the calls still using it end) and made again by the
	// next token. By default, [DefaultTenantIdle].
	IdleAfter time.Duration
	// RetryAfter is how long a tenant whose Manager could not be made is
	// refused without trying again. By default, [DefaultTenantRetry].
	RetryAfter time.Duration
	// CreateEvery bounds how often a Manager is made for a new tenant (a
	// burst of 10, then one per CreateEvery): a flood of tokens of
	// admitted tenants costs the provider at most that many fetches; the
	// tokens over it are refused with [ErrKeysUnavailable]. By default,
	// [DefaultTenantCreate].
	CreateEvery time.Duration
}

// TenantIssuers verifies the tokens of the tenants of one identity
// provider, each with a [Manager] of its own made from [TenantConfig] on
// its first token: the tenant's metadata and keys, fetched then. It is a
// [Verifier], so the adapters take it as they take a Manager. It is safe
// for concurrent use.
type TenantIssuers struct {
	prefix, suffix string // Template around TenantPlaceholder
	tc             TenantConfig
	maxSize        int // the largest token a tenant's Manager accepts
	create         *rate.Limiter

	tenants atomic.Pointer[map[string]*tenant] // by issuer; replaced whole under mu
	mu      sync.Mutex                         // serializes changes of tenants
	closed  bool                               // under mu

	// front finds the tenant of a token verified before by its hash, as
	// Issuers finds it in its Managers' caches.
	front [frontSlots]atomic.Pointer[frontEntry]

	epoch   atomic.Int64 // the janitor's ticks: when a tenant was last used
	stop    chan struct{}
	stopped chan struct{}
}

var _ Verifier = (*TenantIssuers)(nil)

var (
	errTenantRefused  = verifyError("iss is not an admitted tenant of the issuer template", ErrIssuer)
	errTenantsBusy    = verifyError("too many new tenants now", ErrKeysUnavailable)
	errTenantsClosed  = verifyError("the tenant issuers are closed", ErrKeysUnavailable)
	errTenantsNoMeta  = verifyError("the tenant's issuer serves no metadata", ErrIssuer)
	errTenantsNoKeys  = verifyError("the tenant's keys can't be fetched now", ErrKeysUnavailable)
	errTenantsPending = verifyError("the tenant's keys are being fetched", ErrKeysUnavailable)
)

// NewTenantIssuers returns the [TenantIssuers] of tc, or an error wrapping
// [ErrConfig]: a Template without [TenantPlaceholder] exactly once in its
// path, or that is no https URL (http to loopback only, as
// [Config.Discovery] requires); no Admit; a Config with an Issuer, or without Discovery or JWKSURL; a
// negative bound. No fetch is made before the first token. Close closes
// every tenant's Manager.
func NewTenantIssuers(tc TenantConfig) (*TenantIssuers, error) {
	prefix, suffix, ok := strings.Cut(tc.Template, TenantPlaceholder)
	switch {
	case !ok || strings.Contains(suffix, TenantPlaceholder):
		return nil, configError("TenantConfig.Template needs " + TenantPlaceholder + " exactly once")
	case !strings.Contains(strings.TrimPrefix(strings.TrimPrefix(prefix, "https://"), "http://"), "/"):
		return nil, configError("TenantConfig.Template takes the tenant in its path, not in its host")
	case tc.Admit == nil:
		return nil, configError("TenantConfig.Admit is required")
	case tc.Config.Issuer != "":
		return nil, configError("TenantConfig.Config.Issuer must be empty: the Template makes it")
	case !tc.Config.Discovery && tc.Config.JWKSURL == "":
		return nil, configError("TenantConfig.Config needs Discovery or JWKSURL")
	case tc.MaxTenants < 0, tc.IdleAfter < 0, tc.RetryAfter < 0, tc.CreateEvery < 0:
		return nil, configError("TenantConfig's bounds can't be negative")
	}
	if _, err := metadata.URLs(prefix + "tenant" + suffix); err != nil {
		return nil, configError("TenantConfig.Template: " + err.Error())
	}
	tc.Options = append([]Option(nil), tc.Options...)
	tc.MaxTenants = cmpOr(tc.MaxTenants, DefaultMaxTenants)
	tc.IdleAfter = cmpOr(tc.IdleAfter, DefaultTenantIdle)
	tc.RetryAfter = cmpOr(tc.RetryAfter, DefaultTenantRetry)
	tc.CreateEvery = cmpOr(tc.CreateEvery, DefaultTenantCreate)
	s := defaultSettings()
	for _, opt := range tc.Options {
		if opt != nil {
			opt.apply(&s)
		}
	}
	ti := &TenantIssuers{
		prefix: prefix, suffix: suffix, tc: tc, maxSize: s.maxTokenSize,
		create:  rate.NewLimiter(rate.Every(tc.CreateEvery), 10),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	empty := map[string]*tenant{}
	ti.tenants.Store(&empty)
	go ti.janitor()
	return ti, nil
}

// cmpOr returns v, or def when v is zero.
func cmpOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Verify verifies signed with the Manager of its tenant, made on the
// tenant's first token, and returns the token as that Manager's Verify
// does. A token verified before is found in its tenant's cache at the
// cost of a hash and a lookup, as with Issuers. Any other token has its
// issuer read from the unverified payload, in one bounded pass; a token whose iss does not fit the Template, or whose tenant
// Admit refuses, is refused with [ErrIssuer] and costs no fetch. While a
// tenant's Manager is being made, other tokens of the tenant wait for it
// (one fetch per tenant), within ctx. A tenant whose Manager can't be
// made is refused for RetryAfter: with [ErrIssuer] when its issuer serves
// no metadata, with [ErrKeysUnavailable] when the provider can't be reached
// or too many tenants are new at once.
func (ti *TenantIssuers) Verify(ctx context.Context, signed string) (*Token, error) {
	if signed == "" {
		return nil, fmt.Errorf("manager: verify: %w", ErrNoToken)
	}
	if len(signed) > ti.maxSize {
		return nil, errIssuersSize
	}
	epoch := ti.epoch.Load()
	h := maphash.String(cacheSeed, signed) // every cache's hash
	if tok, found, err := ti.warm(ctx, h, signed, epoch); found {
		return tok, err
	}
	parts, ok := jws.Split(signed)
	if !ok {
		return nil, errIssuersFormat
	}
	t, peeked, found := jws.LookupIssuer(parts.Payload, *ti.tenants.Load())
	if !peeked {
		return nil, errIssuersFormat
	}
	if found && t.failureOver() {
		found = false // try again to make its Manager
	}
	if !found {
		iss, _ := jws.PeekIssuer(parts.Payload)
		tenantName, ok := strings.CutPrefix(iss, ti.prefix)
		if ok {
			tenantName, ok = strings.CutSuffix(tenantName, ti.suffix)
		}
		if !ok || !validTenant(tenantName) || !ti.tc.Admit(tenantName) {
			return nil, errTenantRefused
		}
		var err error
		if t, err = ti.tenantOf(ctx, iss); err != nil {
			return nil, err
		}
	}
	tok, err := t.verify(ctx, signed, epoch)
	if err == nil {
		ti.remember(h, t)
	}
	return tok, err
}

// validTenant reports whether s may stand for [TenantPlaceholder]: a short
// word that keeps the issuer's URL within the Template's shape.
func validTenant(s string) bool {
	if s == "" || len(s) > maxTenantLen || s == "." || s == ".." {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Manager returns the Manager of a tenant's issuer, and whether there is
// one now: to read its cache statistics, or revoke a token.
func (ti *TenantIssuers) Manager(issuer string) (*Manager, bool) {
	t, ok := (*ti.tenants.Load())[issuer]
	if !ok || !t.done() || t.m == nil {
		return nil, false
	}
	return t.m, true
}

// Len returns the number of tenants held now, those whose Manager failed
// to be made included.
func (ti *TenantIssuers) Len() int { return len(*ti.tenants.Load()) }

// Close closes every tenant's Manager (each after the calls still using
// it end) and stops making new ones: Verify then refuses every token with
// [ErrKeysUnavailable]. Close is safe to call more than once and returns
// nil.
func (ti *TenantIssuers) Close() error {
	ti.mu.Lock()
	if ti.closed {
		ti.mu.Unlock()
		return nil
	}
	ti.closed = true
	old := *ti.tenants.Load()
	empty := map[string]*tenant{}
	ti.tenants.Store(&empty)
	ti.mu.Unlock()
	close(ti.stop)
	<-ti.stopped
	for _, t := range old {
		t.evict()
	}
	return nil
}

// creationError returns the Verify error of a Manager that could not be
// made: the tenant does not exist, or can't be reached now.
func creationError(err error) error {
	if errors.Is(err, metadata.ErrNotServed) {
		return errTenantsNoMeta
	}
	return errTenantsNoKeys
}
