package introspection

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// assertionType is the client_assertion_type of private_key_jwt.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: one request.
const assertionLifetime = time.Minute

// clientAuth authenticates a request to the endpoint.
type clientAuth struct {
	id       string
	secret   string // client_secret_basic
	method   jwt.SigningMethod
	key      any // private_key_jwt
	keyID    string
	audience string
}

// newClientAuth checks cfg's credentials.
func newClientAuth(cfg Config, audience string) (clientAuth, error) {
	a := clientAuth{id: cfg.ClientID, secret: cfg.ClientSecret, keyID: cfg.KeyID, audience: audience}
	switch {
	case cfg.ClientID == "":
		return a, configError("ClientID is required")
	case cfg.ClientSecret != "" && cfg.PrivateKey != nil:
		return a, configError("set ClientSecret (client_secret_basic) or PrivateKey (private_key_jwt), not both")
	case cfg.ClientSecret == "" && cfg.PrivateKey == nil:
		return a, configError("ClientSecret (client_secret_basic) or PrivateKey (private_key_jwt) is required")
	case cfg.PrivateKey == nil:
		if cfg.Algorithm != "" || cfg.KeyID != "" {
			return a, configError("Algorithm and KeyID are for PrivateKey")
		}
		return a, nil
	}
	alg := cfg.Algorithm
	if alg == "" {
		alg = defaultAlgorithm(cfg.PrivateKey)
	}
	m := jwt.GetSigningMethod(alg)
	if m == nil || !fits(m, cfg.PrivateKey) {
		return a, configError("Algorithm %q does not sign with a key of type %T", alg, cfg.PrivateKey)
	}
	a.method, a.key = m, cfg.PrivateKey
	return a, nil
}

// defaultAlgorithm is the usual algorithm of a key's kind.
func defaultAlgorithm(k any) string {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return "RS256"
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P384():
			return "ES384"
		case elliptic.P521():
			return "ES512"
		}
		return "ES256"
	case ed25519.PrivateKey:
		return "EdDSA"
	}
	return ""
}

// fits reports whether m signs with k.
func fits(m jwt.SigningMethod, k any) bool {
	switch m.(type) {
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		_, ok := k.(*rsa.PrivateKey)
		return ok
	case *jwt.SigningMethodECDSA:
		ek, ok := k.(*ecdsa.PrivateKey)
		return ok && defaultAlgorithm(ek) == m.Alg()
	case *jwt.SigningMethodEd25519:
		_, ok := k.(ed25519.PrivateKey)
		return ok
	}
	return false
}

// authenticate adds the client's credentials to a request whose form is
// form: an Authorization header (client_secret_basic) or a signed
// assertion in the form (private_key_jwt).
func (a clientAuth) authenticate(req *http.Request, form url.Values, now time.Time) error {
	if a.key == nil {
		// RFC 6749 section 2.3.1: both form-encoded before Basic.
		cred := url.QueryEscape(a.id) + ":" + url.QueryEscape(a.secret)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
		return nil
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return fmt.Errorf("introspection: client assertion: %w", err)
	}
	t := jwt.NewWithClaims(a.method, jwt.MapClaims{
		"iss": a.id,
		"sub": a.id,
		"aud": a.audience,
		"jti": hex.EncodeToString(jti[:]),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	})
	if a.keyID != "" {
		t.Header["kid"] = a.keyID
	}
	signed, err := t.SignedString(a.key)
	if err != nil {
		return fmt.Errorf("introspection: sign the client assertion: %w", err)
	}
	form.Set("client_id", a.id)
	form.Set("client_assertion_type", assertionType)
	form.Set("client_assertion", signed)
	return nil
}
