package manager

import (
	"encoding/json"
	"math"
	"time"

	"github.com/protojwt/protojwt/internal/tokenview"
)

// describer makes the Token of claims that were issued or verified, with
// the Manager's reading of them: the type of an untyped token, the claims
// that grant scopes, the leeway of its expiry.
type describer struct {
	untyped     TokenType // WithUntypedTokens: type of tokens without one; "" refuses them
	leeway      time.Duration
	scopeClaims []string // Config.ScopeClaims, never empty
}

// token describes a token whose claims have been checked: exp and iat
// are numbers, type is a string, iss, sub and jti are strings when
// present. claims becomes the private view of the token's Manager, and the
// Token gets a deep copy of its own for handlers; a token without a type
// claim is of the [WithUntypedTokens] type.
func (d describer) token(claims map[string]any, signed string) *Token {
	typ, _ := claims["type"].(string)
	if typ == "" {
		typ = string(d.untyped)
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	id, _ := claims["jti"].(string)
	family, _ := claims[familyClaim].(string)
	if family == "" && TokenType(typ) == Refresh {
		family = id
	}
	// One allocation for the Token and its state.
	both := &struct {
		tok Token
		st  tokenState
	}{}
	st := &both.st
	*st = tokenState{
		view: tokenview.View{
			Type:    typ,
			Issuer:  iss,
			Subject: sub,
			Claims:  claims,
			Scope:   claims["scope"],
			Grants:  d.grants(claims),
		},
		id:       id,
		family:   family,
		issuedAt: numericDate(claims["iat"]),
		until:    validatorTime(claims["exp"]).Add(d.leeway),
	}
	own, _ := copyJSON(claims, &st.size).(map[string]any)
	both.tok = Token{
		Type:      TokenType(typ),
		Subject:   sub,
		Issuer:    iss,
		Scope:     own["scope"],
		Claims:    own,
		Signed:    signed,
		ID:        id,
		IssuedAt:  st.issuedAt,
		ExpiresAt: numericDate(claims["exp"]),
		state:     st,
	}
	tokenview.Fill(&both.tok.viewSlot, &st.view)
	return &both.tok
}

// Estimated heap bytes of decoded JSON, for the verification cache's byte
// bound: measured with Go 1.26 for maps of a few to hundreds of members.
const (
	mapBytes      = 48  // a map's header
	smallMapBytes = 320 // a map of 1 to 8 members: its header and one group
	mapEntryBytes = 40  // a member of a larger map, with the groups' spare room
	sliceBytes    = 24  // a slice's header, boxed in an interface
	elemBytes     = 16  // an element of []any
	boxBytes      = 16  // a string's header or a number, boxed
)

// mapCost is the estimated heap bytes of a map[string]any of n members.
func mapCost(n int) int {
	switch {
	case n == 0:
		return mapBytes
	case n <= 8:
		return smallMapBytes
	}
	return 2*mapBytes + mapEntryBytes*n
}

// copyJSON returns a deep copy of v, a decoded JSON value: objects and
// arrays are copied, other values are immutable and shared. It adds to
// *size an estimate of the heap that v and its copy hold together.
func copyJSON(v any, size *int) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		*size += 2 * mapCost(len(v))
		out := make(map[string]any, len(v))
		for k, e := range v {
			*size += len(k)
			out[k] = copyJSON(e, size)
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		*size += 2 * (sliceBytes + elemBytes*len(v))
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyJSON(e, size)
		}
		return out
	case string:
		*size += boxBytes + len(v)
	case json.Number:
		*size += boxBytes + len(v)
	case float64:
		*size += boxBytes
	}
	return v
}

// numericDate converts a JSON NumericDate, seconds since the epoch, to a
// time in UTC.
func numericDate(v any) time.Time {
	f, _ := v.(float64)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// grants returns the values of the claims that grant scope names
// (Config.ScopeClaims), those present, for the rule engine.
func (d describer) grants(claims map[string]any) []any {
	var out []any
	for _, name := range d.scopeClaims {
		if v, ok := claims[name]; ok && v != nil {
			out = append(out, v)
		}
	}
	return out
}
