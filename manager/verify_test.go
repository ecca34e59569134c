package manager

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// segment encodes v as a base64url segment: raw bytes as they are, other
// values as JSON.
func segment(tb testing.TB, v any) string {
	tb.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			tb.Fatal(err)
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// craft signs payload (claims or raw bytes) with alg and key under header,
// {"alg": alg, "typ": "JWT"} when nil. It makes tokens whose only defect is
// the one a test wants.
func craft(tb testing.TB, alg string, key any, header map[string]any, payload any) string {
	tb.Helper()
	if header == nil {
		header = map[string]any{"alg": alg, "typ": "JWT"}
	}
	signingString := segment(tb, header) + "." + segment(tb, payload)
	sig, err := jwt.GetSigningMethod(alg).Sign(signingString, key)
	if err != nil {
		tb.Fatalf("sign %s: %v", alg, err)
	}
	return signingString + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// unsigned returns a token with alg "none" and an empty signature.
func unsigned(tb testing.TB, alg string, payload any) string {
	tb.Helper()
	return segment(tb, map[string]any{"alg": alg, "typ": "JWT"}) + "." + segment(tb, payload) + "."
}

// claimsWith returns valid claims of an auth token issued at testNow by
// testIssuer, with changes applied and the names in remove deleted.
func claimsWith(changes map[string]any, remove ...string) map[string]any {
	now := testNow.Unix()
	c := map[string]any{
		"iss": testIssuer, "sub": "alice", "iat": now, "nbf": now, "exp": now + 3600,
		"jti": "jti-1", "type": "auth",
	}
	maps.Copy(c, changes)
	for _, name := range remove {
		delete(c, name)
	}
	return c
}

// replaceSegment returns signed with segment i replaced.
func replaceSegment(signed string, i int, seg string) string {
	parts := strings.Split(signed, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

// flipSignatureBit returns signed with one bit of its signature changed.
func flipSignatureBit(tb testing.TB, signed string) string {
	tb.Helper()
	parts := strings.Split(signed, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		tb.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

// setTrailingBits returns signed with a non-zero unused bit in the last
// base64 character of the signature: the same signature bytes to a lenient
// decoder.
func setTrailingBits(signed string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, signed[len(signed)-1])
	return signed[:len(signed)-1] + string(alphabet[last|1])
}

func TestVerify(t *testing.T) {
	now := testNow.Unix()
	rsaKey := testKey(t, "rsa").(*rsa.PrivateKey)
	rsaPEM := []byte(pkixPEM(t, rsaKey.Public()))
	rsaDER, err := x509.MarshalPKIXPublicKey(rsaKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPKCS1PEM := []byte(pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)))
	p256, ed := testKey(t, "p256"), testKey(t, "ed25519")

	hs := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	hsLeeway := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, Leeway: 30 * time.Second})
	hsLarge := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithMaxTokenSize(64<<10))
	rs := newTestManager(t, Config{Algorithm: "RS256", PrivateKey: rsaKey, Audience: []string{"api", "admin"}})
	es := newTestManager(t, Config{Algorithm: "ES256", PublicKey: p256.Public()})
	eddsa := newTestManager(t, Config{Algorithm: "EdDSA", PublicKey: ed.Public()})

	good := craft(t, "HS256", testSecret, nil, claimsWith(nil))
	rsClaims := claimsWith(map[string]any{"aud": "api"})
	big := craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"pad": strings.Repeat("a", 9000)}))

	tests := []struct {
		name    string
		m       *Manager
		token   string
		wantErr error // nil: the token verifies
	}{
		// Tokens that verify.
		{"valid auth token", hs, good, nil},
		{"valid refresh token", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": "refresh"})), nil},
		{"without optional sub, jti, nbf", hs, craft(t, "HS256", testSecret, nil, claimsWith(nil, "sub", "jti", "nbf")), nil},
		{"large token under a raised bound", hsLarge, big, nil},
		{"RS256 with one audience", rs, craft(t, "RS256", rsaKey, nil, rsClaims), nil},
		{"RS256 with audience array", rs, craft(t, "RS256", rsaKey, nil, claimsWith(map[string]any{"aud": []string{"other", "admin"}})), nil},
		{"expired within leeway", hsLeeway, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": now - 10})), nil},
		{"nbf within leeway", hsLeeway, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"nbf": now + 10})), nil},
		{"iat within leeway", hsLeeway, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iat": now + 10, "nbf": now})), nil},

		// Not a token.
		{"empty", hs, "", ErrNoToken},
		{"oversized", hs, big, ErrMalformed},
		{"one segment", hs, "abc", ErrMalformed},
		{"two segments", hs, "abc.def", ErrMalformed},
		{"four segments", hs, good + ".abc", ErrMalformed},
		{"bearer prefix", hs, "Bearer " + good, ErrMalformed},
		{"bad base64 header", hs, replaceSegment(good, 0, "!!!"), ErrMalformed},
		{"bad base64 payload, bad signature", hs, replaceSegment(good, 1, "e30*"), ErrSignature},
		{"bad base64 payload, signed", hs, signSegments(t, strings.Split(good, ".")[0], "e30*"), ErrMalformed},
		{"duplicate claims, bad signature", hs, replaceSegment(good, 1, segment(t, []byte(`{"sub":"a","sub":"b"}`))), ErrSignature},
		{"payload not JSON, bad signature", hs, replaceSegment(good, 1, segment(t, []byte(`{`))), ErrSignature},
		{"payload not JSON, signed", hs, signSegments(t, strings.Split(good, ".")[0], segment(t, []byte(`{`))), ErrMalformed},
		{"bad base64 signature", hs, replaceSegment(good, 2, "%%%"), ErrMalformed},
		{"padded base64", hs, replaceSegment(good, 2, strings.Split(good, ".")[2]+"="), ErrMalformed},
		{"non-zero trailing bits", hs, setTrailingBits(good), ErrMalformed},
		{"bad JSON header", hs, replaceSegment(good, 0, segment(t, []byte(`{"alg":"HS256"`))), ErrMalformed},
		{"header not an object", hs, replaceSegment(good, 0, segment(t, []string{"HS256"})), ErrMalformed},
		{"bad JSON payload", hs, craft(t, "HS256", testSecret, nil, []byte(`{"iss":`)), ErrMalformed},
		{"payload not an object", hs, craft(t, "HS256", testSecret, nil, []byte(`[1,2]`)), ErrMalformed},
		{"payload null", hs, craft(t, "HS256", testSecret, nil, []byte(`null`)), ErrMalformed},
		{"alg missing", hs, craft(t, "HS256", testSecret, map[string]any{"typ": "JWT"}, claimsWith(nil)), ErrMalformed},
		{"alg a number", hs, craft(t, "HS256", testSecret, map[string]any{"alg": 256}, claimsWith(nil)), ErrMalformed},
		{"crit header", hs, craft(t, "HS256", testSecret, map[string]any{"alg": "HS256", "crit": []string{"exp"}}, claimsWith(nil)), ErrMalformed},

		// Algorithms.
		{"alg none", hs, unsigned(t, "none", claimsWith(nil)), ErrAlgorithm},
		{"alg None", hs, unsigned(t, "None", claimsWith(nil)), ErrAlgorithm},
		{"alg none with a signature", hs, replaceSegment(good, 0, segment(t, map[string]any{"alg": "none"})), ErrAlgorithm},
		{"alg none to RS256", rs, unsigned(t, "none", rsClaims), ErrAlgorithm},
		{"unknown alg", hs, craft(t, "HS256", testSecret, map[string]any{"alg": "HS1024"}, claimsWith(nil)), ErrAlgorithm},
		{"HS384 to HS256", hs, craft(t, "HS384", testSecret, nil, claimsWith(nil)), ErrAlgorithm},
		{"HS256 keyed with RSA public PEM", rs, craft(t, "HS256", rsaPEM, nil, rsClaims), ErrAlgorithm},
		{"HS256 keyed with RSA public DER", rs, craft(t, "HS256", rsaDER, nil, rsClaims), ErrAlgorithm},
		{"HS256 keyed with RSA PKCS1 PEM", rs, craft(t, "HS256", rsaPKCS1PEM, nil, rsClaims), ErrAlgorithm},
		{"RS384 to RS256", rs, craft(t, "RS384", rsaKey, nil, rsClaims), ErrAlgorithm},
		{"PS256 to RS256", rs, craft(t, "PS256", rsaKey, nil, rsClaims), ErrAlgorithm},
		{"ES384 to ES256", es, craft(t, "ES384", testKey(t, "p384"), nil, claimsWith(nil)), ErrAlgorithm},
		{"RS256 to EdDSA", eddsa, craft(t, "RS256", rsaKey, nil, claimsWith(nil)), ErrAlgorithm},

		// Signatures.
		{"tampered header", hs, replaceSegment(good, 0, segment(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "k2"})), ErrSignature},
		{"tampered payload", hs, replaceSegment(good, 1, segment(t, claimsWith(map[string]any{"sub": "admin"}))), ErrSignature},
		{"tampered signature", hs, flipSignatureBit(t, good), ErrSignature},
		{"empty signature", hs, replaceSegment(good, 2, ""), ErrSignature},
		{"signature of another token", hs, replaceSegment(good, 2, strings.Split(big, ".")[2]), ErrSignature},
		{"wrong secret", hs, craft(t, "HS256", []byte("another-secret-0123456789abcdefgh"), nil, claimsWith(nil)), ErrSignature},
		{"wrong RSA key", rs, craft(t, "RS256", testKey(t, "rsa-other"), nil, rsClaims), ErrSignature},
		{"tampered RSA signature", rs, flipSignatureBit(t, craft(t, "RS256", rsaKey, nil, rsClaims)), ErrSignature},
		{"wrong EC key", es, craft(t, "ES256", testKey(t, "p256-other"), nil, claimsWith(nil)), ErrSignature},
		{"truncated EC signature", es, replaceSegment(craft(t, "ES256", p256, nil, claimsWith(nil)), 2, "AAAA"), ErrSignature},
		{"wrong Ed25519 key", eddsa, craft(t, "EdDSA", testKey(t, "ed25519-other"), nil, claimsWith(nil)), ErrSignature},

		// Times.
		{"expired", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": now - 1})), ErrExpired},
		{"expiring now", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": now})), ErrExpired},
		{"expired beyond leeway", hsLeeway, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": now - 31})), ErrExpired},
		{"nbf in the future", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"nbf": now + 1})), ErrNotYetValid},
		{"nbf beyond leeway", hsLeeway, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"nbf": now + 31})), ErrNotYetValid},
		{"iat in the future", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iat": now + 1})), ErrNotYetValid},
		{"iat beyond leeway", hsLeeway, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iat": now + 31})), ErrNotYetValid},

		// Issuer and audience.
		{"wrong issuer", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iss": "https://evil.test"})), ErrIssuer},
		{"empty issuer", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iss": ""})), ErrMalformed},
		{"wrong audience", rs, craft(t, "RS256", rsaKey, nil, claimsWith(map[string]any{"aud": "billing"})), ErrAudience},
		{"no matching audience in array", rs, craft(t, "RS256", rsaKey, nil, claimsWith(map[string]any{"aud": []string{"x", "y"}})), ErrAudience},
		{"audience missing", rs, craft(t, "RS256", rsaKey, nil, claimsWith(nil)), ErrAudience},
		{"audience empty array", rs, craft(t, "RS256", rsaKey, nil, claimsWith(map[string]any{"aud": []string{}})), ErrAudience},

		// Required claims and their types.
		{"missing exp", hs, craft(t, "HS256", testSecret, nil, claimsWith(nil, "exp")), ErrMalformed},
		{"missing iat", hs, craft(t, "HS256", testSecret, nil, claimsWith(nil, "iat")), ErrMalformed},
		{"missing iss", hs, craft(t, "HS256", testSecret, nil, claimsWith(nil, "iss")), ErrMalformed},
		{"missing type", hs, craft(t, "HS256", testSecret, nil, claimsWith(nil, "type")), ErrMalformed},
		{"unknown type", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": "admin"})), ErrMalformed},
		{"type a number", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": 1})), ErrMalformed},
		{"exp a string", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": "1900000000"})), ErrMalformed},
		{"exp null", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": nil})), ErrMalformed},
		{"exp zero", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": 0})), ErrMalformed},
		{"exp negative", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": -1})), ErrMalformed},
		{"exp beyond year 9999", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": 1e300})), ErrMalformed},
		{"iat a string", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iat": "now"})), ErrMalformed},
		{"iat beyond year 9999", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iat": 1e300})), ErrMalformed},
		{"nbf a string", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"nbf": "0"})), ErrMalformed},
		{"nbf a bool", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"nbf": true})), ErrMalformed},
		{"sub a number", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"sub": 42})), ErrMalformed},
		{"sub an object", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"sub": map[string]any{}})), ErrMalformed},
		{"jti a number", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"jti": 1})), ErrMalformed},
		{"iss an array", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iss": []string{testIssuer}})), ErrMalformed},
		{"aud a number", hs, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"aud": 1})), ErrMalformed},
		{"aud array of numbers", rs, craft(t, "RS256", rsaKey, nil, claimsWith(map[string]any{"aud": []int{1}})), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.Verify(context.Background(), tt.token)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify() error = %v", err)
				}
				if got == nil || got.Signed != tt.token || got.Type == "" || got.Claims == nil ||
					got.IssuedAt.IsZero() || got.ExpiresAt.IsZero() {
					t.Errorf("Verify() = %+v, want every field filled", got)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("Verify() returned a token with an error")
			}
			assertNoTokenText(t, err, tt.token)
		})
	}
}

// assertNoTokenText fails t when the message of err contains the token or
// any of its segments.
func assertNoTokenText(t *testing.T, err error, token string) {
	t.Helper()
	for _, part := range append(strings.Split(token, "."), token) {
		if len(part) >= 8 && strings.Contains(err.Error(), part) {
			t.Fatalf("error %q contains token text", err)
		}
	}
}

func TestVerifyFields(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	claims := claimsWith(map[string]any{"scope": []string{"read"}, "exp": testNow.Unix() + 60, "tenant": "acme"})
	signed := craft(t, "HS256", testSecret, nil, claims)
	got, err := m.Verify(context.Background(), signed)
	if err != nil {
		t.Fatal(err)
	}
	want := &Token{
		Type:      Auth,
		Subject:   "alice",
		Issuer:    testIssuer,
		Scope:     []any{"read"},
		Claims:    decodeSegment(t, signed, 1),
		Signed:    signed,
		ID:        "jti-1",
		IssuedAt:  testNow,
		ExpiresAt: testNow.Add(time.Minute),
	}
	assertSameToken(t, got, want)
	if _, ok := got.Claims["tenant"].(string); !ok {
		t.Errorf("custom claim missing: %v", got.Claims)
	}
}

func TestVerifySizeBound(t *testing.T) {
	signed := craft(t, "HS256", testSecret, nil, claimsWith(nil))
	tests := []struct {
		name    string
		bound   int
		wantErr error
	}{
		{"bound equals size", len(signed), nil},
		{"bound one byte short", len(signed) - 1, ErrMalformed},
		{"bound of one byte", 1, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithMaxTokenSize(tt.bound))
			_, err := m.Verify(context.Background(), signed)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyWithClock(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, AuthMaxAge: time.Minute})
	tok, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		now     time.Time
		wantErr error
	}{
		{"at issue", testNow, nil},
		{"just before expiry", testNow.Add(time.Minute - time.Second), nil},
		{"at expiry", testNow.Add(time.Minute), ErrExpired},
		{"a day later", testNow.Add(24 * time.Hour), ErrExpired},
		{"a second before issue", testNow.Add(-time.Second), ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := New(Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret},
				WithClock(func() time.Time { return tt.now }))
			if err != nil {
				t.Fatal(err)
			}
			_, err = at.Verify(context.Background(), tok.Signed)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// authenticationErrors are the sentinels Verify may return.
var authenticationErrors = []error{
	ErrNoToken, ErrMalformed, ErrSignature, ErrAlgorithm, ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience,
}

func FuzzVerify(f *testing.F) {
	m := newTestManager(f, Config{Algorithm: "HS256", Secret: testSecret})
	good, err := m.AuthToken("alice", map[string]any{"admin": true}, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		good.Signed, "", "a.b.c", "..", "e30.e30.", unsigned(f, "none", claimsWith(nil)),
		replaceSegment(good.Signed, 1, segment(f, claimsWith(map[string]any{"exp": "x"}))),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, signed string) {
		tok, err := m.Verify(context.Background(), signed)
		if err == nil {
			if tok == nil || tok.Signed != signed || (tok.Type != Auth && tok.Type != Refresh) {
				t.Fatalf("Verify() = %+v without error", tok)
			}
			return
		}
		for _, sentinel := range authenticationErrors {
			if errors.Is(err, sentinel) {
				if len(signed) >= 16 && strings.Contains(err.Error(), signed) {
					t.Fatalf("error %q contains the token", err)
				}
				return
			}
		}
		t.Fatalf("Verify() error %v wraps no sentinel", err)
	})
}

func BenchmarkVerifyHS256(b *testing.B) {
	m := newTestManager(b, Config{Algorithm: "HS256", Secret: testSecret})
	tok, err := m.AuthToken("alice", "read", nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(ctx, tok.Signed); err != nil {
			b.Fatal(err)
		}
	}
}
