package introspection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxMetadataSize bounds an issuer's metadata document.
const maxMetadataSize = 256 << 10

// checkURL refuses a URL that credentials can't be sent to: not absolute,
// or plain http to a host that is not loopback.
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" {
		return configError("%s must be an absolute URL", what)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return configError("%s must be https (http only on loopback)", what)
}

// metadataURLs are the documents that may name the endpoint, in the order
// they are tried: OpenID Connect Discovery's, then RFC 8414's.
func metadataURLs(issuer string) ([]string, error) {
	if err := checkURL("Issuer", issuer); err != nil {
		return nil, err
	}
	u, _ := url.Parse(issuer)
	if u.RawQuery != "" || u.ForceQuery {
		return nil, configError("Issuer must be a URL without query")
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	origin := u.Scheme + "://" + u.Host
	return []string{
		origin + path + "/.well-known/openid-configuration",
		origin + "/.well-known/oauth-authorization-server" + path,
	}, nil
}

// errNotServed is a metadata document the issuer does not serve.
var errNotServed = errors.New("not found")

// discover returns the introspection_endpoint of issuer's metadata.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	urls, err := metadataURLs(issuer)
	if err != nil {
		return "", err
	}
	var errs []error
	for _, u := range urls {
		endpoint, err := readMetadata(ctx, client, u, issuer)
		if err == nil {
			return endpoint, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errNotServed) {
			break
		}
	}
	return "", fmt.Errorf("introspection: discovery: %w", errors.Join(errs...))
}

// readMetadata reads one metadata document: its issuer must be issuer, and
// it must name an introspection endpoint.
func readMetadata(ctx context.Context, client *http.Client, u, issuer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("%s: %w", u, errNotServed)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("%s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", u, err)
	}
	if len(body) > maxMetadataSize {
		return "", fmt.Errorf("%s: larger than %d bytes", u, maxMetadataSize)
	}
	var md struct {
		Issuer   string `json:"issuer"`
		Endpoint string `json:"introspection_endpoint"`
	}
	if err := json.Unmarshal(body, &md); err != nil {
		return "", fmt.Errorf("%s: not a JSON object", u)
	}
	switch {
	case md.Issuer != issuer:
		return "", fmt.Errorf("%s: its issuer is not the configured Issuer", u)
	case md.Endpoint == "":
		return "", fmt.Errorf("%s: no introspection_endpoint", u)
	}
	if err := checkURL("introspection_endpoint", md.Endpoint); err != nil {
		return "", err
	}
	return md.Endpoint, nil
}
