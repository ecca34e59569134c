package manager

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"

	"github.com/protojwt/protojwt/internal/jws"
	"github.com/protojwt/protojwt/internal/metadata"
)

// remoteKeys are the keys of a JWK Set fetched from a URL, kept by jwkset
// and keyfunc, fetched again by a refresh loop of their own (schedule).
type remoteKeys struct {
	kf      keyfunc.Keyfunc
	fetch   *atomic.Uint64     // the last good fetch of the set (see fetchGeneration)
	algs    []algorithm        // the algorithms Verify accepts
	fresh   freshness          // whether the keys may verify: fetched, and not too old
	done    <-chan struct{}    // closed by close: the refresh has ended
	cancel  context.CancelFunc // ends the refresh
	stopped chan struct{}      // closed when the refresh loop has returned
}

// closedContext is the context of calls on a closed remoteKeys: already
// done, so that nothing is fetched.
var closedContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// callContext returns the context a call on r reads its keys with: ctx,
// the caller's (none: a background one), until r is closed.
func (r *remoteKeys) callContext(ctx context.Context) context.Context {
	select {
	case <-r.done:
		return closedContext
	default:
	}
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// fetcher opens the remote key sources of a Manager: a JWK Set fetched
// from a URL (remoteKeys) and one found by discovery (discoveredKeys), the
// latter made of the former. It holds what they are opened with
// (jwksSettings, the accepted algorithms, the event sink); each source
// keeps its own state, and Verify and the cache see them only as a
// keySource.
//
// Keys that may be missing or old are judged here. open starts a
// refresh loop (schedule, in freshness.go) that fetches every refresh
// interval and, after a failure, again sooner with backoff; with
// [WithStartUnavailable] a first fetch that fails leaves the source without
// keys for that loop to fill. fetchedStorage, which sees every good fetch,
// records its time in a fetchRecord, so that remoteKeys.verificationKey
// and current refuse keys not fetched yet, or of a fetch older than
// [WithMaxKeyAge], with a keyError whose sentinel is [ErrKeysUnavailable].
// Each good fetch is also the one event that can change a remote key, so a
// count of fetches kept there lets current compare numbers instead of
// reading the set again.
type fetcher struct {
	settings jwksSettings
	algs     []algorithm // the algorithms Verify accepts
	events   eventSink
	now      func() time.Time // the Manager's clock: key ages
}

// openRemote checks rawURL, then opens its JWK Set as open does; with
// [WithStartUnavailable], a first fetch that fails leaves it to the refresh.
func (f fetcher) openRemote(ctx context.Context, rawURL string) (*remoteKeys, error) {
	if err := checkJWKSURL(rawURL); err != nil {
		return nil, configError(err.Error())
	}
	return f.open(ctx, rawURL, "JWKSURL", f.settings.startUnavailable)
}

// open fetches the JWK Set at rawURL, which checkJWKSURL accepted, for the
// first time, within ctx, and starts its refresh, which ends with the
// remoteKeys' close. Errors wrap [ErrJWKS] and name the set what. When
// pending, a first fetch that fails (or brings no usable key) is no error:
// the keys refuse tokens with [ErrKeysUnavailable] until the refresh, which
// retries with backoff, brings usable ones.
func (f fetcher) open(ctx context.Context, rawURL, what string, pending bool) (*remoteKeys, error) {
	if ctx.Err() != nil { // no fetch at all, rather than one cut short
		return nil, fmt.Errorf("manager: first fetch of %s: %w: %w", what, ErrJWKS, context.Cause(ctx))
	}
	s := f.settings
	unknownKID := rate.NewLimiter(0, 0) // a zero burst refuses every wait: no refresh
	if s.unknownKIDEvery > 0 {
		unknownKID = rate.NewLimiter(rate.Every(s.unknownKIDEvery), 1)
	}
	// The refresh outlives ctx; ctx only bounds the first fetch.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	record := &fetchRecord{}
	fetch := new(atomic.Uint64)
	storage := fetchedStorage{Storage: jwkset.NewMemoryStorage(), events: f.events, record: record, now: f.now, fetch: fetch}
	// The storage jwkset's client refreshes for an unknown kid; its first
	// fetch is the one here, and schedule makes the others.
	fetched, err := jwkset.NewStorageFromHTTP(rawURL, jwkset.HTTPClientStorageOptions{
		Client:                    fetchClient(s.client, rawURL),
		Ctx:                       ctx,
		HTTPTimeout:               s.timeout,
		NoErrorReturnFirstHTTPReq: pending,
		RefreshErrorHandler: func(_ context.Context, err error) {
			if life.Err() == nil { // not a refresh cut short by Close
				f.fetchFailed(err, record)
			}
		},
		Storage: storage,
	})
	if err != nil {
		cancel()
		f.events.emit(Event{Kind: EventJWKSFetch, Err: err})
		if ctx.Err() != nil {
			return nil, fmt.Errorf("manager: first fetch of %s: %w: %w", what, ErrJWKS, context.Cause(ctx))
		}
		return nil, fmt.Errorf("manager: first fetch of %s: %w: %v", what, ErrJWKS, err)
	}
	client, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{rawURL: fetched},
		// Refreshes for an unknown kid wait for the rate limiter, then fetch,
		// within this bound: a Verify call never waits longer.
		RateLimitWaitMax:  s.timeout,
		RefreshUnknownKID: unknownKID,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("manager: %s: %w: %v", what, ErrJWKS, err)
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: life, Storage: client})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("manager: %s: %w: %v", what, ErrJWKS, err)
	}
	r := &remoteKeys{
		kf: kf, fetch: fetch, algs: f.algs, fresh: freshness{record: record, maxAge: s.maxKeyAge, now: f.now},
		done: life.Done(), cancel: cancel, stopped: make(chan struct{}),
	}
	ready := record.last.Load() != 0 && r.hasUsableKey()
	if !ready && !pending {
		cancel()
		return nil, fmt.Errorf("manager: the JWK Set of %s has no key usable with %s: %w", what, algorithmList(f.algs), ErrJWKS)
	}
	record.ready.Store(ready)
	go func() {
		defer close(r.stopped)
		schedule(life, s.refreshInterval, newBackoff(s.refreshInterval), ready, func(ctx context.Context) bool {
			return f.refetch(ctx, rawURL, storage, r)
		})
	}()
	return r, nil
}

// fetchedStorage keeps the keys of a fetched JWK Set; a fetch that
// succeeded replaces them all, which it records, reports as an
// [EventJWKSFetch] and numbers in fetch. Any other change of the keys is
// numbered too.
type fetchedStorage struct {
	jwkset.Storage
	events eventSink
	record *fetchRecord
	now    func() time.Time
	fetch  *atomic.Uint64 // the number of the last change, from fetchGeneration
}

// fetchGeneration numbers the changes of every fetched JWK Set of the
// process, from 1: a number names one state of one set, so that a key
// selected from one set is never taken for current in another (discovery
// replaces a set with a new one).
var fetchGeneration atomic.Uint64

func (s fetchedStorage) KeyReplaceAll(ctx context.Context, keys []jwkset.JWK) error {
	err := s.Storage.KeyReplaceAll(ctx, keys)
	// Numbered after the change, even a failed one: a reader that sees the
	// new number reads the new keys.
	s.fetch.Store(fetchGeneration.Add(1))
	if err == nil {
		s.record.fetched(s.now())
		s.events.emit(Event{Kind: EventJWKSFetch, Keys: len(keys)})
	}
	return err
}

func (s fetchedStorage) KeyWrite(ctx context.Context, jwk jwkset.JWK) error {
	defer s.fetch.Store(fetchGeneration.Add(1))
	return s.Storage.KeyWrite(ctx, jwk)
}

func (s fetchedStorage) KeyDelete(ctx context.Context, keyID string) (bool, error) {
	defer s.fetch.Store(fetchGeneration.Add(1))
	return s.Storage.KeyDelete(ctx, keyID)
}

// verificationKey selects the key of h; a fetch for an unknown kid ends
// with ctx, the caller's, as well as within [WithJWKSTimeout].
func (r *remoteKeys) verificationKey(ctx context.Context, h *jws.Header, alg algorithm) (selectedKey, error) {
	if err := r.fresh.check(); err != nil {
		return selectedKey{alg: alg}, err
	}
	// The number is read before the key: a change in between makes the key
	// look older than it is, never newer.
	fetch := r.fetch.Load()
	key, err := r.keyOf(r.callContext(ctx), h.Fields, alg)
	return selectedKey{key: key, alg: alg, fetch: fetch}, err
}

// current reports whether k is still the key of h, and may still verify.
// Keys too old serve no token they verified. Only a change of the set can
// make k another, so while the set is the one checked was, it is current
// without being selected again; after a change it is selected again, and
// checked advanced when it is the same key.
func (r *remoteKeys) current(k selectedKey, checked *atomic.Uint64, h *jws.Header) bool {
	if r.fresh.check() != nil {
		return false
	}
	fetch := r.fetch.Load()
	if checked.Load() == fetch {
		return true
	}
	key, err := r.keyOf(r.callContext(context.Background()), h.Fields, k.alg)
	if err != nil || !sameKey(k.key, key) {
		return false
	}
	checked.Store(fetch)
	return true
}

// stale is false: a key that left the set may come back in the next fetch.
func (r *remoteKeys) stale(selectedKey) bool { return false }

// close ends the background refresh, and waits for its loop to return.
func (r *remoteKeys) close() {
	r.cancel()
	<-r.stopped
}

// keyOf selects the key of a token by its kid header in the fetched set,
// refreshing it for an unknown kid as the rate limit allows.
func (r *remoteKeys) keyOf(ctx context.Context, header map[string]any, alg algorithm) (any, error) {
	id, err := headerKID(header)
	if err != nil {
		return nil, err
	}
	jwk, err := r.kf.Storage().KeyRead(ctx, id)
	if err != nil {
		// jwkset's error quotes the kid, text of the token: drop it.
		return nil, errUnknownKey
	}
	return usableKey(jwk, alg)
}

// hasUsableKey reports whether the set holds a key that verifies one of
// the accepted algorithms.
func (r *remoteKeys) hasUsableKey() bool {
	jwks, err := r.kf.Storage().KeyReadAll(r.callContext(context.Background()))
	if err != nil {
		return false
	}
	for _, jwk := range jwks {
		if _, err := usableKeyOfAny(jwk, r.algs); err == nil {
			return true
		}
	}
	return false
}

// checkJWKSURL accepts an absolute https URL without credentials, or http to
// a loopback host: keys fetched in clear over a network could be anyone's.
func checkJWKSURL(raw string) error {
	return metadata.CheckURL("JWKSURL", raw)
}

// Defaults of the JWK Set options.
const (
	defaultJWKSMaxAge          = 5 * time.Minute
	defaultJWKSRefreshInterval = 5 * time.Minute
	defaultJWKSUnknownKIDEvery = 30 * time.Second
	defaultJWKSTimeout         = 10 * time.Second
)

// jwksSettings are the options of publishing and fetching JWK Sets.
type jwksSettings struct {
	maxAge          time.Duration
	refreshInterval time.Duration
	unknownKIDEvery time.Duration
	timeout         time.Duration
	client          *http.Client
	onError         func(error)
	// startUnavailable: a first fetch that fails leaves the keys to the
	// refresh ([WithStartUnavailable]).
	startUnavailable bool
	// maxKeyAge: keys whose last good fetch is older stop verifying
	// ([WithMaxKeyAge]); 0 for no limit.
	maxKeyAge time.Duration
}

func defaultJWKSSettings() jwksSettings {
	return jwksSettings{
		maxAge:          defaultJWKSMaxAge,
		refreshInterval: defaultJWKSRefreshInterval,
		unknownKIDEvery: defaultJWKSUnknownKIDEvery,
		timeout:         defaultJWKSTimeout,
		client:          http.DefaultClient,
		onError: func(err error) {
			slog.Default().Warn("protojwt: refreshing the JWK Set failed; verifying with the keys of the last good fetch", "error", err)
		},
	}
}
