package manager

import "github.com/protojwt/protojwt/internal/jws"

// claim is the decoded value of a claim, and whether the token has it (a
// claim may be present and null).
type claim struct {
	v  any
	ok bool
}

// readClaims are the claims a Manager reads itself, found once among the
// decoded claims: its checks and the Token it builds read these fields,
// not the map of claims, a lookup each.
type readClaims struct {
	exp, iat, nbf, iss, sub, aud, jti, typ, fam, scope claim
}

// note records v as the claim name, when it is one a Manager reads.
func (r *readClaims) note(name string, v any) {
	switch name {
	case "exp":
		r.exp = claim{v, true}
	case "iat":
		r.iat = claim{v, true}
	case "nbf":
		r.nbf = claim{v, true}
	case "iss":
		r.iss = claim{v, true}
	case "sub":
		r.sub = claim{v, true}
	case "aud":
		r.aud = claim{v, true}
	case "jti":
		r.jti = claim{v, true}
	case "type":
		r.typ = claim{v, true}
	case familyClaim:
		r.fam = claim{v, true}
	case "scope":
		r.scope = claim{v, true}
	}
}

// readClaimsIn returns the claims a Manager reads among members, the
// claims of a token in the order of its text, each name once.
func readClaimsIn(members []jws.Member) readClaims {
	var r readClaims
	for _, m := range members {
		r.note(m.Name, m.Value)
	}
	return r
}

// readClaimsOf returns the claims a Manager reads in claims.
func readClaimsOf(claims map[string]any) readClaims {
	var r readClaims
	for _, name := range [...]string{"exp", "iat", "nbf", "iss", "sub", "aud", "jti", "type", familyClaim, "scope"} {
		if v, ok := claims[name]; ok {
			r.note(name, v)
		}
	}
	return r
}

// checkTypes checks that the claims r holds, those this package relies
// on, are present when required and of the right JSON type.
func (r *readClaims) checkTypes(typeRequired bool) error {
	for _, c := range [...]struct {
		name     string
		claim    claim
		required bool
		min      float64
	}{
		{"exp", r.exp, true, 1},
		{"iat", r.iat, true, 1},
		{"nbf", r.nbf, false, 0},
	} {
		if !c.claim.ok {
			if c.required {
				return verifyError(c.name+" claim missing", ErrMalformed)
			}
			continue
		}
		if f, ok := c.claim.v.(float64); !ok || f < c.min || f > maxNumericDate {
			return verifyError(c.name+" claim is not a valid NumericDate", ErrMalformed)
		}
	}
	for _, c := range [...]struct {
		name     string
		claim    claim
		required bool
	}{
		{"iss", r.iss, true},
		{"type", r.typ, typeRequired},
		{"sub", r.sub, false},
		{"jti", r.jti, false},
		{familyClaim, r.fam, false},
	} {
		s, isString := c.claim.v.(string)
		if (!c.claim.ok || isString && s == "") && c.required {
			if c.name == "type" {
				return errTypeMissing
			}
			return verifyError(c.name+" claim missing", ErrMalformed)
		}
		if c.claim.ok && !isString {
			return verifyError(c.name+" claim is not a string", ErrMalformed)
		}
	}
	if typ, ok := r.typ.v.(string); ok && TokenType(typ) != Auth && TokenType(typ) != Refresh {
		return verifyError(`type claim is neither "auth" nor "refresh"`, ErrMalformed)
	}
	if r.aud.ok && !isAudience(r.aud.v) {
		return verifyError("aud claim is not a string or an array of strings", ErrMalformed)
	}
	return nil
}
