package manager

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestAccessTokenProfile checks that under WithAccessTokenProfile only
// RFC 9068 access tokens verify, as auth tokens, and that the ID tokens
// and logout tokens of the same issuer and key are refused.
func TestAccessTokenProfile(t *testing.T) {
	key := newP256(t)
	jwks := publicJWKS(t, &key.PublicKey, "k1")
	m := newTestManager(t, Config{Algorithm: "ES256", JWKS: jwks}, WithAccessTokenProfile())
	now := testClock()
	claims := func(extra map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": testIssuer, "sub": "alice", "iat": now.Unix(), "exp": now.Unix() + 600, "client_id": "web", "jti": "j1"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	withKID := func(t *testing.T, typ any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
		tok.Header["kid"] = "k1"
		if typ == nil {
			delete(tok.Header, "typ")
		} else {
			tok.Header["typ"] = typ
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name     string
		token    string
		wantErr  error
		wantType TokenType
	}{
		{"at+jwt", withKID(t, "at+jwt", claims(nil)), nil, Auth},
		{"application/at+jwt", withKID(t, "application/at+jwt", claims(nil)), nil, Auth},
		{"AT+JWT, case-insensitive", withKID(t, "AT+JWT", claims(nil)), nil, Auth},
		{"an ID token (typ JWT)", withKID(t, "JWT", claims(map[string]any{"aud": "web", "nonce": "n"})), ErrTokenType, ""},
		{"an ID token without typ", withKID(t, nil, claims(map[string]any{"aud": "web"})), ErrTokenType, ""},
		{"a logout token", withKID(t, "logout+jwt", claims(map[string]any{"events": map[string]any{}})), ErrTokenType, ""},
		{"typ not a string", withKID(t, []any{"at+jwt"}, claims(nil)), ErrTokenType, ""},
		{"at+jwt with another token's signature", swapSignature(withKID(t, "at+jwt", claims(map[string]any{"sub": "mallory"})), withKID(t, "at+jwt", claims(nil))), ErrSignature, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := m.Verify(context.Background(), tt.token)
			if tt.wantErr != nil {
				if tok != nil || !errors.Is(err, tt.wantErr) {
					t.Fatalf("Verify = %v, %v; want %v", tok, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tok.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", tok.Type, tt.wantType)
			}
		})
	}
	// Without the profile, the same access token needs WithUntypedTokens.
	plain := newTestManager(t, Config{Algorithm: "ES256", JWKS: jwks})
	if _, err := plain.Verify(context.Background(), tests[0].token); !errors.Is(err, ErrMalformed) {
		t.Errorf("without the profile: %v, want ErrMalformed (no type claim)", err)
	}
}

// publicJWKS returns a JWK Set of pub with kid.
func publicJWKS(t *testing.T, pub *ecdsa.PublicKey, kid string) []byte {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	point, err := pub.Bytes() // 0x04, then X and Y of 32 bytes each
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
		"x": b64(point[1:33]), "y": b64(point[33:]),
	}}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// swapSignature returns the header and payload of a with the signature of b.
func swapSignature(a, b string) string {
	return a[:strings.LastIndexByte(a, '.')] + b[strings.LastIndexByte(b, '.'):]
}
