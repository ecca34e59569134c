package manager

import (
	"context"
	"errors"
	"fmt"
)

// GrantFunc returns the scope and custom claims of the auth token that
// RotateRefreshToken issues in exchange for refresh, a verified refresh
// token: the authorizations its subject holds now, read as a login reads
// them. An error refuses the exchange and leaves refresh unused, so the
// client may try again.
type GrantFunc func(ctx context.Context, refresh *Token) (scope any, claims map[string]any, err error)

// RotateRefreshToken exchanges the refresh token refresh (a compact JWS; for
// a verified *Token, pass its Signed) for a new auth token and a new refresh
// token, which becomes the one token of the login that may be exchanged
// next. It needs a revocation store (see [WithRevocation]).
//
// The auth token has the scope and claims grant returns (none when grant is
// nil). The new refresh token has the custom claims of refresh and a full
// Config.RefreshMaxAge, so a login lasts while its client keeps refreshing.
// Both carry the "fam" claim that names the login: the jti of its first
// refresh token.
//
// A bound login stays bound: both tokens carry the "cnf" claim of refresh
// (see DPoPBinding), and a grant that names another is refused with
// [ErrClaim]. For a DPoP-bound refresh token (the login of a public client),
// the caller checks the proof that came with it against its cnf.jkt before
// the exchange, most simply in grant, whose error leaves refresh unused:
//
//	b, _ := dpop.BindingOf(refresh.Claims)
//	_, err := verifier.Verify(ctx, proof, call, b.JKT) // refused: another key, or none
//
// The adapters do this for a refresh route they guard, as for any bound
// token; a refresh token stolen without its key then can't be exchanged.
//
// A refresh token is exchanged once. The store keeps one record per login,
// naming its current refresh token, and replaces it at each exchange (see
// [revocation.Store]'s Rotate), so a client that refreshes without end does
// not fill the store. Presenting any other refresh token of the login means
// that two parties hold its tokens, one of them a thief: the whole login is
// revoked, every auth and refresh token of the family, and the error wraps
// [ErrRefreshReuse] (and so [ErrRevoked]). Two concurrent exchanges of one token
// count as reuse: the store moves the login from one token to the next
// atomically, so exactly one exchange succeeds, and the tokens it issued
// are then revoked with the rest of the login. Clients must not refresh
// concurrently.
//
// refresh is verified as Verify does, revocation included, and must be of
// type refresh ([ErrTokenType] otherwise). Errors of the store wrap
// [ErrRevocationUnavailable], even with [WithRevocationFailOpen]: a token whose
// exchange can't be recorded is not exchanged. A Manager without a store, or a
// verify-only one, returns an error wrapping [ErrConfig].
func (m *Manager) RotateRefreshToken(ctx context.Context, refresh string, grant GrantFunc) (auth, next *Token, err error) {
	s := &m.sessions
	store := s.store
	if store == nil {
		return nil, nil, fmt.Errorf("manager: rotate: no revocation store: %w", ErrConfig)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	old, err := m.verifier.verify(ctx, refresh)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case old.Type != Refresh:
		return nil, nil, fmt.Errorf("manager: rotate: %s token: %w", old.Type, ErrTokenType)
	case old.ID == "":
		return nil, nil, fmt.Errorf("manager: rotate: refresh token has no jti: %w", ErrMalformed)
	}
	family := familyOf(old)

	var scope any
	var claims map[string]any
	if grant != nil {
		if scope, claims, err = grant(ctx, old); err != nil {
			return nil, nil, fmt.Errorf("manager: rotate: grant: %w", err)
		}
	}
	// Issue before rotating: a failure here must not use up the token.
	if auth, err = m.signer.issue(Auth, m.signer.authMaxAge, old.Subject, scope, carryBinding(old, claims), family); err != nil {
		return nil, nil, err
	}
	if !sameConfirmation(auth, old) {
		return nil, nil, fmt.Errorf("manager: rotate: grant's %q claim differs from the refresh token's: %w", confirmationClaim, ErrClaim)
	}
	if next, err = m.signer.issue(Refresh, m.signer.refreshMaxAge, old.Subject, nil, customClaims(old), family); err != nil {
		return nil, nil, err
	}

	// The family's record lasts as long as its newest token may verify.
	moved, err := store.Rotate(ctx, old.Subject, family, old.ID, next.ID, next.ExpiresAt.Add(s.leeway))
	if err != nil {
		return nil, nil, storeError("rotate", err)
	}
	if !moved {
		reuse := fmt.Errorf("manager: rotate: %w", ErrRefreshReuse)
		if err := store.Revoke(ctx, old.Subject, family, s.now().Add(s.horizon)); err != nil {
			return nil, nil, errors.Join(reuse, storeError("rotate: revoke family", err))
		}
		return nil, nil, reuse
	}
	return auth, next, nil
}

// customClaims returns the claims of t that its issuer's caller chose: all
// but the ones a Manager sets itself.
func customClaims(t *Token) map[string]any {
	custom := map[string]any{}
	for name, v := range t.Claims {
		if !reservedClaims[name] {
			custom[name] = v
		}
	}
	return custom
}
