package manager

import "time"

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventJWKSFetch is a fetch of the JWK Set of Config.JWKSURL (or of
	// the jwks_uri Config.Discovery found): the first, a background
	// refresh, a retry after a failure, or one for a token's unknown kid.
	// Err is its failure, and KeyAge then the age of the keys that go on
	// verifying; on success, Keys is the number of keys the set holds.
	EventJWKSFetch EventKind = iota + 1
	// EventRevocationCheck is a call of the revocation store's Revoked by
	// Verify. Err is set when the store failed to answer, whether Verify
	// then failed open or not; it wraps [ErrRevocationUnavailable], and also
	// [context.Canceled] or [context.DeadlineExceeded] when the caller gave up
	// first, which is no outage of the store.
	EventRevocationCheck
	// EventDiscoveryRead is a read of the issuer's metadata (Config.Discovery):
	// the first, in New or Open, or one on the JWK Set's refresh schedule.
	// Err is its failure; Duration how long it took, every document tried.
	EventDiscoveryRead
)

// String returns the kind's name, for logs and metric attributes.
func (k EventKind) String() string {
	switch k {
	case EventJWKSFetch:
		return "jwks_fetch"
	case EventRevocationCheck:
		return "revocation_check"
	case EventDiscoveryRead:
		return "discovery_read"
	}
	return "unknown"
}

// Event is something a Manager did that operators count: what metrics need
// beyond the decisions the adapters report. See [WithEvents].
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Err is the failure, nil for a success. It never contains a token or
	// a key.
	Err error
	// Keys is the number of keys of the JWK Set after a successful
	// [EventJWKSFetch]; 0 otherwise.
	Keys int
	// KeyAge is, for an [EventJWKSFetch] that failed, how long ago the last
	// good fetch was: the age of the keys Verify goes on using, which
	// [WithMaxKeyAge] bounds. It is 0 on success (the keys are new) and
	// while no fetch has ever succeeded ([WithStartUnavailable]: there are
	// no keys, and Verify refuses every token with [ErrKeysUnavailable]).
	KeyAge time.Duration
	// Duration is how long the store took to answer an
	// [EventRevocationCheck], or the metadata to be read for an
	// [EventDiscoveryRead]; 0 for other kinds.
	Duration time.Duration
}

// eventSink is the [WithEvents] function, nil without one.
type eventSink func(Event)

// emit hands e to the [WithEvents] function, when there is one.
func (f eventSink) emit(e Event) {
	if f != nil {
		f(e)
	}
}
