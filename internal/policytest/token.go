package policytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/jws"
	"github.com/protojwt/protojwt/manager"
)

// defaultIssuer is the iss of a token made from claims that name none.
const defaultIssuer = "protojwt-test"

// caseVerifier is the verifier of the adapters a suite builds: it verifies
// with the Manager of the case being run, so that the adapters are built
// once per suite. Cases run one at a time.
type caseVerifier struct {
	current manager.Verifier
}

func (v *caseVerifier) Verify(ctx context.Context, token string) (*manager.Token, error) {
	if v.current == nil {
		return nil, manager.ErrSignature
	}
	return v.current.Verify(ctx, token)
}

// token returns the raw token of c and the Manager that verifies it, as a
// server configured for its issuer would; "" and nil when c sends none.
func (s *Suite) token(c *annotations.CaseToken) (string, *manager.Manager, error) {
	if c == nil {
		return "", nil, nil
	}
	opts := []manager.Option{manager.WithClock(s.clock)}
	switch src := c.GetSource().(type) {
	case *annotations.CaseToken_Claims:
		claims, err := s.claims(src.Claims, c.GetType())
		if err != nil {
			return "", nil, err
		}
		raw, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
		if err != nil {
			return "", nil, fmt.Errorf("token: %v", err)
		}
		m, err := manager.New(manager.Config{
			Issuer: claims["iss"].(string), Algorithm: "HS256", Secret: s.secret,
			ScopeClaims: s.test.GetScopeClaims(),
		}, opts...)
		if err != nil {
			return "", nil, fmt.Errorf("token: %v", err)
		}
		return raw, m, nil
	case *annotations.CaseToken_Jwt:
		raw := strings.TrimSpace(src.Jwt)
		if s.test.GetJwks() == "" {
			return "", nil, errors.New("token: a jwt needs the file's jwks, the keys that verify it")
		}
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			return "", nil, errors.New("token: jwt is not a compact JWS (three parts separated by dots)")
		}
		iss, ok := jws.PeekIssuer(parts[1])
		if !ok || iss == "" {
			return "", nil, errors.New("token: jwt has no iss claim to verify it for")
		}
		m, err := manager.New(manager.Config{Issuer: iss, JWKS: []byte(s.test.GetJwks()), ScopeClaims: s.test.GetScopeClaims()}, opts...)
		if err != nil {
			return "", nil, fmt.Errorf("jwks: %v", err)
		}
		return raw, m, nil
	}
	return "", nil, errors.New("token has neither claims nor jwt")
}

// claims decodes the JSON object of a case's claims, numbers exactly, and
// adds what a verified token must have: iss, iat, exp, and the type.
func (s *Suite) claims(text string, typ annotations.TokenType) (jwt.MapClaims, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fmt.Errorf("token: claims are not a JSON object: %v", errOrNull(err))
	}
	if dec.More() {
		return nil, errors.New("token: claims: text after the JSON object")
	}
	now := s.clock()
	if _, ok := claims["iss"]; !ok {
		claims["iss"] = defaultIssuer
	}
	if _, ok := claims["iss"].(string); !ok {
		return nil, errors.New("token: claims: iss is not a string")
	}
	if _, ok := claims["iat"]; !ok {
		claims["iat"] = now.Unix()
	}
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = now.Add(time.Hour).Unix()
	}
	switch {
	case typ == annotations.TokenType_TOKEN_TYPE_REFRESH:
		claims["type"] = string(manager.Refresh)
	case typ == annotations.TokenType_TOKEN_TYPE_AUTH:
		claims["type"] = string(manager.Auth)
	default:
		if _, ok := claims["type"]; !ok {
			claims["type"] = string(manager.Auth)
		}
	}
	return jwt.MapClaims(claims), nil
}

func errOrNull(err error) error {
	if err == nil {
		return errors.New("null")
	}
	return err
}
