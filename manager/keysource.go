package manager

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/protojwt/protojwt/internal/jws"
)

// keySource selects the key that verifies a token by its header: the
// Manager's own key set (localKeys), or a JWK Set fetched from a URL
// (remoteKeys). Verify and the verification cache know keys only through
// it.
type keySource interface {
	// verificationKey returns the key that verifies tokens with header h
	// and algorithm alg (one Verify accepts), or a *keyError: errUnusable
	// for a key that does not fit alg. ctx bounds any fetch it makes.
	verificationKey(ctx context.Context, h *jws.Header, alg algorithm) (selectedKey, error)
	// current reports whether k, selected earlier for header h, is still
	// the key h selects: whether a token it verified still verifies.
	current(k selectedKey, h *jws.Header) bool
	// stale reports, without fetching, that k can never be current again.
	stale(k selectedKey) bool
	// close stops any background work; the source keeps its keys.
	close()
}

// selectedKey is a verification key, the key set it was selected from
// (nil for a JWK Set fetched from a URL, whose keys are compared instead)
// and the algorithm it was selected for.
type selectedKey struct {
	key any
	set *keySet
	alg algorithm
}

// localKeys are the keys of a Manager's Config, or of a static JWK Set
// (Config.JWKS), changed whole by RotateKey, AddKey and RemoveKey: a token
// verified with one key set is current while that set is.
type localKeys struct {
	set atomic.Pointer[keySet] // read without locking; never nil after New
	mu  sync.Mutex             // serializes key changes
}

func (l *localKeys) verificationKey(_ context.Context, h *jws.Header, alg algorithm) (selectedKey, error) {
	ks := l.set.Load()
	id, key, err := ks.verificationKey(h.Fields)
	if err == nil && !ks.fits(id, key, alg) {
		err = errUnusable
	}
	return selectedKey{key: key, set: ks, alg: alg}, err
}

func (l *localKeys) current(k selectedKey, _ *jws.Header) bool { return k.set == l.set.Load() }

func (l *localKeys) stale(k selectedKey) bool { return k.set != l.set.Load() }

func (l *localKeys) close() {}
