package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"

	"github.com/protojwt/protojwt/internal/jws"
)

// remoteKeys are the keys of a JWK Set fetched from a URL, kept and
// refreshed by keyfunc and jwkset.
type remoteKeys struct {
	kf     keyfunc.Keyfunc
	fetch  *atomic.Uint64     // the last good fetch of the set (see fetchGeneration)
	algs   []algorithm        // the algorithms Verify accepts
	done   <-chan struct{}    // closed by close: the refresh has ended
	cancel context.CancelFunc // ends the refresh
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
// Keys that may be missing or old are judged here: open is where a source
// would start without keys and fetch in the background with backoff
// rather than fail, and fetchedStorage, which sees every good fetch, where
// its time would be recorded, so that remoteKeys.verificationKey and
// current refuse keys of a fetch too old with a keyError of their own
// sentinel. A fetch is also the one event that can change a remote key:
// fetchedStorage numbers each, and a token kept by the verification cache
// keeps the number its key was checked at, so that a cache hit compares
// two numbers instead of selecting its key in the set again.
type fetcher struct {
	settings jwksSettings
	algs     []algorithm // the algorithms Verify accepts
	events   eventSink
}

// openRemote checks rawURL, then opens its JWK Set as open does.
func (f fetcher) openRemote(ctx context.Context, rawURL string) (*remoteKeys, error) {
	if err := checkJWKSURL(rawURL); err != nil {
		return nil, configError(err.Error())
	}
	return f.open(ctx, rawURL, "JWKSURL")
}

// open fetches the JWK Set at rawURL, which checkJWKSURL
// accepted, for the first time, within ctx, and starts its refresh, which
// ends with the remoteKeys' close. Errors wrap ErrJWKS and name the set
// what.
func (f fetcher) open(ctx context.Context, rawURL, what string) (*remoteKeys, error) {
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
	// What keyfunc.NewDefaultOverrideCtx builds, with a storage of our own
	// that sees each fetch succeed, for WithEvents.
	stop := context.AfterFunc(ctx, cancel)
	fetch := new(atomic.Uint64)
	fetched, err := jwkset.NewStorageFromHTTP(rawURL, jwkset.HTTPClientStorageOptions{
		Client:      fetchClient(s.client, rawURL),
		Ctx:         life,
		HTTPTimeout: s.timeout,
		RefreshErrorHandler: func(_ context.Context, err error) {
			if life.Err() == nil { // not a refresh cut short by Close
				f.events.emit(Event{Kind: EventJWKSFetch, Err: err})
				s.onError(err)
			}
		},
		RefreshInterval: s.refreshInterval,
		Storage:         fetchedStorage{Storage: jwkset.NewMemoryStorage(), events: f.events, fetch: fetch},
	})
	if !stop() {
		cancel()
		return nil, fmt.Errorf("manager: first fetch of %s: %w: %w", what, ErrJWKS, context.Cause(ctx))
	}
	if err != nil {
		cancel()
		f.events.emit(Event{Kind: EventJWKSFetch, Err: err})
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
	r := &remoteKeys{kf: kf, fetch: fetch, algs: f.algs, done: life.Done(), cancel: cancel}
	if !r.hasUsableKey() {
		cancel()
		return nil, fmt.Errorf("manager: the JWK Set of %s has no key usable with %s: %w", what, algorithmList(f.algs), ErrJWKS)
	}
	return r, nil
}

// fetchedStorage keeps the keys of a fetched JWK Set; a fetch that
// succeeded replaces them all, which it reports as an EventJWKSFetch and
// numbers in fetch. Any other change of the keys is numbered too.
type fetchedStorage struct {
	jwkset.Storage
	events eventSink
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
// with ctx, the caller's, as well as within WithJWKSTimeout.
func (r *remoteKeys) verificationKey(ctx context.Context, h *jws.Header, alg algorithm) (selectedKey, error) {
	// The number is read before the key: a change in between makes the key
	// look older than it is, never newer.
	fetch := r.fetch.Load()
	key, err := r.keyOf(r.callContext(ctx), h.Fields, alg)
	return selectedKey{key: key, alg: alg, fetch: fetch}, err
}

// current reports whether k is still the key of h. Only a change of the
// set can make it another, so while the set is the one checked was, it is
// current without being selected again; after a change it is selected
// again, and checked advanced when it is the same key.
func (r *remoteKeys) current(k selectedKey, checked *atomic.Uint64, h *jws.Header) bool {
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

// close ends the background refresh.
func (r *remoteKeys) close() { r.cancel() }

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

// maxJWKSSize bounds the body of a JWK Set response: sets of identity
// providers take a few kilobytes, tens with certificate chains, and a
// larger body is refused as the fetch's failure rather than read.
const maxJWKSSize = 1 << 20

// fetchClient returns a copy of c for fetching the JWK Set at rawURL that
// refuses a response body over maxJWKSSize and a redirect that leaves
// https (or, for an http URL to a loopback host, one that goes to another
// host over http): every hop is checked, then c's own redirect policy
// applies.
func fetchClient(c *http.Client, rawURL string) *http.Client {
	fc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	fc.Transport = limitedTransport{base: base, max: maxJWKSSize}
	u, err := url.Parse(rawURL)
	secure := err == nil && u.Scheme == "https"
	next := c.CheckRedirect
	fc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if secure && req.URL.Scheme != "https" {
			return errors.New("JWK Set redirect leaves https")
		}
		if err := checkJWKSURL(req.URL.String()); err != nil {
			return fmt.Errorf("JWK Set redirect refused: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("JWK Set: stopped after 10 redirects")
		}
		return nil
	}
	return &fc
}

// errJWKSTooLarge refuses a JWK Set response over maxJWKSSize.
var errJWKSTooLarge = fmt.Errorf("JWK Set response is over %d bytes", maxJWKSSize)

// limitedTransport refuses response bodies over max bytes: at once when
// the response says its length, else when reading reaches it.
type limitedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, errJWKSTooLarge
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.max}
	return resp, nil
}

// limitedBody reads at most left bytes, then fails with errJWKSTooLarge
// if there are more.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the bound from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errJWKSTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// checkJWKSURL accepts an absolute https URL without credentials, or http to
// a loopback host: keys fetched in clear over a network could be anyone's.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("JWKSURL is not an absolute http(s) URL")
	}
	if u.User != nil {
		return errors.New("JWKSURL carries credentials: pass them with WithJWKSHTTPClient")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("JWKSURL must use https; http is accepted for loopback hosts only")
	}
	return errors.New("JWKSURL is not an absolute http(s) URL")
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
