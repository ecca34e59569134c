package manager

import (
	"encoding/json"
	"maps"
	"math"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
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
// present. claims become the Token's Claims, for handlers; members, the
// same claims (each name once), become the private view of its Manager, in
// memory of their own (see setView). read holds the claims a Manager
// reads, as decoded in claims. A token without a type claim is of the
// [WithUntypedTokens] type.
func (d describer) token(claims map[string]any, members []jws.Member, read *readClaims, signed string) *Token {
	typ, _ := read.typ.v.(string)
	if typ == "" {
		typ = string(d.untyped)
	}
	iss, _ := read.iss.v.(string)
	sub, _ := read.sub.v.(string)
	id, _ := read.jti.v.(string)
	family, _ := read.fam.v.(string)
	if family == "" && TokenType(typ) == Refresh {
		family = id
	}
	// One allocation for the Token and its state, whose fields are set
	// in place: a composite literal would be built aside and copied.
	both := new(struct {
		tok Token
		st  tokenState
	})
	st, tok := &both.st, &both.tok
	st.view.Type, st.view.Issuer, st.view.Subject = typ, iss, sub
	st.size = setView(&st.view.Claims, claims, members)
	if read.scope.ok {
		st.view.Scope, _ = st.view.Claims.Scan("scope") // the view's copy, when it is an object or an array
	}
	st.view.Grants = d.grants(&st.view, st.grants[:0])
	st.view.Cnf, st.view.HasCnf = st.view.Claims.Scan(confirmationClaim)
	st.id, st.family = id, family
	st.issuedAt = numericDate(read.iat.v)
	st.until = validatorTime(read.exp.v).Add(d.leeway)
	tok.Type, tok.Subject, tok.Issuer = TokenType(typ), sub, iss
	tok.Scope = read.scope.v
	tok.Claims, tok.Signed, tok.ID = claims, signed, id
	tok.IssuedAt, tok.ExpiresAt = st.issuedAt, numericDate(read.exp.v)
	tok.state = st
	tokenview.Fill(&tok.viewSlot, &st.view)
	return tok
}

// tokenOf describes a token as token does, of claims that become the
// Token's Claims; the private view gets a deep copy of them.
func (d describer) tokenOf(claims map[string]any, signed string) *Token {
	members := make([]jws.Member, 0, len(claims))
	for name, v := range claims {
		members = append(members, jws.Member{Name: name, Value: v})
	}
	read := readClaimsOf(claims)
	return d.token(claims, members, &read, signed)
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

// memberBytes is the heap bytes of a member of a view: a name and a value.
const memberBytes = 32

// setView makes view hold the private view of a token's claims, members
// (each name once) and claims, the same by name: the same names and
// values, whose objects and arrays are deep copies, so that no handler can
// reach the view through the Token's Claims. Strings, numbers and
// booleans, which no one can modify, are shared. A token's few claims
// ([tokenview.ScanMembers] or fewer) are kept as members, in a slice of
// their own; many are a clone of claims, which copies its table without
// hashing the names again. It returns the estimated heap bytes of the
// claims' map and the view together.
func setView(view *tokenview.Claims, claims map[string]any, members []jws.Member) int {
	size := mapCost(len(members))
	if len(members) > tokenview.ScanMembers {
		size += mapCost(len(members))
		byName := maps.Clone(claims)
		for _, m := range members {
			size += len(m.Name)
			v := copyJSON(m.Value, &size)
			switch m.Value.(type) {
			case map[string]any, []any:
				byName[m.Name] = v
			}
		}
		view.InitMap(byName)
		return size
	}
	size += memberBytes * len(members)
	own := make([]jws.Member, len(members))
	for i, m := range members {
		size += len(m.Name)
		own[i] = jws.Member{Name: m.Name, Value: copyJSON(m.Value, &size)}
	}
	view.Init(own)
	return size
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

// grants appends to out the values of the claims that grant scope names
// (Config.ScopeClaims), those present, for the rule engine, read in view,
// whose Scope is set.
func (d describer) grants(view *tokenview.View, out []any) []any {
	for _, name := range d.scopeClaims {
		v := view.Scope
		if name != "scope" {
			v, _ = view.Claims.Scan(name)
		}
		if v != nil {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil // as before: no grants is a nil slice
	}
	return out
}
