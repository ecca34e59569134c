// Package tokenview gives the rule engine a private, read-only view of a
// verified token: what the Manager decoded, in memory no handler can
// reach. A handler gets the *manager.Token itself and may modify its
// Claims (a cached Token is shared by every call that presents the same
// token); decisions read the View, so they never depend on what a handler
// did.
//
//	if v := tokenview.Of(tok); v != nil {
//		role, ok = v.Claims.Lookup("role") // the Manager's private copy
//	} else {
//		role, ok = tok.Claims["role"] // a Token not built by a Manager: a test double
//	}
//
// The seam is a type, not a registration: manager.Token embeds a [Slot]
// under an unexported name, which gives it Slot's unexported method, and
// [Of] finds that method. Only packages that import this one (manager, the
// rule engine) can fill or read a Slot; the method, like every name of a
// Slot, is unexported, so nothing of it shows on the Token.
package tokenview

import (
	"reflect"
	"sync/atomic"

	"github.com/protojwt/protojwt/internal/jws"
)

// View is the decoded content of a verified token, as its Manager decoded
// it: never modified after it is built, and shared by every caller.
// Readers must not modify it either.
type View struct {
	// Type is the token's type, as Token.Type ("auth" or "refresh").
	Type string
	// Issuer is the "iss" claim.
	Issuer string
	// Subject is the "sub" claim.
	Subject string
	// Claims holds every claim, decoded as Token.Claims documents.
	Claims Claims
	// Scope is the "scope" claim of Claims, nil when absent.
	Scope any
	// Grants are the values of the claims whose names grant OAuth scopes
	// (the Manager's Config.ScopeClaims), in that order, those present.
	Grants []any
	// Cnf is the "cnf" claim of Claims, which binds the token to a key
	// or a certificate, and HasCnf whether the token has it: read once,
	// for the check of every call that presents the token.
	Cnf    any
	HasCnf bool
}

// Slot holds the View of a token. A token type embeds it under an
// unexported alias (type viewSlot = tokenview.Slot), so that the embedded
// field is unexported too. Its zero value holds no View.
//
// It has no exported field or method on purpose: embedded, they would be
// promoted to the token, where any handler could reach them.
type Slot struct {
	view *View
}

// tokenView returns the View s holds, nil when none.
func (s *Slot) tokenView() *View { return s.view }

// Fill makes s hold v. Package manager calls it once, when it builds a
// token, before the token is shared.
func Fill(s *Slot, v *View) { s.view = v }

// viewer is a token that embeds a Slot.
type viewer interface {
	tokenView() *View
}

// Of returns the View of tok, a *manager.Token, or nil when tok has none:
// a Token not built by a Manager (a test double, a Token literal), or a
// value of another type, or nil. Callers then read the Token's exported
// fields.
func Of(tok any) *View {
	v, ok := tok.(viewer)
	if !ok {
		return nil
	}
	// The method promoted from an embedded Slot reads through the token:
	// a nil *manager.Token has no View.
	if rv := reflect.ValueOf(tok); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	return v.tokenView()
}

// Claims are the claims of a token as its Manager decoded them, in memory
// of their own: their objects and arrays are copies, and they share with
// Token.Claims only the values no one can modify (strings, numbers,
// booleans). A Manager decodes a token's claims once, into the map a
// handler gets and this view, in one of two forms. A token's few claims
// ([ScanMembers] or fewer) are the decoded members themselves
// ([Claims.Init]), found by comparing names, with no second map; a token's
// many are a map ([Claims.InitMap]), a clone of the decoded map, which
// copies its table without hashing the names again.
//
// [Claims.Map] gives the claims as a map, for readers that need one (CEL
// expressions, Token.Decode): for few claims, it is made at its first
// call. The zero value holds no claim.
type Claims struct {
	members []jws.Member // the claims, when held as members
	// keys are the keys (keyOf) of the first members' names, which Scan
	// compares before the names.
	keys [ScanMembers]uint32
	// index holds the claims by name when InitMap set it; byName holds
	// the map made of the members at the first call of Map.
	index  map[string]any
	byName atomic.Pointer[map[string]any]
}

// keyOf packs the length and the first and last bytes of name into a
// number: names with different keys differ, and names of one token
// mostly have different keys (registered claims, all three letters long,
// do).
func keyOf(name string) uint32 {
	if name == "" {
		return 0
	}
	return uint32(len(name))<<16 | uint32(name[0])<<8 | uint32(name[len(name)-1])
}

// ScanMembers is the most claims a Manager keeps as members, which
// [Claims.Lookup] compares by name: up to eight names compare in the time
// of one lookup in a map of eight, beyond which a map is faster
// (BenchmarkClaimsLookup).
const ScanMembers = 8

// Init makes c hold members, a token's claims, each name once, which it
// keeps: neither they nor the objects and arrays they hold may be modified
// after. Package manager calls it (or InitMap) once, while it builds a
// token, before the token is shared.
func (c *Claims) Init(members []jws.Member) {
	c.members, c.index = members, nil
	for i := range min(len(members), len(c.keys)) {
		c.keys[i] = keyOf(members[i].Name)
	}
	c.byName.Store(nil)
}

// InitMap makes c hold m, a token's claims by name, as Init does members.
func (c *Claims) InitMap(m map[string]any) {
	c.members, c.index = nil, m
	c.byName.Store(nil)
}

// Len returns the number of claims.
func (c *Claims) Len() int {
	if c.index != nil {
		return len(c.index)
	}
	return len(c.members)
}

// Lookup returns the claim name and whether the token has it (it may be
// present and null). Members beyond [ScanMembers] are looked up in the map
// made of them.
func (c *Claims) Lookup(name string) (any, bool) {
	if len(c.members) > ScanMembers {
		v, ok := c.Map()[name]
		return v, ok
	}
	return c.Scan(name)
}

// Scan looks name up as Lookup does, without making a map of members
// however many they are: for a claim looked up once. It compares the
// names' keys first, which tell most names apart without reading them.
func (c *Claims) Scan(name string) (any, bool) {
	if c.index != nil {
		v, ok := c.index[name]
		return v, ok
	}
	k := keyOf(name)
	first := min(len(c.members), len(c.keys))
	for i := range first {
		if c.keys[i] == k && c.members[i].Name == name {
			return c.members[i].Value, true
		}
	}
	for i := first; i < len(c.members); i++ {
		if c.members[i].Name == name {
			return c.members[i].Value, true
		}
	}
	return nil, false
}

// Map returns the claims as a map from name to value, shared by every
// call, and by every goroutine: readers must not modify it.
func (c *Claims) Map() map[string]any {
	if c.index != nil {
		return c.index
	}
	if m := c.byName.Load(); m != nil {
		return *m
	}
	m := make(map[string]any, len(c.members))
	for _, e := range c.members {
		m[e.Name] = e.Value
	}
	if !c.byName.CompareAndSwap(nil, &m) {
		return *c.byName.Load() // another call made it first
	}
	return m
}
