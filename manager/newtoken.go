package manager

import (
	"encoding/json"
	"fmt"
	"time"
)

// farFuture is the expiry of a Token whose claims have no exp.
var farFuture = time.Unix(1<<62, 0)

// NewToken returns the Token of claims that a Verifier other than a
// Manager has judged valid, such as the answer of an OAuth token
// introspection endpoint (package introspection), built as Verify builds
// its Tokens: the rule engine reads a private copy of claims that no
// handler can change, Token.Claims is a copy of its own, and Subject,
// Issuer, Scope, ID, IssuedAt and ExpiresAt are read from "sub", "iss",
// "scope", "jti", "iat" and "exp". Scopes are granted by the "scope"
// claim. typ is the Token's Type, whatever claims says; a token without
// "exp" never expires by itself (Token.Expired is false).
//
// claims must be decoded JSON as Token.Claims documents (objects
// map[string]any, arrays []any, numbers float64 or [json.Number]); "iss",
// "sub" and "jti" must be strings, "exp", "iat" and "nbf" numbers, when
// present. Otherwise [NewToken] returns an error wrapping [ErrMalformed], which
// names the claim, never its value. [NewToken] does not check "exp": the
// Verifier decides whether the token is valid now.
func NewToken(claims map[string]any, typ TokenType) (*Token, error) {
	if claims == nil {
		return nil, fmt.Errorf("manager: new token: no claims: %w", ErrMalformed)
	}
	if typ != Auth && typ != Refresh {
		return nil, fmt.Errorf("manager: new token: unknown token type %q: %w", typ, ErrTokenType)
	}
	for _, name := range []string{"iss", "sub", "jti"} {
		if v, ok := claims[name]; ok && v != nil {
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("manager: new token: claim %q is not a string: %w", name, ErrMalformed)
			}
		}
	}
	for _, name := range []string{"exp", "iat", "nbf"} {
		if v, ok := claims[name]; ok && v != nil {
			switch n := v.(type) {
			case float64:
			case json.Number:
				if _, err := n.Float64(); err != nil {
					return nil, fmt.Errorf("manager: new token: claim %q is not a number: %w", name, ErrMalformed)
				}
			default:
				return nil, fmt.Errorf("manager: new token: claim %q is not a number: %w", name, ErrMalformed)
			}
		}
	}
	var size int
	private, _ := copyJSON(claims, &size).(map[string]any)
	for _, name := range []string{"exp", "iat", "nbf"} {
		// A date too large for a float64 to hold exactly is far in the
		// future or past either way: read as the nearest float64.
		if n, ok := private[name].(json.Number); ok {
			private[name], _ = n.Float64()
		}
	}
	d := describer{untyped: typ, scopeClaims: []string{"scope"}}
	tok := d.tokenOf(private, "")
	tok.Type = typ
	tok.state.view.Type = string(typ)
	if _, ok := private["exp"].(float64); !ok {
		tok.state.until = farFuture
		tok.ExpiresAt = time.Time{}
	}
	if _, ok := private["iat"].(float64); !ok {
		tok.state.issuedAt = time.Time{}
		tok.IssuedAt = time.Time{}
	}
	return tok, nil
}
