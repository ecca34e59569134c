package manager

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
	"github.com/protojwt/protojwt/internal/metadata"
)

// discover reads issuer's metadata and returns its jwks_uri. The fetch is
// the JWK Set's: within [WithJWKSTimeout], with the client of
// [WithJWKSHTTPClient] under fetchClient's rules (no redirect that leaves
// https, a bounded body). Each call is reported as an
// [EventDiscoveryRead].
func (f fetcher) discover(ctx context.Context, issuer string) (string, error) {
	start := time.Now()
	doc, err := metadata.Read(ctx, fetchClient(f.settings.client, issuer), issuer, f.settings.timeout)
	var jwksURI string
	if err == nil {
		jwksURI, err = doc.URL("jwks_uri")
	}
	f.events.emit(Event{Kind: EventDiscoveryRead, Err: err, Duration: time.Since(start)})
	return jwksURI, err
}

// discoveredKeys are the keys of the JWK Set an issuer's metadata names,
// found again every refresh interval: a provider that moves its keys to
// another jwks_uri is followed, and the keys of the old set serve until
// the new one has been fetched. With [WithStartUnavailable], there may be
// no set yet: then every token is refused with [ErrKeysUnavailable].
type discoveredKeys struct {
	cur     atomic.Pointer[remoteKeys] // nil until a set has been opened
	stop    context.CancelFunc         // ends rediscover
	stopped chan struct{}              // closed when rediscover returns
}

func (d *discoveredKeys) verificationKey(ctx context.Context, h *jws.Header, alg algorithm) (selectedKey, error) {
	r := d.cur.Load()
	if r == nil {
		return selectedKey{alg: alg}, errNoKeysYet
	}
	return r.verificationKey(ctx, h, alg)
}

// current selects the key of h again, in the set of the moment: a token
// verified with a key that moved along with jwks_uri stays current.
func (d *discoveredKeys) current(k selectedKey, checked *atomic.Uint64, h *jws.Header) bool {
	r := d.cur.Load()
	return r != nil && r.current(k, checked, h)
}

func (d *discoveredKeys) stale(k selectedKey) bool {
	r := d.cur.Load()
	return r != nil && r.stale(k)
}

// close ends the rediscovery, then the refresh of the current set.
func (d *discoveredKeys) close() {
	d.stop()
	<-d.stopped
	if r := d.cur.Load(); r != nil {
		r.close()
	}
}

// openDiscovered discovers the issuer's jwks_uri, fetches its JWK Set, and
// starts re-reading the metadata every refresh interval. ctx bounds the
// first discovery and fetch only. With [WithStartUnavailable], a discovery
// or fetch that fails is retried in the background, with backoff.
func (f fetcher) openDiscovered(ctx context.Context, issuer string) (*discoveredKeys, error) {
	if _, err := metadata.URLs(issuer); err != nil {
		return nil, configError(strings.Replace(err.Error(), "the issuer", "the Issuer of Discovery", 1))
	}
	pending := f.settings.startUnavailable
	var r *remoteKeys
	uri, err := f.discover(ctx, issuer)
	if err != nil {
		err = fmt.Errorf("manager: discovery of Config.Issuer: %w: %w", ErrJWKS, err)
		if !pending || ctx.Err() != nil {
			return nil, err
		}
		f.settings.onError(err)
	} else if r, err = f.open(ctx, uri, "the discovered jwks_uri", pending); err != nil {
		return nil, err
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d := &discoveredKeys{stop: cancel, stopped: make(chan struct{})}
	if r != nil {
		d.cur.Store(r)
	}
	go f.rediscover(life, d, issuer, uri)
	return d, nil
}

// rediscover reads the issuer's metadata every refresh interval until ctx
// ends, and moves d to the JWK Set of a new jwks_uri once that set has
// been fetched and holds a usable key. A failure leaves d as it is, goes
// to [WithJWKSErrorHandler], and is retried with backoff; with no jwks_uri
// yet (uri ""), the first retry comes after the first wait of a backoff.
func (f fetcher) rediscover(ctx context.Context, d *discoveredKeys, issuer, uri string) {
	defer close(d.stopped)
	onError := f.settings.onError
	schedule(ctx, f.settings.refreshInterval, newBackoff(f.settings.refreshInterval), uri != "", func(ctx context.Context) bool {
		next, err := f.discover(ctx, issuer)
		if err != nil {
			if ctx.Err() == nil {
				onError(fmt.Errorf("manager: discovery of Config.Issuer: %w: %w", ErrJWKS, err))
			}
			return false
		}
		if next == uri {
			return true
		}
		r, err := f.open(ctx, next, "the discovered jwks_uri", false)
		if err != nil {
			if ctx.Err() == nil {
				onError(err)
			}
			return false
		}
		if old := d.cur.Swap(r); old != nil {
			old.close()
		}
		uri = next
		return true
	})
}
