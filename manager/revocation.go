package manager

import (
	"context"
	"fmt"
	"time"

	"github.com/protojwt/protojwt/revocation"
)

// familyClaim names the login a token belongs to: the jti of the login's
// first refresh token, carried by every token RotateRefreshToken issues
// from it. That first refresh token has no such claim; its jti serves.
const familyClaim = "fam"

// revocationSettings is what the revocation options set.
type revocationSettings struct {
	store    revocation.Store // nil: no revocation
	failOpen bool
	report   func(error) // called with the error when failing open; may be nil
	leeway   time.Duration
}

// sessions answer for the logins of a Manager: which tokens are revoked,
// revoking them, and the rotation of refresh tokens.
type sessions struct {
	revocationSettings
	now     func() time.Time
	events  eventSink
	horizon time.Duration // how long after its issue any token may still verify
}

// checkRevoked asks the store, when there is one, whether t is revoked.
func (s *sessions) checkRevoked(ctx context.Context, t *Token) error {
	if s.store == nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	// A caller that gave up is no outage of the store: never fail open for
	// it, and don't ask the store at all when it already has.
	if err := ctx.Err(); err != nil {
		return callerGaveUp(err)
	}
	// What the Manager decoded, not what a handler may have changed since.
	id, sub, iat := t.ID, t.Subject, t.IssuedAt
	if st := t.state; st != nil {
		id, sub, iat = st.id, st.view.Subject, st.issuedAt
	}
	ids := []string{id}
	if family := familyOf(t); family != "" && family != id {
		ids = append(ids, family)
	}
	var start time.Time
	if s.events != nil {
		start = time.Now()
	}
	revoked, err := s.store.Revoked(ctx, sub, ids, iat)
	gaveUp := false
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err, gaveUp = callerGaveUp(ctxErr), true
		} else {
			err = storeError("verify", err)
		}
	}
	if s.events != nil {
		s.events.emit(Event{Kind: EventRevocationCheck, Err: err, Duration: time.Since(start)})
	}
	if err != nil {
		if gaveUp || !s.failOpen {
			return err
		}
		if s.report != nil {
			s.report(err)
		}
		return nil
	}
	if revoked {
		return verifyError("token is revoked", ErrRevoked)
	}
	return nil
}

// Revoke revokes the verified token t until it expires: a logout. When t
// belongs to a login whose refresh token rotates (a refresh token, or an
// auth token issued by RotateRefreshToken), every token of that login is
// revoked too, so that the client can't refresh its way back in; to end a
// login, revoke its refresh token. It returns an error wrapping [ErrConfig]
// without a revocation store (see [WithRevocation]), [ErrMalformed] for a token
// without jti, and [ErrRevocationUnavailable] when the store fails.
func (m *Manager) Revoke(ctx context.Context, t *Token) error {
	return m.sessions.revoke(ctx, t)
}

// revoke is Revoke.
func (s *sessions) revoke(ctx context.Context, t *Token) error {
	store := s.store
	switch {
	case store == nil:
		return fmt.Errorf("manager: revoke: no revocation store: %w", ErrConfig)
	case t == nil:
		return fmt.Errorf("manager: revoke: %w", ErrNoToken)
	case t.ID == "":
		return fmt.Errorf("manager: revoke: token has no jti: %w", ErrMalformed)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	// The family's record covers t as well: it lasts as long as the
	// youngest token of the login may.
	id, until := t.ID, t.ExpiresAt.Add(s.leeway)
	if family := familyOf(t); family != "" {
		id, until = family, s.now().Add(s.horizon)
	}
	if err := store.Revoke(ctx, t.Subject, id, until); err != nil {
		return storeError("revoke", err)
	}
	return nil
}

// RevokeSubject revokes every token issued to subject until now, auth and
// refresh tokens of every login: sign out everywhere. Since iat counts whole
// seconds, tokens issued during the current second are revoked too. Since
// Verify accepts an iat up to Config.Leeway in the future, from an issuer
// whose clock runs fast, so are tokens whose iat is up to Leeway after now:
// a token issued just before the sign-out by such an instance must not
// survive it. A login within Leeway (and the second) after the call must
// be repeated after that. It returns an error wrapping [ErrConfig] without a
// revocation store (see [WithRevocation]) and [ErrRevocationUnavailable] when
// the store fails.
func (m *Manager) RevokeSubject(ctx context.Context, subject string) error {
	return m.sessions.revokeSubject(ctx, subject)
}

// revokeSubject is RevokeSubject.
func (s *sessions) revokeSubject(ctx context.Context, subject string) error {
	store := s.store
	if store == nil {
		return fmt.Errorf("manager: revoke subject: no revocation store: %w", ErrConfig)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	before := s.now().Add(s.leeway).Truncate(time.Second).Add(time.Second)
	if err := store.RevokeSubject(ctx, subject, before, before.Add(s.horizon)); err != nil {
		return storeError("revoke subject", err)
	}
	return nil
}

// familyOf returns the family id of t: its fam claim, or the jti of a
// refresh token without one (the first refresh token of a login), or "".
func familyOf(t *Token) string {
	if t.state != nil {
		return t.state.family
	}
	if family, _ := t.Claims[familyClaim].(string); family != "" {
		return family
	}
	if t.Type == Refresh {
		return t.ID
	}
	return ""
}

// callerGaveUp is Verify's error when the caller's ctx ended (err is
// ctx.Err()) before the store answered: it wraps err and
// [ErrRevocationUnavailable], since the token was not judged, and is returned
// even with [WithRevocationFailOpen], whose report it does not reach.
func callerGaveUp(err error) error {
	return fmt.Errorf("manager: verify: revocation not checked, the caller gave up: %w: %w", ErrRevocationUnavailable, err)
}

// storeError wraps an error of the revocation store so that [errors.Is]
// matches both [ErrRevocationUnavailable] and err.
func storeError(op string, err error) error {
	return fmt.Errorf("manager: %s: %w: %w", op, ErrRevocationUnavailable, err)
}
