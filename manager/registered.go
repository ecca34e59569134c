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

// slot returns the field of r that holds the claim name, nil for a claim
// a Manager does not read.
func (r *readClaims) slot(name string) *claim {
	switch name {
	case "exp":
		return &r.exp
	case "iat":
		return &r.iat
	case "nbf":
		return &r.nbf
	case "iss":
		return &r.iss
	case "sub":
		return &r.sub
	case "aud":
		return &r.aud
	case "jti":
		return &r.jti
	case "type":
		return &r.typ
	case familyClaim:
		return &r.fam
	case "scope":
		return &r.scope
	}
	return nil
}

// readClaimsIn returns the claims a Manager reads among members, the
// claims of a token in the order of its text, each name once.
func readClaimsIn(members []jws.Member) readClaims {
	var r readClaims
	for _, m := range members {
		if c := r.slot(m.Name); c != nil {
			*c = claim{m.Value, true}
		}
	}
	return r
}

// readClaimsOf returns the claims a Manager reads in claims.
func readClaimsOf(claims map[string]any) readClaims {
	var r readClaims
	for _, name := range [...]string{"exp", "iat", "nbf", "iss", "sub", "aud", "jti", "type", familyClaim, "scope"} {
		if v, ok := claims[name]; ok {
			*r.slot(name) = claim{v, true}
		}
	}
	return r
}

// checkTypes checks that the claims r holds, those this package relies
// on, are present when required and of the right JSON type.
func (r *readClaims) checkTypes(typeRequired bool) error {
	if err := checkNumericDate("exp", r.exp, true, 1); err != nil {
		return err
	}
	if err := checkNumericDate("iat", r.iat, true, 1); err != nil {
		return err
	}
	if err := checkNumericDate("nbf", r.nbf, false, 0); err != nil {
		return err
	}
	if err := checkString("iss", r.iss, true); err != nil {
		return err
	}
	if err := checkString("type", r.typ, typeRequired); err != nil {
		return err
	}
	if err := checkString("sub", r.sub, false); err != nil {
		return err
	}
	if err := checkString("jti", r.jti, false); err != nil {
		return err
	}
	if err := checkString(familyClaim, r.fam, false); err != nil {
		return err
	}
	if typ, ok := r.typ.v.(string); ok && TokenType(typ) != Auth && TokenType(typ) != Refresh {
		return verifyError(`type claim is neither "auth" nor "refresh"`, ErrMalformed)
	}
	if r.aud.ok && !isAudience(r.aud.v) {
		return verifyError("aud claim is not a string or an array of strings", ErrMalformed)
	}
	return nil
}

// checkNumericDate checks c, the claim name: present when required, and
// a number from min to maxNumericDate.
func checkNumericDate(name string, c claim, required bool, min float64) error {
	if !c.ok {
		if required {
			return verifyError(name+" claim missing", ErrMalformed)
		}
		return nil
	}
	if f, ok := c.v.(float64); !ok || f < min || f > maxNumericDate {
		return verifyError(name+" claim is not a valid NumericDate", ErrMalformed)
	}
	return nil
}

// checkString checks c, the claim name: present and not empty when
// required, and a string.
func checkString(name string, c claim, required bool) error {
	s, isString := c.v.(string)
	if (!c.ok || isString && s == "") && required {
		if name == "type" {
			return errTypeMissing
		}
		return verifyError(name+" claim missing", ErrMalformed)
	}
	if c.ok && !isString {
		return verifyError(name+" claim is not a string", ErrMalformed)
	}
	return nil
}
