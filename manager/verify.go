package manager

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// maxNumericDate is the last second of the year 9999: a larger exp, iat or
// nbf is not a time but an attempt to overflow one.
const maxNumericDate = 253402300799

// errWrongAlgorithm is returned by the key function for a token whose
// algorithm is not the configured one.
var errWrongAlgorithm = errors.New("wrong algorithm")

// Verify checks the compact JWS signed and returns the token it carries,
// with every field filled and Signed set to signed. It refuses, with an
// error wrapping one of the sentinels:
//
//   - an empty signed: ErrNoToken;
//   - a token over the size bound (see WithMaxTokenSize), checked before any
//     decoding, or not three base64url segments of JSON, or with a "crit"
//     header: ErrMalformed;
//   - an algorithm other than Config.Algorithm, "none" included: ErrAlgorithm;
//   - once the Manager knows its keys by ID (see RotateKey), a kid header
//     that is not a string: ErrMalformed; a kid naming no key (absent names
//     the key without ID): ErrSignature; a JWK Set key whose use, alg or
//     kind does not fit Config.Algorithm: ErrAlgorithm;
//   - a signature the configured key does not verify: ErrSignature;
//   - a missing exp, iat, iss or type claim (an empty string is missing;
//     type may be missing with WithUntypedTokens), a
//     type other than "auth" or "refresh", or a claim of the wrong JSON type
//     (exp, iat and nbf are numbers, within the years 1970 to 9999; iss,
//     sub, jti, type and fam are strings; aud is a string or an array of
//     strings): ErrMalformed;
//   - an iss other than Config.Issuer: ErrIssuer;
//   - when Config.Audience is set, an aud naming none of it: ErrAudience;
//   - an exp in the past: ErrExpired;
//   - an nbf or iat in the future: ErrNotYetValid;
//   - with a revocation store (WithRevocation), a token revoked by id, by
//     family or by subject: ErrRevoked; a store that can't answer:
//     ErrRevocationUnavailable, unless WithRevocationFailOpen.
//
// Times are compared with Config.Leeway of tolerance. The checks run in this
// order and the first failure decides. Verify does not check the token's
// type against a rule; ErrTokenType is the rule engine's. The error never
// contains the token.
//
// The revocation store is asked last, with ctx, so that only tokens that
// verify reach it; without a store, revocation costs nothing.
func (m *Manager) Verify(ctx context.Context, signed string) (*Token, error) {
	if signed == "" {
		return nil, fmt.Errorf("manager: verify: %w", ErrNoToken)
	}
	if len(signed) > m.maxTokenSize {
		return nil, verifyError(fmt.Sprintf("token is over %d bytes", m.maxTokenSize), ErrMalformed)
	}
	claims := jwt.MapClaims{}
	parsed, err := m.parser.ParseWithClaims(signed, claims, m.keyfunc)
	if err != nil {
		return nil, m.parseError(parsed, err)
	}
	if _, ok := parsed.Header["crit"]; ok {
		return nil, verifyError("crit header is not supported", ErrMalformed)
	}
	if err := checkClaimTypes(claims, m.untyped == ""); err != nil {
		return nil, err
	}
	// The validator checks iss and aud too, but reports a missing aud in
	// the same way as a missing exp; these two make the order explicit.
	if claims["iss"] != m.issuer {
		return nil, verifyError("iss is not the configured issuer", ErrIssuer)
	}
	if len(m.audience) > 0 {
		if aud, _ := claims.GetAudience(); len(aud) == 0 {
			return nil, verifyError("aud claim missing", ErrAudience)
		}
	}
	if err := m.validator.Validate(claims); err != nil {
		return nil, validationError(err)
	}
	tok := m.verifiedToken(claims, signed)
	if err := m.checkRevoked(ctx, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// verificationKey is the jwt.Keyfunc of the Manager. The parser already
// accepts only the configured algorithm; checking again here keeps an HS
// token away from an RSA or EC key even if that option were lost.
func (m *Manager) verificationKey(t *jwt.Token) (any, error) {
	if t.Method == nil || t.Method.Alg() != m.alg.method.Alg() {
		return nil, errWrongAlgorithm
	}
	return m.keyOf(t.Header)
}

// parseError translates an error of parsing and signature verification to
// our sentinels, leaving golang-jwt's message out.
func (m *Manager) parseError(t *jwt.Token, err error) error {
	if err := keySelectionError(err); err != nil {
		return err
	}
	var alg string
	if t != nil {
		alg, _ = t.Header["alg"].(string)
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return verifyError("not a compact JWS", ErrMalformed)
	case alg == "":
		return verifyError("alg header missing", ErrMalformed)
	case alg != m.alg.method.Alg() || errors.Is(err, errWrongAlgorithm):
		return verifyError("token is not signed with "+m.alg.method.Alg(), ErrAlgorithm)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return verifyError("signature does not verify", ErrSignature)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return verifyError("token can't be verified", ErrAlgorithm)
	}
	return verifyError("token can't be parsed", ErrMalformed)
}

// validationError translates an error of claims validation to one sentinel:
// of several failures, the first of malformed, issuer, audience, expired and
// not valid yet.
func validationError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrInvalidType), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return verifyError("claims can't be validated", ErrMalformed)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return verifyError("iss is not the configured issuer", ErrIssuer)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return verifyError("aud names no configured audience", ErrAudience)
	case errors.Is(err, jwt.ErrTokenExpired):
		return verifyError("exp has passed", ErrExpired)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return verifyError("nbf is in the future", ErrNotYetValid)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return verifyError("iat is in the future", ErrNotYetValid)
	}
	return verifyError("claims are not valid", ErrMalformed)
}

// checkClaimTypes checks that the claims this package relies on are present
// when required and of the right JSON type.
func checkClaimTypes(claims jwt.MapClaims, typeRequired bool) error {
	for _, c := range []struct {
		name     string
		required bool
		min      float64
	}{
		{"exp", true, 1},
		{"iat", true, 1},
		{"nbf", false, 0},
	} {
		v, ok := claims[c.name]
		if !ok {
			if c.required {
				return verifyError(c.name+" claim missing", ErrMalformed)
			}
			continue
		}
		if f, ok := v.(float64); !ok || f < c.min || f > maxNumericDate {
			return verifyError(c.name+" claim is not a valid NumericDate", ErrMalformed)
		}
	}
	for _, c := range []struct {
		name     string
		required bool
	}{
		{"iss", true},
		{"type", typeRequired},
		{"sub", false},
		{"jti", false},
		{familyClaim, false},
	} {
		v, ok := claims[c.name]
		if !ok {
			if c.required {
				return verifyError(c.name+" claim missing", ErrMalformed)
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			return verifyError(c.name+" claim is not a string", ErrMalformed)
		}
		if s == "" && c.required {
			return verifyError(c.name+" claim missing", ErrMalformed)
		}
	}
	if typ, ok := claims["type"].(string); ok && TokenType(typ) != Auth && TokenType(typ) != Refresh {
		return verifyError(`type claim is neither "auth" nor "refresh"`, ErrMalformed)
	}
	if aud, ok := claims["aud"]; ok {
		if !isAudience(aud) {
			return verifyError("aud claim is not a string or an array of strings", ErrMalformed)
		}
	}
	return nil
}

// isAudience reports whether v, decoded JSON, is a string or an array of
// strings.
func isAudience(v any) bool {
	switch v := v.(type) {
	case string:
		return true
	case []any:
		for _, s := range v {
			if _, ok := s.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// verifyError wraps sentinel with the reason Verify refused a token. The
// reason is ours, never text from the token.
func verifyError(reason string, sentinel error) error {
	return fmt.Errorf("manager: verify: %s: %w", reason, sentinel)
}
