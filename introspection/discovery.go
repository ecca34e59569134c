package introspection

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/protojwt/protojwt/internal/metadata"
)

// checkURL refuses a URL that credentials can't be sent to: not absolute,
// with user information, or plain http to a host that is not loopback;
// and an endpoint with a fragment, which RFC 6749 section 3.1 forbids.
func checkURL(what, raw string) error {
	if err := metadata.CheckURL(what, raw); err != nil {
		return configError("%s", err)
	}
	if strings.Contains(raw, "#") {
		return configError("%s has a fragment", what)
	}
	return nil
}

// discover returns the introspection_endpoint of issuer's metadata:
// OpenID Connect Discovery's document, then RFC 8414's.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	if _, err := metadata.URLs(issuer); err != nil {
		return "", configError("Issuer: %s", err)
	}
	doc, err := metadata.Read(ctx, client, issuer, 0)
	if err == nil {
		var endpoint string
		if endpoint, err = doc.URL("introspection_endpoint"); err == nil {
			return endpoint, nil
		}
	}
	return "", fmt.Errorf("introspection: discovery: %w", err)
}
