package manager

import (
	"context"
	"errors"
	"fmt"
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
	maxSize  int // the largest token any of them accepts
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
// wrapping ErrConfig. Close closes them all.
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
		is.maxSize = max(is.maxSize, m.maxTokenSize)
		is.names = append(is.names, m.issuer)
	}
	sort.Strings(is.names)
	return is, nil
}

// Verify verifies signed with the Manager of its issuer and returns the
// token, as that Manager's Verify does: with its keys, algorithms,
// audience, leeway, revocation store and cache. The issuer is read from
// the unverified payload, in one bounded pass that decodes no other claim;
// a token of no listed issuer is refused with ErrIssuer at no more cost
// than a malformed one, and no Manager sees it. Token.Issuer says who
// issued a token that verified.
func (is *Issuers) Verify(ctx context.Context, signed string) (*Token, error) {
	if signed == "" {
		return nil, fmt.Errorf("manager: verify: %w", ErrNoToken)
	}
	if len(signed) > is.maxSize {
		return nil, errIssuersSize
	}
	parts, ok := jws.Split(signed)
	if !ok {
		return nil, errIssuersFormat
	}
	iss, ok := jws.PeekIssuer(parts.Payload)
	if !ok {
		return nil, errIssuersFormat
	}
	m, ok := is.byIssuer[iss]
	if !ok {
		return nil, errNoIssuer
	}
	return m.Verify(ctx, signed)
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
