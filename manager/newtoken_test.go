package manager_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/internal/tokenview"
	"github.com/protojwt/protojwt/manager"
)

// TestNewToken builds a Token as Verify does: its fields read from the
// claims, a private view for the rules that neither the caller's map nor
// the Token's Claims reach.
func TestNewToken(t *testing.T) {
	claims := map[string]any{
		"iss": "https://idp.test", "sub": "alice", "jti": "j1", "scope": "read write",
		"exp": 2000000000.0, "iat": json.Number("1700000000"), "client_id": "orders",
		"groups": []any{"ops"}, "type": "refresh",
	}
	tok, err := manager.NewToken(claims, manager.Auth)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type != manager.Auth || tok.Subject != "alice" || tok.Issuer != "https://idp.test" || tok.ID != "j1" || tok.Scope != "read write" {
		t.Errorf("Token = %+v", tok)
	}
	if !tok.ExpiresAt.Equal(time.Unix(2000000000, 0)) || !tok.IssuedAt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("ExpiresAt %v, IssuedAt %v", tok.ExpiresAt, tok.IssuedAt)
	}
	if tok.Expired(time.Unix(1999999999, 0)) || !tok.Expired(time.Unix(2000000000, 0)) {
		t.Errorf("Expired does not follow exp")
	}
	v := tokenview.Of(tok)
	if v == nil || v.Type != "auth" || v.Issuer != "https://idp.test" || v.Subject != "alice" || len(v.Grants) != 1 {
		t.Fatalf("view = %+v", v)
	}
	claims["groups"].([]any)[0] = "admin"
	claims["sub"] = "mallory"
	tok.Claims["groups"].([]any)[0] = "admin"
	groups, _ := v.Claims.Lookup("groups")
	sub, _ := v.Claims.Lookup("sub")
	if groups.([]any)[0] != "ops" || sub != "alice" {
		t.Errorf("the view changed with the caller's map or Token.Claims: %v", v.Claims.Map())
	}

	noExp, err := manager.NewToken(map[string]any{"sub": "bob"}, manager.Auth)
	if err != nil {
		t.Fatal(err)
	}
	if noExp.Expired(time.Now().Add(100*365*24*time.Hour)) || !noExp.ExpiresAt.IsZero() || !noExp.IssuedAt.IsZero() {
		t.Errorf("a token without exp: Expired true or dates set: %+v", noExp)
	}
}

// TestNewTokenErrors refuses claims the Token can't be built from, naming
// the claim, never its value.
func TestNewTokenErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name   string
		claims map[string]any
		typ    manager.TokenType
		want   error
	}{
		{"nil claims", nil, manager.Auth, manager.ErrMalformed},
		{"unknown type", map[string]any{}, "id", manager.ErrTokenType},
		{"empty type", map[string]any{}, "", manager.ErrTokenType},
		{"sub a number", map[string]any{"sub": 1.0}, manager.Auth, manager.ErrMalformed},
		{"iss an object", map[string]any{"iss": map[string]any{"x": secret}}, manager.Auth, manager.ErrMalformed},
		{"jti a list", map[string]any{"jti": []any{secret}}, manager.Auth, manager.ErrMalformed},
		{"exp a string", map[string]any{"exp": secret}, manager.Auth, manager.ErrMalformed},
		{"iat a bool", map[string]any{"iat": true}, manager.Auth, manager.ErrMalformed},
		{"nbf bad number", map[string]any{"nbf": json.Number(secret)}, manager.Auth, manager.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := manager.NewToken(tt.claims, tt.typ)
			if !errors.Is(err, tt.want) || tok != nil {
				t.Fatalf("NewToken = %v, %v; want %v", tok, err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds a claim value", err)
			}
		})
	}
}
