// Package metadata reads an issuer's metadata document: OpenID Connect
// Discovery 1.0's {issuer}/.well-known/openid-configuration, then RFC
// 8414's /.well-known/oauth-authorization-server{path}, the first the
// issuer serves. The Manager reads its jwks_uri, the introspector its
// introspection_endpoint and the token exchange client its
// token_endpoint: one reader, so that the three accept and refuse the
// same documents.
//
//	doc, err := metadata.Read(ctx, client, issuer, 10*time.Second)
//	if err != nil {
//		return err
//	}
//	endpoint, err := doc.URL("introspection_endpoint")
package metadata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
)

// MaxSize bounds a metadata document: real ones take a few KiB, and a
// larger body is refused rather than read.
const MaxSize = 256 << 10

// ErrNotServed is a metadata document the issuer does not serve (HTTP
// 404): the next one is tried.
var ErrNotServed = errors.New("not found")

// CheckURL returns nil for a URL that keys may be fetched from and
// credentials sent to: absolute, without user information, and https, or
// http to a loopback host (localhost or a loopback IP address). Its
// errors start with name, the setting or member that holds raw.
func CheckURL(name, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "" || u.Scheme != "https" && u.Scheme != "http":
		return errors.New(name + " is not an absolute http(s) URL")
	case u.User != nil:
		return errors.New(name + " carries credentials: pass them with the HTTP client instead")
	case u.Scheme == "http" && !Loopback(u.Hostname()):
		return errors.New(name + " must use https; http is accepted for loopback hosts only")
	}
	return nil
}

// Loopback reports whether host, a URL's host name without its port, is
// localhost or a loopback IP address.
func Loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// URLs returns the URLs of issuer's metadata documents, in the order
// [Read] tries them: OpenID Connect Discovery appends
// /.well-known/openid-configuration to the issuer (less a trailing slash);
// RFC 8414 inserts /.well-known/oauth-authorization-server between the
// host and the issuer's path. The issuer must pass [CheckURL] and have no
// query or fragment.
func URLs(issuer string) ([]string, error) {
	if err := CheckURL("the issuer", issuer); err != nil {
		return nil, err
	}
	u, _ := url.Parse(issuer)
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, errors.New("the issuer must be a URL without query or fragment")
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	origin := u.Scheme + "://" + u.Host
	return []string{
		origin + path + "/.well-known/openid-configuration",
		origin + "/.well-known/oauth-authorization-server" + path,
	}, nil
}

// Document is a metadata document that [Read] accepted.
type Document struct {
	// Location is the URL the document was read from.
	Location string
	members  map[string]any
}

// URL returns the member name of d, a URL that passes [CheckURL].
func (d Document) URL(name string) (string, error) {
	v, ok := d.members[name]
	s, isString := v.(string)
	switch {
	case !ok || v == nil:
		return "", fmt.Errorf("metadata %s: no %s", d.Location, name)
	case !isString:
		return "", fmt.Errorf("metadata %s: %s is not a string", d.Location, name)
	}
	if err := CheckURL(name, s); err != nil {
		return "", fmt.Errorf("metadata %s: %w", d.Location, err)
	}
	return s, nil
}

// Read reads the metadata of issuer with client: the documents of [URLs]
// in turn while the issuer does not serve them. A document that is served
// but wrong ends the search: its failure is the answer, and the errors of
// every document tried are joined. Each fetch is bounded by timeout, when
// above zero, and its body by [MaxSize].
//
// A document is decoded as a token's claims are (no member twice, no lone
// surrogate, bounded nesting), so that no JSON parser reads another
// issuer, and its "issuer" must equal issuer exactly (OpenID Connect
// Discovery 1.0 section 4.3, RFC 8414 section 3.3): a document served
// elsewhere can't name another issuer's keys or endpoints.
func Read(ctx context.Context, client *http.Client, issuer string, timeout time.Duration) (Document, error) {
	urls, err := URLs(issuer)
	if err != nil {
		return Document{}, err
	}
	var errs []error
	for _, u := range urls {
		doc, err := readOne(ctx, client, u, issuer, timeout)
		if err == nil {
			return doc, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, ErrNotServed) {
			break
		}
	}
	return Document{}, errors.Join(errs...)
}

// readOne fetches and checks the document at location.
func readOne(ctx context.Context, client *http.Client, location, issuer string, timeout time.Duration) (Document, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	fail := func(err error) (Document, error) {
		return Document{}, fmt.Errorf("metadata %s: %w", location, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fail(ErrNotServed)
	case resp.StatusCode != http.StatusOK:
		return fail(fmt.Errorf("status %d", resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return fail(err)
	}
	if len(body) > MaxSize {
		return fail(fmt.Errorf("over %d bytes", MaxSize))
	}
	doc, err := Parse(body, issuer)
	if err != nil {
		return fail(err)
	}
	doc.Location = location
	return doc, nil
}

// Parse decodes body, a metadata document of issuer, as [Read] does: its
// Location is left empty.
func Parse(body []byte, issuer string) (Document, error) {
	var members map[string]any
	if err := jws.DecodeJSONObject(body, &members); err != nil {
		return Document{}, fmt.Errorf("not a JSON object this package reads: %w", err)
	}
	got, ok := members["issuer"].(string)
	switch {
	case !ok:
		return Document{}, errors.New("no issuer string")
	case got != issuer:
		return Document{}, fmt.Errorf("its issuer %q is not the configured issuer %q", shorten(got), issuer)
	}
	return Document{members: members}, nil
}

// maxShown bounds a value read from a document when an error shows it: a
// hostile document can't fill a log line.
const maxShown = 200

// shorten returns s, cut to maxShown bytes with "..." when longer.
func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return strings.ToValidUTF8(s[:maxShown], "") + "..."
}
