package hostiletest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/manager"
)

const (
	// Subject is the subject of the valid tokens, and the value of the
	// request variable in every request.
	Subject = "alice"
	// Variable is the request variable of Rule: a field of the gRPC
	// request, a path wildcard of the HTTP route.
	Variable = "username"
	// Issuer is the manager's issuer.
	Issuer = "https://hostile.test"
	// KeyID is the kid of the manager's key: the manager selects keys by
	// kid, so a kid it does not know is refused.
	KeyID = "key-1"
	// Leeway is the manager's tolerance of clock skew.
	Leeway = 30 * time.Second
)

// Rule is the rule every case is decided by: the token's sub claim equals
// the request variable Variable. It is the rule of the FieldTop method of
// protojwt's test service.
func Rule() *annotations.Rule {
	return &annotations.Rule{Claims: map[string]*annotations.Match{
		"sub": {Kind: &annotations.Match_Field{Field: Variable}},
	}}
}

// Env is what the cases build their tokens with: a verifying manager and
// the key it trusts, another key that it does not, and a URL that no one
// may fetch.
type Env struct {
	// Manager verifies the tokens: ES256, keys selected by kid (KeyID),
	// Leeway, and a clock stopped at Now.
	Manager *manager.Manager
	// Now is the manager's clock.
	Now time.Time

	tb       testing.TB
	key      *ecdsa.PrivateKey // the manager's key
	attacker *ecdsa.PrivateKey // a key the manager has never seen
	trap     *httptest.Server  // the URL that token headers point to
	hits     atomic.Int64      // requests the trap received
}

// New returns an Env whose trap server stops when tb ends.
func New(tb testing.TB) *Env {
	tb.Helper()
	e := &Env{
		tb:       tb,
		Now:      time.Unix(1_800_000_000, 0).UTC(),
		key:      newKey(tb),
		attacker: newKey(tb),
	}
	now := e.Now
	m, err := manager.New(manager.Config{
		Issuer:     Issuer,
		Algorithm:  "ES256",
		PrivateKey: e.key,
		KeyID:      KeyID,
		Leeway:     Leeway,
	}, manager.WithClock(func() time.Time { return now }))
	if err != nil {
		tb.Fatalf("hostiletest: manager.New: %v", err)
	}
	e.Manager = m
	e.trap = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		e.hits.Add(1)
		http.Error(w, "this URL must never be fetched", http.StatusTeapot)
	}))
	tb.Cleanup(e.trap.Close)
	return e
}

// TrapHits returns the number of requests made to the URL that the jku,
// x5u and kid headers of the cases point to: a verifier that follows token
// headers would make some.
func (e *Env) TrapHits() int64 { return e.hits.Load() }

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("hostiletest: %v", err)
	}
	return k
}

// valid returns a valid auth token of sub issued now by the manager.
func (e *Env) valid(sub string) string {
	tok, err := e.Manager.AuthToken(sub, "read", nil)
	if err != nil {
		e.tb.Fatalf("hostiletest: AuthToken: %v", err)
	}
	return tok.Signed
}

// refresh returns a valid refresh token of sub.
func (e *Env) refresh(sub string) string {
	tok, err := e.Manager.RefreshToken(sub, nil)
	if err != nil {
		e.tb.Fatalf("hostiletest: RefreshToken: %v", err)
	}
	return tok.Signed
}

// claims returns the claims of a valid auth token of Subject, with changes
// applied and the names in remove deleted.
func (e *Env) claims(changes map[string]any, remove ...string) map[string]any {
	now := e.Now.Unix()
	c := map[string]any{
		"iss": Issuer, "sub": Subject, "iat": now, "nbf": now, "exp": now + 3600,
		"jti": "hostile-jti", "type": "auth",
	}
	maps.Copy(c, changes)
	for _, name := range remove {
		delete(c, name)
	}
	return c
}

// header returns the JOSE header of the manager's tokens with changes.
func header(changes map[string]any) map[string]any {
	h := map[string]any{"alg": "ES256", "typ": "JWT", "kid": KeyID}
	maps.Copy(h, changes)
	return h
}

// signed returns the compact JWS of header and payload signed with key
// (ES256 for an ECDSA key, HS256 for bytes). header and payload are raw
// JSON text when they are strings, else encoded as JSON.
func (e *Env) signed(key any, header, payload any) string {
	signingString := e.segment(header) + "." + e.segment(payload)
	method := jwt.SigningMethod(jwt.SigningMethodES256)
	if _, ok := key.([]byte); ok {
		method = jwt.SigningMethodHS256
	}
	sig, err := method.Sign(signingString, key)
	if err != nil {
		e.tb.Fatalf("hostiletest: sign: %v", err)
	}
	return signingString + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// segment encodes v as a base64url segment: a string as the JSON text it
// is, anything else as JSON.
func (e *Env) segment(v any) string {
	b, ok := v.(string)
	if !ok {
		raw, err := json.Marshal(v)
		if err != nil {
			e.tb.Fatalf("hostiletest: %v", err)
		}
		b = string(raw)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(b))
}

// sign signs the claims (or JSON text) payload under header with the
// manager's own key: a token whose only defect is the one a case wants.
func (e *Env) sign(header map[string]any, payload any) string {
	return e.signed(e.key, header, payload)
}

// signAttacker signs with a key the manager does not know.
func (e *Env) signAttacker(header map[string]any, payload any) string {
	return e.signed(e.attacker, header, payload)
}

// attackerJWK is the attacker's public key as a JWK.
func (e *Env) attackerJWK() map[string]any {
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]any{
		"kty": "EC", "crv": "P-256", "kid": KeyID, "use": "sig", "alg": "ES256",
		"x": enc(e.attacker.X.FillBytes(make([]byte, 32))),
		"y": enc(e.attacker.Y.FillBytes(make([]byte, 32))),
	}
}

// attackerCertificate is a self-signed certificate of the attacker's key,
// base64 DER as in an x5c header.
func (e *Env) attackerCertificate() string {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: Issuer},
		NotBefore:    e.Now.Add(-time.Hour),
		NotAfter:     e.Now.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, e.attacker.Public(), e.attacker)
	if err != nil {
		e.tb.Fatalf("hostiletest: certificate: %v", err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// publicKeyPEM is the manager's public key in PEM: what an attacker uses
// as an HMAC secret in an algorithm confusion attack.
func (e *Env) publicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(e.key.Public())
	if err != nil {
		e.tb.Fatalf("hostiletest: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// trapURL returns a URL of the trap server.
func (e *Env) trapURL(path string) string { return e.trap.URL + path }
