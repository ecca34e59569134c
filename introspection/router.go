package introspection

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/protojwt/protojwt/manager"
)

// Router verifies JWTs and opaque tokens side by side: a token that is a
// JWT (three segments, the first base64url of a JSON object) goes to the
// JWT Verifier, verified locally with its keys; any other to the opaque
// one, usually an [*Introspector]. A JWT is never introspected, so a
// forged one costs the endpoint nothing.
type Router struct {
	jwt, opaque manager.Verifier
}

var _ manager.Verifier = (*Router)(nil)

// NewRouter returns a Router of jwt (a *[manager.Manager] or
// *[manager.Issuers]) and opaque. Both are required: an error wrapping
// [manager.ErrConfig] otherwise.
func NewRouter(jwt, opaque manager.Verifier) (*Router, error) {
	if jwt == nil || opaque == nil {
		return nil, fmt.Errorf("introspection: NewRouter needs a JWT verifier and an opaque one: %w", manager.ErrConfig)
	}
	return &Router{jwt: jwt, opaque: opaque}, nil
}

// MaxTokenSize returns the larger of the size bounds of the two
// Verifiers, for the adapters to refuse a longer bearer value by its
// length; 0 when either has none (the adapters' own bound applies).
func (r *Router) MaxTokenSize() int {
	a, ok1 := r.jwt.(interface{ MaxTokenSize() int })
	b, ok2 := r.opaque.(interface{ MaxTokenSize() int })
	if !ok1 || !ok2 {
		return 0
	}
	return max(a.MaxTokenSize(), b.MaxTokenSize())
}

// Verify verifies token with the Verifier of its kind.
func (r *Router) Verify(ctx context.Context, token string) (*manager.Token, error) {
	if IsJWT(token) {
		return r.jwt.Verify(ctx, token)
	}
	return r.opaque.Verify(ctx, token)
}

// IsJWT reports whether token has the form of a compact JWS: three
// segments, the first base64url that decodes to text starting with "{",
// a JSON object's start (a JOSE header). It checks the form only, cheaply,
// on every call: the JWT Verifier parses the rest.
func IsJWT(token string) bool {
	header, rest, ok := strings.Cut(token, ".")
	if !ok || len(header) < 4 || strings.Count(rest, ".") != 1 {
		return false
	}
	for i := 0; i < len(header); i++ {
		if !base64URL[header[i]] {
			return false
		}
	}
	// The first 4 characters are the first 3 bytes: "{" may follow JSON
	// whitespace.
	var head [3]byte
	if _, err := base64.RawURLEncoding.Decode(head[:], []byte(header[:4])); err != nil {
		return false
	}
	for _, c := range head {
		switch c {
		case '{':
			return true
		case ' ', '\t', '\r', '\n':
			continue
		}
		return false
	}
	return false
}

// base64URL are the characters of unpadded base64url.
var base64URL = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()
