package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/tokenview"
	"github.com/protojwt/protojwt/manager"
)

// Denials that are not a manager sentinel alone. They are fixed values, so a
// refusal costs no allocation.
var (
	errNoAlternative = fmt.Errorf("protojwt: no alternative rule holds: %w", manager.ErrClaim)
	// ErrExpressionFalse means the rule's expression is false.
	ErrExpressionFalse = fmt.Errorf("protojwt: the rule's expression is false: %w", manager.ErrClaim)
	// ErrExpression means the rule's expression could not be evaluated.
	ErrExpression = fmt.Errorf("protojwt: the rule's expression can't be evaluated: %w", manager.ErrClaim)
	// errUnbound is a bearer token where the rule requires a bound one.
	errUnbound = fmt.Errorf("%w: the rule requires a sender-constrained token (cnf)", dpop.ErrProofMissing)
)

// Check decides a call: the rule, in DESIGN order, against tok, the
// verified token, or nil when the call sent none, and the request
// variables. It is the one place that decides what no token means: a public
// rule or one that allows a missing token lets it through, any other is
// denied with [manager.ErrNoToken]. Verifying the token is the adapter's: tok
// must come from a [manager.Verifier].
//
// Deferred vars defer what reads the request (claims bound to request
// variables, an expression that reads the request), as at the start of a
// stream; it is then checked per message. The zero Vars have every
// variable absent, so a claim bound to one never holds. The error wraps one
// of manager's sentinels (see Classify); it is a fixed value, so Check
// allocates nothing but what an expression does, whether it allows or
// denies. Explain says which part of the rule failed.
func (r *Rule) Check(tok *manager.Token, vars Vars) error { return r.check(tok, vars, false) }

// Explain decides a call as Check does, and its error names the part of
// the rule that failed, for logs (Decision.Err): the claim path, the
// operator and the rule's literal of a failed check, the request field a
// claim was bound to, the scope missing, why each alternative of an any_of
// failed, the token type wanted and the one sent. It never holds a claim
// value. The error wraps the sentinel Check returns, so Classify gives the
// same reason. Explain allocates only when it denies.
func (r *Rule) Explain(tok *manager.Token, vars Vars) error { return r.check(tok, vars, true) }

func (r *Rule) check(tok *manager.Token, vars Vars, explain bool) error {
	if r.public {
		return nil
	}
	if tok == nil {
		if r.allowMissing {
			return nil
		}
		return manager.ErrNoToken
	}
	in := inputOf(tok)
	if manager.TokenType(in.typ) != r.tokenType {
		if !explain {
			return manager.ErrTokenType
		}
		return fmt.Errorf("%w: want %s, got %s", manager.ErrTokenType, r.tokenType, typeText(in.typ))
	}
	if r.requireBinding {
		if b, err := binding.Of(tok); err != nil || !b.Bound() {
			return errUnbound
		}
	}
	return r.cond.check(&in, vars, explain)
}

// typeText names a token's type for Decision.Err: the types a Manager
// issues by name, any other without its value, which a token built
// elsewhere may hold.
func typeText(typ string) string {
	switch manager.TokenType(typ) {
	case manager.Auth, manager.Refresh:
		return typ
	case "":
		return "none"
	}
	return "another type"
}

// input is what a rule reads of a verified token.
type input struct {
	typ    string
	issuer string // the "iss" claim
	// view holds the claims of a Token a Manager built, nil for another;
	// claims holds the claims by name: another Token's Claims, or the
	// view's map once a claim of a token of many is looked up.
	view   *tokenview.Claims
	claims map[string]any
	scope  any // the "scope" claim, for the scope rule
	// grants are the values of the Manager's scope claims
	// (Config.ScopeClaims); a Token no Manager built has its scope alone.
	grants []any
}

// inputOf returns what a rule reads of tok. Decisions read what the
// Manager decoded, in memory no handler can reach: a handler that modifies
// its (shared, cached) Token changes no later decision. A Token built
// elsewhere is read as it is.
func inputOf(tok *manager.Token) input {
	if v := tokenview.Of(tok); v != nil {
		return input{typ: v.Type, issuer: v.Issuer, view: &v.Claims, scope: v.Scope, grants: v.Grants}
	}
	return input{typ: string(tok.Type), issuer: tok.Issuer, claims: tok.Claims, scope: tok.Scope}
}

// claim returns the claim name and whether the token has it.
func (in *input) claim(name string) (any, bool) {
	if in.view != nil && in.claims == nil {
		if in.view.Len() <= tokenview.ScanMembers {
			return in.view.Scan(name)
		}
		in.claims = in.view.Map() // once for the call's lookups
	}
	v, ok := in.claims[name]
	return v, ok
}

// claimMap returns every claim, for an expression.
func (in *input) claimMap() map[string]any {
	if in.view != nil {
		return in.view.Map()
	}
	return in.claims
}

// granted reports whether the token grants the scope name.
func (in *input) granted(name string) bool {
	if in.view == nil {
		return grants(in.scope, name)
	}
	for _, g := range in.grants {
		if grants(g, name) {
			return true
		}
	}
	return false
}

// check evaluates c, its alternatives last. With explain, a denial names
// the part that failed; building it is left until c is known to deny, so
// that explaining an allowed call allocates nothing either.
func (c *condition) check(in *input, vars Vars, explain bool) error {
	scope := in.scope
	if len(c.issuers) > 0 && !slices.Contains(c.issuers, in.issuer) {
		if !explain {
			return manager.ErrClaim
		}
		return fmt.Errorf("%w: issuer: not one of %s", manager.ErrClaim, namesText(c.issuers))
	}
	if len(c.audiences) > 0 {
		if aud, _ := in.claim("aud"); !namesAudience(aud, c.audiences) {
			if !explain {
				return manager.ErrClaim
			}
			return fmt.Errorf("%w: audience: names none of %s", manager.ErrClaim, namesText(c.audiences))
		}
	}
	w := walk{owner: -1}
	for i := range c.tests {
		if why := c.tests[i].why(in, vars, &w, i); why != "" {
			if !explain {
				return manager.ErrClaim
			}
			return fmt.Errorf("%w: %s: %s", manager.ErrClaim, c.tests[i].label, why)
		}
	}
	if c.scope != nil && !contains(scope, c.scope, 0) {
		if !explain {
			return manager.ErrScope
		}
		return fmt.Errorf("%w: scope %s: not contained in the scope claim", manager.ErrScope, compactJSON(c.scope))
	}
	for _, name := range c.scopes {
		if !in.granted(name) {
			if !explain {
				return manager.ErrScope
			}
			return fmt.Errorf("%w: scope %s: not granted", manager.ErrScope, formatName(name))
		}
	}
	if c.expr != nil {
		if err := evalExpr(c.expr, in, vars); err != nil {
			return err
		}
	}
	if len(c.anyOf) == 0 {
		return nil
	}
	for i := range c.anyOf {
		if c.anyOf[i].check(in, vars, false) == nil {
			return nil
		}
	}
	if !explain {
		return errNoAlternative
	}
	alts := make([]error, len(c.anyOf))
	for i := range c.anyOf {
		alts[i] = c.anyOf[i].check(in, vars, true)
	}
	return &noAlternativeError{alts: alts}
}

// namesAudience reports whether aud, a token's "aud" claim (a string, or a
// list of strings), names one of want. Elements that are not strings name
// nothing.
func namesAudience(aud any, want []string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(want, a)
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	case []string: // a Token built by other code
		for _, s := range a {
			if slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}

// namesText writes a rule's issuers or audiences for Decision.Err, the
// rule's literals: ["https://a.example","https://b.example"].
func namesText(names []string) string { return compactJSON(names) }

// noAlternativeError is an explained denial of an any_of: why each
// alternative failed. It wraps errNoAlternative.
type noAlternativeError struct{ alts []error }

// Error writes "protojwt: no alternative rule holds: any_of[0]: claim
// mismatch: ...; any_of[1]: ...", the package's prefix once.
func (e *noAlternativeError) Error() string {
	var b strings.Builder
	b.WriteString("protojwt: no alternative rule holds: ")
	for i, err := range e.alts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "any_of[%d]: %s", i, strings.TrimPrefix(err.Error(), "protojwt: "))
	}
	return b.String()
}

// Unwrap returns errNoAlternative, which wraps [manager.ErrClaim].
func (e *noAlternativeError) Unwrap() error { return errNoAlternative }

// evalExpr evaluates x for one call; one that reads the request holds for
// now when vars is Deferred.
func evalExpr(x protojwt.Expression, in *input, vars Vars) error {
	e := protojwt.ExpressionInput{Claims: in.claimMap()}
	if x.ReadsRequest() {
		if vars.deferred() {
			return nil
		}
		e.Request, e.Path = vars.request()
	}
	ok, err := x.Eval(e)
	switch {
	case err != nil:
		// The engine's words are for the decision hook's logs: adapters
		// answer clients with the reason's fixed text.
		return fmt.Errorf("%w: %w", ErrExpression, err)
	case !ok:
		return ErrExpressionFalse
	}
	return nil
}

// why returns "" when the claims satisfy the test, else why not (a
// constant). With Deferred vars, a test bound to a variable holds for now.
func (t *claimTest) why(in *input, vars Vars, w *walk, i int) string {
	var v Value
	if t.varIndex >= 0 {
		if vars.deferred() {
			return ""
		}
		var ok bool
		if v, ok = vars.Var(t.varIndex); !ok {
			return whyVarUnset
		}
	}
	claim, found := t.lookup(in, w, i)
	return t.test(t, claim, found, v)
}

// walk holds the objects that the last claim lookup of a condition passed
// through, so that a test whose path begins with the same names as the test
// before it (["org", "billing", "name"], then ["org", "billing", "tier"])
// starts where that one left off instead of looking the names up again.
type walk struct {
	owner int // the index of the test that filled objs; -1 for none
	depth int // objs[:depth] are the objects at path[:1], path[:2], ...
	objs  [maxShared]map[string]any
}

// maxShared bounds the names a test shares with the test before it.
const maxShared = 8

// lookup returns the claim at t.path, the names of nested objects, and
// whether it is there and not null. i is t's index in its condition.
func (t *claimTest) lookup(in *input, w *walk, i int) (any, bool) {
	var obj map[string]any // the object holding path[next]; nil for the claims
	next := 0
	if t.shared > 0 && w.owner == i-1 {
		if w.depth < t.shared {
			w.owner = i // the names t shares already led to no object
			return nil, false
		}
		obj, next = w.objs[t.shared-1], t.shared
	}
	w.owner, w.depth = i, next
	for ; ; next++ {
		var v any
		var ok bool
		if next == 0 {
			v, ok = in.claim(t.path[0])
		} else {
			v, ok = obj[t.path[next]]
		}
		if next == len(t.path)-1 {
			return v, ok && v != nil
		}
		if obj, ok = v.(map[string]any); !ok {
			return nil, false
		}
		if next < maxShared {
			w.objs[next] = obj
			w.depth = next + 1
		}
	}
}
