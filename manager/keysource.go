package manager

import (
	"context"
	"fmt"
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
	// checked is the fetch (see selectedKey.fetch) at which k was last
	// found current, which a source whose keys are fetched may advance so
	// that the next call costs no selection; others ignore it.
	current(k selectedKey, checked *atomic.Uint64, h *jws.Header) bool
	// stale reports, without fetching, that k can never be current again.
	stale(k selectedKey) bool
	// close stops any background work; the source keeps its keys.
	close()
}

// selectedKey is a verification key, the key set it was selected from
// (nil for a JWK Set fetched from a URL, whose keys are compared instead),
// the algorithm it was selected for and, for a fetched set, the fetch it
// was selected from (0 for the Manager's own keys).
type selectedKey struct {
	key   any
	set   *keySet
	alg   algorithm
	fetch uint64
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

func (l *localKeys) current(k selectedKey, _ *atomic.Uint64, _ *jws.Header) bool {
	return k.set == l.set.Load()
}

func (l *localKeys) stale(k selectedKey) bool { return k.set != l.set.Load() }

func (l *localKeys) close() {}

// openKeys returns the keys of a new Manager from cfg: its own key, a
// static JWK Set, or a JWK Set fetched from a URL, given or found by
// discovery, within ctx. keys sign (when the Manager has a signing key)
// and are the ones its methods change; source selects the keys that
// verify: keys, or the fetched set. Errors wrap [ErrConfig], or [ErrJWKS] when
// a JWK Set can't be fetched.
func openKeys(ctx context.Context, cfg Config, alg algorithm, algs []algorithm, fetch fetcher) (keys *localKeys, source keySource, err error) {
	keys = &localKeys{}
	source = keys // unless the keys come from JWKSURL or Discovery
	sources := 0
	for _, set := range []bool{cfg.JWKSURL != "", len(cfg.JWKS) > 0, cfg.Discovery} {
		if set {
			sources++
		}
	}
	external := sources > 0
	switch {
	case sources > 1:
		return nil, nil, configError("Discovery, JWKSURL and JWKS are exclusive")
	case external && (len(cfg.Secret) > 0 || cfg.PrivateKey != nil || cfg.PublicKey != nil || cfg.KeyID != ""):
		return nil, nil, configError("a Manager with Discovery, JWKSURL or JWKS takes its keys from the JWK Set: no Secret, PrivateKey, PublicKey or KeyID")
	}

	var byID map[string]any
	var jwkAlg map[string]string
	var signKey any
	switch {
	case cfg.Discovery:
		if source, err = fetch.openDiscovered(ctx, cfg.Issuer); err != nil {
			return nil, nil, err
		}
		byID = map[string]any{}
	case cfg.JWKSURL != "":
		if source, err = fetch.openRemote(ctx, cfg.JWKSURL); err != nil {
			return nil, nil, err
		}
		byID = map[string]any{}
	case len(cfg.JWKS) > 0:
		if byID, jwkAlg, err = parseJWKS(cfg.JWKS, algs); err != nil {
			return nil, nil, fmt.Errorf("manager: JWKS: %w: %w", err, ErrConfig)
		}
	default:
		var verifyKey any
		if signKey, verifyKey, err = checkKeysForAll(cfg, alg, algs); err != nil {
			return nil, nil, configError(err.Error())
		}
		byID = map[string]any{cfg.KeyID: verifyKey}
	}
	ks, err := newKeySet(alg, cfg.KeyID, signKey, byID)
	if err != nil {
		source.close()
		return nil, nil, err
	}
	ks.fixed = external
	ks.jwkAlg = jwkAlg
	keys.set.Store(ks)
	return keys, source, nil
}
