package revocation

import (
	"context"
	"errors"
	"time"
)

// Store records what a manager.Manager must remember about tokens it can't
// take back: revoked token ids, the time before which a subject's tokens are
// revoked, and which refresh token of each login may be exchanged next.
// Every record has an until time, after which every token it covers has
// expired and the Store may drop it; a record whose until is not in the
// future is not kept.
//
// An id is a token's "jti" claim or the family id of a login (the "fam"
// claim that tokens issued by rotating a refresh token carry, the jti of the
// login's first refresh token): both are random 128-bit values issued by the
// Manager, in one namespace. Every record belongs to a subject (the "sub"
// claim, possibly empty), so that a Store may keep a subject's records
// together, as on one Redis Cluster slot.
//
// What a client can make a Store write is bounded by what it holds: one
// record per revoked token or login, one per subject signed out everywhere,
// and one per login however often its refresh token rotates.
//
// Implementations are safe for concurrent use, honour ctx, and return an
// error when they can't answer; the Manager decides what an error means.
// The package revocationtest checks an implementation.
type Store interface {
	// Revoke revokes every token of subject whose jti or family is id,
	// until the time until. A second Revoke of the same id keeps the later
	// until.
	Revoke(ctx context.Context, subject, id string, until time.Time) error

	// RevokeSubject revokes every token of subject issued before the time
	// before, and remembers it until the time until. Of several calls for
	// one subject, the latest before and the latest until hold.
	RevokeSubject(ctx context.Context, subject string, before, until time.Time) error

	// Revoked reports whether a token of subject, issued at issuedAt, that
	// carries ids (its jti and, when it has one, its family) is revoked: one
	// of ids was revoked with Revoke, or subject was revoked with
	// [Store.RevokeSubject] with a before later than issuedAt. Empty ids are ignored.
	Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error)

	// Rotate moves the login family of subject from its refresh token id to
	// the refresh token next, and reports whether this call did. It does
	// when the family's record names id as its current token, or when the
	// family has no record; it then names next, and lasts until the later
	// of its until and the time until. Otherwise (id was exchanged before,
	// or a concurrent call won) it changes nothing and reports false: of
	// any number of concurrent calls for one id, exactly one reports true.
	// One record per family, replaced at each rotation, whatever the number
	// of rotations. A family without a record (its first exchange, or a
	// store that lost it, as a [MemoryStore] does when its process restarts)
	// takes any id once: a store that loses records loses reuse detection
	// for those logins, not the logins. A call whose until is not in the
	// future changes nothing and reports false: an expired token can't be
	// exchanged. next must differ from id; a call where it does not is
	// refused with an error.
	Rotate(ctx context.Context, subject, family, id, next string, until time.Time) (bool, error)
}

// ErrFull means a [MemoryStore] holds its maximum number of records, none of
// them expired, and refuses a new one rather than forget a revocation.
var ErrFull = errors.New("protojwt: revocation store full")

// errSameToken refuses a Rotate to the token it rotates from, which would
// let every concurrent call win.
var errSameToken = errors.New("revocation: rotate: next is the token rotated from")
