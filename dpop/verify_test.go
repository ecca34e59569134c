package dpop

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

const (
	testURL   = "https://api.example.com/orders.v1.OrderService/GetOrder"
	testToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
)

var testNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func athOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64.EncodeToString(sum[:])
}

// proofParts are the header and claims of a proof a case changes before
// it is signed.
type proofParts struct {
	key    crypto.Signer
	alg    string
	header map[string]any
	claims map[string]any
}

func defaultParts(t testing.TB) *proofParts {
	testKeys(t)
	return &proofParts{
		key: ecKey,
		alg: "ES256",
		header: map[string]any{
			"typ": "dpop+jwt", "alg": "ES256", "jwk": jwkOf(t, &ecKey.PublicKey),
		},
		claims: map[string]any{
			"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": testURL,
			"iat": testNow.Unix(), "ath": athOf(testToken),
		},
	}
}

// withKey makes a proof by another key and algorithm, header and all.
func (p *proofParts) withKey(t testing.TB, key crypto.Signer, alg string) *proofParts {
	p.key, p.alg = key, alg
	p.header["alg"] = alg
	p.header["jwk"] = jwkOf(t, key.Public())
	return p
}

func (p *proofParts) sign(t testing.TB) string {
	return signJWS(t, p.key, p.alg, p.header, p.claims)
}

func newTestVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(append([]Option{WithClock(func() time.Time { return testNow })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var testCall = Call{Method: "POST", URL: testURL, AccessToken: testToken}

// TestVerifyRefuses is the attack table: every check, refused with its own
// error, which wraps ErrProofInvalid and holds neither the proof, the token
// nor the key.
func TestVerifyRefuses(t *testing.T) {
	testKeys(t)
	ecJKT, _ := Thumbprint(&ecKey.PublicKey)
	otherJKT, _ := Thumbprint(&ecKey2.PublicKey)
	tests := []struct {
		name  string
		edit  func(t testing.TB, p *proofParts)
		raw   func(t testing.TB, p *proofParts) string // the proof itself, when not signed from p
		call  *Call
		jkt   string
		check error
	}{
		{name: "oversized proof", raw: func(t testing.TB, p *proofParts) string {
			p.claims["pad"] = strings.Repeat("x", 9<<10)
			return p.sign(t)
		}, check: errSize},
		{name: "two segments", raw: func(t testing.TB, p *proofParts) string {
			s := p.sign(t)
			return s[:strings.LastIndexByte(s, '.')]
		}, check: errSyntax},
		{name: "four segments", raw: func(t testing.TB, p *proofParts) string { return p.sign(t) + ".x" }, check: errSyntax},
		{name: "empty signature", raw: func(t testing.TB, p *proofParts) string {
			s := p.sign(t)
			return s[:strings.LastIndexByte(s, '.')+1]
		}, check: errSyntax},
		{name: "header not base64url", raw: func(t testing.TB, p *proofParts) string {
			s := p.sign(t)
			return "!!" + s[2:]
		}, check: errEncoding},
		{name: "header padded base64", raw: func(t testing.TB, p *proofParts) string {
			s := p.sign(t)
			return s[:strings.IndexByte(s, '.')] + "=" + s[strings.IndexByte(s, '.'):]
		}, check: errEncoding},
		{name: "header not JSON", raw: func(t testing.TB, p *proofParts) string {
			s := p.sign(t)
			return b64.EncodeToString([]byte(`{"typ":"dpop+jwt",`)) + s[strings.IndexByte(s, '.'):]
		}, check: errJSON},
		{name: "header a JSON array", raw: func(t testing.TB, p *proofParts) string {
			s := p.sign(t)
			return b64.EncodeToString([]byte(`["dpop+jwt"]`)) + s[strings.IndexByte(s, '.'):]
		}, check: errJSON},
		{name: "claims not JSON", raw: func(t testing.TB, p *proofParts) string {
			signed := encodeSegment(t, p.header) + "." + b64.EncodeToString([]byte(`{"jti":`))
			sig, _ := (&Signer{key: p.key, alg: algorithms[p.alg]}).sign(signed)
			return signed + "." + b64.EncodeToString(sig)
		}, check: errJSON},
		{name: "claims not base64url", raw: func(t testing.TB, p *proofParts) string {
			signed := encodeSegment(t, p.header) + ".e30*"
			sig, _ := (&Signer{key: p.key, alg: algorithms[p.alg]}).sign(signed)
			return signed + "." + b64.EncodeToString(sig)
		}, check: errEncoding},
		{name: "signature not base64url", raw: func(t testing.TB, p *proofParts) string {
			return p.sign(t) + "*"
		}, check: errEncoding},
		{name: "typ JWT", edit: func(t testing.TB, p *proofParts) { p.header["typ"] = "JWT" }, check: errTyp},
		{name: "typ missing", edit: func(t testing.TB, p *proofParts) { delete(p.header, "typ") }, check: errTyp},
		{name: "typ at+jwt", edit: func(t testing.TB, p *proofParts) { p.header["typ"] = "at+jwt" }, check: errTyp},
		{name: "alg none with a signature", edit: func(t testing.TB, p *proofParts) { p.header["alg"] = "none" }, check: errAlg},
		{name: "alg missing", edit: func(t testing.TB, p *proofParts) { delete(p.header, "alg") }, check: errAlg},
		{name: "alg HS256 with the jwk as secret", raw: func(t testing.TB, p *proofParts) string {
			p.header["alg"] = "HS256"
			signed := encodeSegment(t, p.header) + "." + encodeSegment(t, p.claims)
			secret := []byte(encodeSegment(t, p.header["jwk"]))
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(signed))
			return signed + "." + b64.EncodeToString(m.Sum(nil))
		}, check: errAlg},
		{name: "alg ES256 for an RSA jwk", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, rsaKey, "RS256")
			p.header["alg"] = "ES256"
		}, check: errAlg},
		{name: "alg ES384 for a P-256 jwk", edit: func(t testing.TB, p *proofParts) { p.header["alg"] = "ES384" }, check: errAlg},
		{name: "alg EdDSA for an EC jwk", edit: func(t testing.TB, p *proofParts) { p.header["alg"] = "EdDSA" }, check: errAlg},
		{name: "alg RS256 for an Ed25519 jwk", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, edKey, "EdDSA")
			p.header["alg"] = "RS256"
		}, check: errAlg},
		{name: "crit header", edit: func(t testing.TB, p *proofParts) { p.header["crit"] = []string{"exp"} }, check: errCrit},
		{name: "jwk missing", edit: func(t testing.TB, p *proofParts) { delete(p.header, "jwk") }, check: errJWK},
		{name: "jwk a string", edit: func(t testing.TB, p *proofParts) { p.header["jwk"] = "key" }, check: errJSON},
		{name: "private EC jwk (d)", edit: func(t testing.TB, p *proofParts) {
			d, err := ecKey.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			p.header["jwk"].(map[string]any)["d"] = b64.EncodeToString(d)
		}, check: errPrivate},
		{name: "private RSA jwk (p, q, dp, dq, qi)", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, rsaKey, "RS256")
			j := p.header["jwk"].(map[string]any)
			j["p"], j["q"] = b64.EncodeToString(rsaKey.Primes[0].Bytes()), b64.EncodeToString(rsaKey.Primes[1].Bytes())
			j["dp"], j["dq"], j["qi"] = "AQ", "AQ", "AQ"
		}, check: errPrivate},
		{name: "RSA jwk with dq alone", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, rsaKey, "RS256")
			p.header["jwk"].(map[string]any)["dq"] = "AQ"
		}, check: errPrivate},
		{name: "symmetric jwk (k)", edit: func(t testing.TB, p *proofParts) {
			p.header["jwk"] = map[string]any{"kty": "oct", "k": "c2VjcmV0"}
		}, check: errPrivate},
		{name: "jwk kty oct without k", edit: func(t testing.TB, p *proofParts) {
			p.header["jwk"] = map[string]any{"kty": "oct"}
		}, check: errJWK},
		{name: "jwk crv secp256k1", edit: func(t testing.TB, p *proofParts) {
			p.header["jwk"].(map[string]any)["crv"] = "secp256k1"
		}, check: errJWK},
		{name: "jwk OKP X25519", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, edKey, "EdDSA")
			p.header["jwk"].(map[string]any)["crv"] = "X25519"
		}, check: errJWK},
		{name: "jwk point not on the curve", edit: func(t testing.TB, p *proofParts) {
			y := new(big.Int).Add(ecKey.Y, big.NewInt(1))
			p.header["jwk"].(map[string]any)["y"] = b64.EncodeToString(y.FillBytes(make([]byte, 32)))
		}, check: errJWK},
		{name: "jwk x of 31 bytes", edit: func(t testing.TB, p *proofParts) {
			p.header["jwk"].(map[string]any)["x"] = b64.EncodeToString(make([]byte, 31))
		}, check: errJWK},
		{name: "jwk RSA of 1024 bits", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, rsaKey, "RS256")
			p.header["jwk"] = jwkOfRSA(&rsa1024.PublicKey)
		}, check: errJWK},
		{name: "jwk RSA n with a leading zero", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, rsaKey, "RS256")
			p.header["jwk"].(map[string]any)["n"] = b64.EncodeToString(append([]byte{0}, rsaKey.N.Bytes()...))
		}, check: errJWK},
		{name: "jwk RSA even exponent", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, rsaKey, "RS256")
			p.header["jwk"].(map[string]any)["e"] = "AQAA"
		}, check: errJWK},
		{name: "signed by another key than the jwk", edit: func(t testing.TB, p *proofParts) { p.key = ecKey2 }, check: errSignature},
		{name: "claims changed after signing", raw: func(t testing.TB, p *proofParts) string {
			s := p.sign(t)
			parts := strings.Split(s, ".")
			p.claims["htm"] = "GET"
			parts[1] = encodeSegment(t, p.claims)
			return strings.Join(parts, ".")
		}, check: errSignature},
		{name: "RS256 proof checked as PS256", edit: func(t testing.TB, p *proofParts) {
			p.withKey(t, rsaKey, "RS256")
			p.header["alg"] = "PS256"
		}, check: errSignature},
		{name: "jti missing", edit: func(t testing.TB, p *proofParts) { delete(p.claims, "jti") }, check: errJTI},
		{name: "jti empty", edit: func(t testing.TB, p *proofParts) { p.claims["jti"] = "" }, check: errJTI},
		{name: "jti too long", edit: func(t testing.TB, p *proofParts) { p.claims["jti"] = strings.Repeat("j", 257) }, check: errJTI},
		{name: "jti a number", edit: func(t testing.TB, p *proofParts) { p.claims["jti"] = 7 }, check: errJSON},
		{name: "htm GET for POST", edit: func(t testing.TB, p *proofParts) { p.claims["htm"] = "GET" }, check: errHTM},
		{name: "htm lower case", edit: func(t testing.TB, p *proofParts) { p.claims["htm"] = "post" }, check: errHTM},
		{name: "htm missing", edit: func(t testing.TB, p *proofParts) { delete(p.claims, "htm") }, check: errHTM},
		{name: "htu of another method", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com/orders.v1.OrderService/DeleteOrder"
		}, check: errHTU},
		{name: "htu of another host", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://evil.example.com/orders.v1.OrderService/GetOrder"
		}, check: errHTU},
		{name: "htu over http", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "http://api.example.com/orders.v1.OrderService/GetOrder"
		}, check: errHTU},
		{name: "htu of another port", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com:8443/orders.v1.OrderService/GetOrder"
		}, check: errHTU},
		{name: "htu relative", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "/orders.v1.OrderService/GetOrder"
		}, check: errHTU},
		{name: "htu with user info", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://user@api.example.com/orders.v1.OrderService/GetOrder"
		}, check: errHTU},
		{name: "htu path case", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com/orders.v1.orderservice/getorder"
		}, check: errHTU},
		{name: "htu encoded slash", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com/orders.v1.OrderService%2FGetOrder"
		}, check: errHTU},
		{name: "htu missing", edit: func(t testing.TB, p *proofParts) { delete(p.claims, "htu") }, check: errHTU},
		{name: "iat six minutes old", edit: func(t testing.TB, p *proofParts) {
			p.claims["iat"] = testNow.Add(-6 * time.Minute).Unix()
		}, check: errIAT},
		{name: "iat ten minutes old", edit: func(t testing.TB, p *proofParts) {
			p.claims["iat"] = testNow.Add(-10 * time.Minute).Unix()
		}, check: errIAT},
		{name: "iat ten minutes ahead", edit: func(t testing.TB, p *proofParts) {
			p.claims["iat"] = testNow.Add(10 * time.Minute).Unix()
		}, check: errIAT},
		{name: "iat two minutes ahead", edit: func(t testing.TB, p *proofParts) {
			p.claims["iat"] = testNow.Add(2 * time.Minute).Unix()
		}, check: errIAT},
		{name: "iat missing", edit: func(t testing.TB, p *proofParts) { delete(p.claims, "iat") }, check: errIAT},
		{name: "iat a string", edit: func(t testing.TB, p *proofParts) { p.claims["iat"] = "1700000000" }, check: errIAT},
		{name: "iat negative", edit: func(t testing.TB, p *proofParts) { p.claims["iat"] = -1 }, check: errIAT},
		{name: "ath of another token", edit: func(t testing.TB, p *proofParts) { p.claims["ath"] = athOf(testToken + "x") }, check: errATH},
		{name: "ath missing", edit: func(t testing.TB, p *proofParts) { delete(p.claims, "ath") }, check: errATH},
		{name: "ath of the token, not base64url", edit: func(t testing.TB, p *proofParts) {
			sum := sha256.Sum256([]byte(testToken))
			p.claims["ath"] = strings.ToUpper(b64.EncodeToString(sum[:]))
		}, check: errATH},
		{name: "thumbprint of another key", jkt: otherJKT, check: errJKT},
		{name: "thumbprint in another case", jkt: strings.ToUpper(ecJKT), check: errJKT},
		{name: "proof for a GET call", call: &Call{Method: "GET", URL: testURL, AccessToken: testToken}, check: errHTM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts(t)
			var proof string
			if tt.raw != nil {
				proof = tt.raw(t, p)
			} else {
				if tt.edit != nil {
					tt.edit(t, p)
				}
				proof = p.sign(t)
			}
			call := testCall
			if tt.call != nil {
				call = *tt.call
			}
			jkt := tt.jkt
			if jkt == "" {
				jkt, _ = Thumbprint(p.key.Public())
			}
			got, err := newTestVerifier(t).Verify(context.Background(), proof, call, jkt)
			if !errors.Is(err, ErrProofInvalid) || !errors.Is(err, tt.check) {
				t.Fatalf("Verify = %v, %v; want ErrProofInvalid and %q", got, err, tt.check)
			}
			if got != nil {
				t.Fatalf("Verify returned a proof with error %v", err)
			}
			assertNoSecrets(t, err, proof, p)
		})
	}
}

// assertNoSecrets fails when an error's text holds the proof or a part
// of it, the access token or the proof's key.
func assertNoSecrets(t *testing.T, err error, proof string, p *proofParts) {
	t.Helper()
	msg := err.Error()
	secrets := append(strings.Split(proof, "."), testToken)
	if j, ok := p.header["jwk"].(map[string]any); ok {
		for _, v := range j {
			if s, ok := v.(string); ok && len(s) > 8 {
				secrets = append(secrets, s)
			}
		}
	}
	for _, s := range secrets {
		if len(s) > 8 && strings.Contains(msg, s) {
			t.Fatalf("error %q holds secret material", msg)
		}
	}
}

// jwkOfRSA builds an RSA public JWK by hand, for keys publicJWK refuses.
func jwkOfRSA(k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "n": b64.EncodeToString(k.N.Bytes()), "e": "AQAB"}
}
