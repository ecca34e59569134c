package manager

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
)

// signer issues the tokens of a Manager with its own keys, and changes
// those keys (RotateKey, AddKey, RemoveKey) and publishes them (JWKS).
type signer struct {
	issuer        string
	audience      []string
	authMaxAge    time.Duration
	refreshMaxAge time.Duration
	alg           algorithm   // Config.Algorithm; zero when a JWK Set Manager leaves it empty
	algs          []algorithm // Config.Algorithms: every key must fit them all
	keys          *localKeys  // signs; verifies unless the keys come from a JWK Set URL
	maxTokenSize  int         // no token is issued that Verify would refuse
	now           func() time.Time
	describe      describer
	jwksMaxAge    time.Duration // WithJWKSMaxAge: how long JWKSHandler's answer may be cached
}

// reservedClaims are the claims a Manager sets itself; custom claims can't
// replace them.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"type": true, "scope": true, familyClaim: true,
}

// AuthToken issues an auth token for the subject sub. scope becomes the
// "scope" claim, any value that encodes as JSON, left out when nil. claims
// are added to the token; one that the Manager sets itself (iss, sub, aud,
// exp, nbf, iat, jti, type, scope, fam) is refused with [ErrReservedClaim]. The
// token expires after Config.AuthMaxAge.
//
// A "cnf" claim binds the token to a client's key or certificate (see
// DPoPBinding and [CertificateBinding]). One that is not a non-empty object,
// or whose jkt or x5t#S256 is not a SHA-256 digest, is refused with
// [ErrClaim]: no call could use the token. Other confirmation methods of RFC
// 7800 (jwk, kid, jku) are issued as given, for verifiers that check them;
// protojwt's adapters refuse such tokens.
//
// The returned Token holds its claims as Verify would return them, decoded
// from JSON. A verify-only Manager returns an error wrapping [ErrConfig].
func (m *Manager) AuthToken(sub string, scope any, claims map[string]any) (*Token, error) {
	return m.signer.issue(Auth, m.signer.authMaxAge, sub, scope, claims, "")
}

// RefreshToken issues a refresh token for the subject sub, with the extra
// claims as AuthToken does and no scope. The token expires after
// Config.RefreshMaxAge.
func (m *Manager) RefreshToken(sub string, claims map[string]any) (*Token, error) {
	return m.signer.issue(Refresh, m.signer.refreshMaxAge, sub, nil, claims, "")
}

// issue builds, signs and describes one token; a non-empty family becomes
// its "fam" claim.
func (s *signer) issue(typ TokenType, maxAge time.Duration, sub string, scope any, custom map[string]any, family string) (*Token, error) {
	keys := s.keys.set.Load()
	if keys.signKey == nil {
		return nil, fmt.Errorf("manager: no PrivateKey, this Manager only verifies: %w", ErrConfig)
	}
	claims := make(map[string]any, len(custom)+9)
	for name, v := range custom {
		if reservedClaims[name] {
			return nil, fmt.Errorf("manager: claim %q: %w", name, ErrReservedClaim)
		}
		claims[name] = v
	}
	now := s.now()
	claims["iss"] = s.issuer
	claims["sub"] = sub
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(maxAge).Unix()
	claims["jti"] = newTokenID()
	claims["type"] = string(typ)
	if family != "" {
		claims[familyClaim] = family
	}
	switch len(s.audience) {
	case 0:
	case 1:
		claims["aud"] = s.audience[0]
	default:
		claims["aud"] = s.audience
	}
	if !isNil(scope) {
		claims["scope"] = scope
	}

	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("manager: claims are not JSON: %w", err)
	}
	if _, err := jws.CheckJSONText(payload); err != nil {
		return nil, fmt.Errorf("manager: claims Verify would refuse: %w", err) // nested too deep
	}
	decoded, err := jws.DecodeClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("manager: decode own claims: %w", err)
	}
	if cnf, bound := decoded[confirmationClaim]; bound {
		if err := checkConfirmation(cnf); err != nil {
			return nil, fmt.Errorf("manager: claim %q: %w: %w", confirmationClaim, ErrClaim, err)
		}
	}
	signingString := keys.header + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := s.alg.method.Sign(signingString, keys.signKey)
	if err != nil {
		return nil, fmt.Errorf("manager: sign %s token: %w", s.alg.method.Alg(), err)
	}
	signed := signingString + "." + base64.RawURLEncoding.EncodeToString(sig)
	if len(signed) > s.maxTokenSize {
		return nil, fmt.Errorf("manager: token of %d bytes is over the %d bytes Verify accepts", len(signed), s.maxTokenSize)
	}

	return s.describe.tokenOf(decoded, signed), nil
}

// newTokenID returns 128 random bits, base64url encoded: a jti.
func newTokenID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; crashes the program if randomness is unavailable
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// isNil reports whether v is nil or a nil map, slice or pointer, which would
// encode as JSON null.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
