package revocation

import (
	"context"
	"errors"
	"time"
)

// Store records what a manager.Manager must remember about tokens it can't
// take back: revoked token ids, the time before which a subject's tokens are
// revoked, and which refresh tokens were used. Every record has an until
// time, after which every token it covers has expired and the Store may drop
// it; a record whose until is not in the future is not kept.
//
// An id is a token's "jti" claim or the family id of a login (the "fam"
// claim that tokens issued by rotating a refresh token carry, the jti of the
// login's first refresh token): both are random 128-bit values issued by the
// Manager, in one namespace. Every record belongs to a subject (the "sub"
// claim, possibly empty), so that a Store may keep a subject's records
// together, as on one Redis Cluster slot.
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
	// RevokeSubject with a before later than issuedAt. Empty ids are ignored.
	Revoked(ctx context.Context, subject string, ids []string, issuedAt time.Time) (bool, error)

	// MarkUsed marks the refresh token id of subject used until the time
	// until and reports whether this call did: of any number of concurrent
	// calls for one id, exactly one reports true while the mark lasts. A
	// mark whose until is not in the future is not kept and MarkUsed
	// reports false: an expired token can't be used.
	MarkUsed(ctx context.Context, subject, id string, until time.Time) (bool, error)
}

// ErrFull means a MemoryStore holds its maximum number of records, none of
// them expired, and refuses a new one rather than forget a revocation.
var ErrFull = errors.New("protojwt: revocation store full")
