package introspection

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/protojwt/protojwt/manager"
)

// Router verifies JWTs and opaque tokens side by side: a token that is a
// JWT (three base64url segments, the first a JSON object) goes to the
// JWT Verifier, verified locally with its keys; any other to the opaque
// one, usually an [*Introspector]. A JWT is never introspected, so a
// forged one costs the endpoint nothing.
type Router struct {
	jwt, opaque manager.Verifier
}

var _ manager.Verifier = (*Router)(nil)

// NewRouter returns a Router of jwt (a *manager.Manager or
// *manager.Issuers) and opaque. Both are required: an error wrapping
// manager.ErrConfig otherwise.
func NewRouter(jwt, opaque manager.Verifier) (*Router, error) {
	if jwt == nil || opaque == nil {
		return nil, fmt.Errorf("introspection: NewRouter needs a JWT verifier and an opaque one: %w", manager.ErrConfig)
	}
	return &Router{jwt: jwt, opaque: opaque}, nil
}

// Verify verifies token with the Verifier of its kind.
func (r *Router) Verify(ctx context.Context, token string) (*manager.Token, error) {
	if IsJWT(token) {
		return r.jwt.Verify(ctx, token)
	}
	return r.opaque.Verify(ctx, token)
}

// maxHeader bounds the JOSE header IsJWT decodes.
const maxHeader = 4 << 10

// IsJWT reports whether token has the form of a compact JWS: three
// base64url segments, the first a JSON object (its header). It checks the
// form only, not the signature.
func IsJWT(token string) bool {
	header, rest, ok := strings.Cut(token, ".")
	if !ok || header == "" || len(header) > maxHeader || strings.Count(rest, ".") != 1 {
		return false
	}
	var buf [maxHeader]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(header))
	if err != nil {
		return false
	}
	h := buf[:n]
	for len(h) > 0 && (h[0] == ' ' || h[0] == '\t' || h[0] == '\r' || h[0] == '\n') {
		h = h[1:]
	}
	return len(h) > 0 && h[0] == '{' && json.Valid(h)
}
