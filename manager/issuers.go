package manager

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sort"

	"github.com/protojwt/protojwt/internal/jws"
)

// Issuers verifies the tokens of several trusted issuers, each with the
// Manager configured for it: an API that accepts the tokens of an identity
// provider and of its own login service, or of two providers during a
// migration. It is a Verifier, so the adapters take it as they take a
// Manager. It is immutable and safe for concurrent use.
type Issuers struct {
	byIssuer map[string]*Manager
	ordered  []*Manager // by issuer: whose caches a token is looked up in
	maxSize  int        // the largest token any of them accepts
	names    []string
}

var _ Verifier = (*Issuers)(nil)

var (
	errNoIssuer      = verifyError("iss is not a trusted issuer", ErrIssuer)
	errIssuersSize   = verifyError("token is over the size every issuer accepts", ErrMalformed)
	errIssuersFormat = verifyError("token is not a compact JWS with an iss claim", ErrMalformed)
)

// NewIssuers returns the Issuers of ms, one Manager per issuer
// (Config.Issuer). No Manager, a nil one, or two of one issuer is an error
// wrapping [ErrConfig]. Close closes them all.
func NewIssuers(ms ...*Manager) (*Issuers, error) {
	if len(ms) == 0 {
		return nil, configError("NewIssuers of no Manager")
	}
	is := &Issuers{byIssuer: make(map[string]*Manager, len(ms))}
	for i, m := range ms {
		if m == nil {
			return nil, configError(fmt.Sprintf("NewIssuers: Manager %d is nil", i))
		}
		if _, dup := is.byIssuer[m.issuer]; dup {
			return nil, configError(fmt.Sprintf("NewIssuers: two Managers of issuer %q", m.issuer))
		}
		is.byIssuer[m.issuer] = m
		is.maxSize = max(is.maxSize, m.verifier.maxTokenSize)
		is.names = append(is.names, m.issuer)
	}
	sort.Strings(is.names)
	for _, name := range is.names {
		is.ordered = append(is.ordered, is.byIssuer[name])
	}
	return is, nil
}

// Verify verifies signed with the Manager of its issuer and returns the
// token, as that Manager's Verify does: with its keys, algorithms,
// audience, leeway, revocation store and cache. A token one of the Managers
// verified before is found in its verification cache, which holds only
// tokens of its issuer, at the cost of a cache lookup per Manager. Any
// other token has its issuer read from the unverified payload, in one
// bounded pass that decodes no other claim and allocates nothing; a token
// of no listed issuer is refused with [ErrIssuer] at no more cost than a
// malformed one, and no Manager checks its signature. Token.Issuer says
// who issued a token that verified.
func (is *Issuers) Verify(ctx context.Context, signed string) (*Token, error) {
	if signed == "" {
		return nil, fmt.Errorf("manager: verify: %w", ErrNoToken)
	}
	if len(signed) > is.maxSize {
		return nil, errIssuersSize
	}
	// One hash serves every cache: they share their seed.
	h := maphash.String(cacheSeed, signed)
	for _, m := range is.ordered {
		if tok, found, err := m.verifier.cached(ctx, h, signed); found {
			return tok, err
		}
	}
	parts, ok := jws.Split(signed)
	if !ok {
		return nil, errIssuersFormat
	}
	m, peeked, found := jws.LookupIssuer(parts.Payload, is.byIssuer)
	switch {
	case !peeked:
		return nil, errIssuersFormat
	case !found:
		return nil, errNoIssuer
	}
	return m.Verify(ctx, signed)
}

// cached returns the token signed, of hash h, when v's verification
// cache holds it and it may be returned again, checked as Verify checks a
// cached token (times, key, revocation); found is false when it is not
// there, and then no miss is counted: Verify, called next, counts it.
func (v *verifier) cached(ctx context.Context, h uint64, signed string) (tok *Token, found bool, err error) {
	if v.cache == nil || len(signed) > v.maxTokenSize {
		return nil, false, nil
	}
	e := v.cache.probe(h, signed)
	if e == nil {
		return nil, false, nil
	}
	if err := v.sessions.checkRevoked(ctx, e.tok); err != nil {
		return nil, true, err
	}
	return e.tok, true, nil
}

// Manager returns the Manager of issuer, and whether there is one: to
// revoke a token, or read the statistics of one issuer's cache.
func (is *Issuers) Manager(issuer string) (*Manager, bool) {
	m, ok := is.byIssuer[issuer]
	return m, ok
}

// Names returns the trusted issuers, sorted.
func (is *Issuers) Names() []string { return append([]string(nil), is.names...) }

// Close closes every Manager, as Manager.Close does, and returns their
// errors joined.
func (is *Issuers) Close() error {
	var errs []error
	for _, name := range is.names {
		errs = append(errs, is.byIssuer[name].Close())
	}
	return errors.Join(errs...)
}
