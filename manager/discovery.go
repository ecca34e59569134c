package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
)

// maxMetadataSize bounds an issuer's metadata document: real ones take a
// few KiB, and a larger body is refused rather than read.
const maxMetadataSize = 256 << 10

// metadataURLs returns the URLs of issuer's metadata documents, in the
// order they are tried: OpenID Connect Discovery appends
// /.well-known/openid-configuration to the issuer (less a trailing slash);
// RFC 8414 inserts /.well-known/oauth-authorization-server between the
// host and the issuer's path.
func metadataURLs(issuer string) ([]string, error) {
	if err := checkFetchURL("Issuer", issuer); err != nil {
		return nil, err
	}
	u, err := url.Parse(issuer)
	if err != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, errors.New("the Issuer of Discovery must be a URL without query or fragment")
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	origin := u.Scheme + "://" + u.Host
	return []string{
		origin + path + "/.well-known/openid-configuration",
		origin + "/.well-known/oauth-authorization-server" + path,
	}, nil
}

// errMetadataMissing is a metadata URL the issuer does not serve (404).
var errMetadataMissing = errors.New("not found")

// discover reads issuer's metadata, trying each document in turn while
// the issuer does not serve it, and returns its jwks_uri. A document that
// is served but wrong ends the search: its failure is the answer.
// Each call is reported as an [EventDiscoveryRead].
func (f fetcher) discover(ctx context.Context, issuer string) (string, error) {
	urls, err := metadataURLs(issuer)
	if err != nil {
		return "", err
	}
	start := time.Now()
	jwksURI, err := f.readFirstMetadata(ctx, urls, issuer)
	f.events.emit(Event{Kind: EventDiscoveryRead, Err: err, Duration: time.Since(start)})
	return jwksURI, err
}

// readFirstMetadata reads the documents of urls in turn while the issuer
// does not serve them.
func (f fetcher) readFirstMetadata(ctx context.Context, urls []string, issuer string) (string, error) {
	var errs []error
	for _, u := range urls {
		jwksURI, err := f.readMetadata(ctx, u, issuer)
		if err == nil {
			return jwksURI, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errMetadataMissing) {
			break
		}
	}
	return "", errors.Join(errs...)
}

// readMetadata fetches one metadata document and returns its jwks_uri.
// The fetch is the JWK Set's: within [WithJWKSTimeout], with the client of
// [WithJWKSHTTPClient] under fetchClient's rules (no redirect that leaves
// https, a bounded body). The document's issuer must equal issuer exactly
// (OpenID Connect Discovery 1.0 section 4.3, RFC 8414 section 3.3), so
// that a document served elsewhere can't name another issuer's keys, and
// its jwks_uri obeys JWKSURL's rules.
func (f fetcher) readMetadata(ctx context.Context, metadataURL, issuer string) (string, error) {
	s := f.settings
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metadataURL, nil)
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", metadataURL, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := fetchClient(s.client, metadataURL).Do(req)
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", metadataURL, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("metadata %s: %w", metadataURL, errMetadataMissing)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("metadata %s: status %d", metadataURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize+1))
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", metadataURL, err)
	}
	if len(body) > maxMetadataSize {
		return "", fmt.Errorf("metadata %s: over %d bytes", metadataURL, maxMetadataSize)
	}
	jwksURI, err := parseMetadata(body, issuer)
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", metadataURL, err)
	}
	return jwksURI, nil
}

// parseMetadata returns the jwks_uri of the metadata document body of
// issuer. It is decoded as a token's claims are (no member twice, no lone
// surrogate, bounded nesting), so that no JSON parser reads another
// issuer; its issuer must equal issuer exactly, and its jwks_uri obey
// JWKSURL's rules.
func parseMetadata(body []byte, issuer string) (string, error) {
	var members map[string]any
	if err := jws.DecodeJSONObject(body, &members); err != nil {
		return "", fmt.Errorf("not a JSON object this package reads: %w", err)
	}
	got, ok := members["issuer"].(string)
	jwksURI, isString := members["jwks_uri"].(string)
	switch {
	case !ok:
		return "", errors.New("no issuer string")
	case got != issuer:
		return "", fmt.Errorf("its issuer %q is not Config.Issuer %q", shorten(got), issuer)
	case members["jwks_uri"] == nil:
		return "", errors.New("no jwks_uri")
	case !isString:
		return "", errors.New("jwks_uri is not a string")
	}
	if err := checkFetchURL("jwks_uri", jwksURI); err != nil {
		return "", err
	}
	return jwksURI, nil
}

// checkFetchURL is checkJWKSURL naming what in its errors.
func checkFetchURL(what, raw string) error {
	if err := checkJWKSURL(raw); err != nil {
		return errors.New(what + strings.TrimPrefix(err.Error(), "JWKSURL"))
	}
	return nil
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
	if _, err := metadataURLs(issuer); err != nil {
		return nil, configError(err.Error())
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

// maxShownIssuer bounds an issuer read from a metadata document when an
// error shows it: a hostile document can't fill a log line.
const maxShownIssuer = 200

// shorten returns s, cut to maxShownIssuer bytes with "..." when longer.
func shorten(s string) string {
	if len(s) <= maxShownIssuer {
		return s
	}
	return strings.ToValidUTF8(s[:maxShownIssuer], "") + "..."
}
