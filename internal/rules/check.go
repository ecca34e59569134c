package rules

import (
	"fmt"
	"strings"

	"github.com/protojwt/protojwt"
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
)

// Check decides a call: the rule, in DESIGN order, against tok, the
// verified token, or nil when the call sent none, and the request
// variables. It is the one place that decides what no token means: a public
// rule or one that allows a missing token lets it through, any other is
// denied with manager.ErrNoToken. Verifying the token is the adapter's: tok
// must come from a manager.Verifier.
//
// Deferred vars defer what reads the request (claims bound to request
// variables, an expression that reads the request), as at the start of a
// stream; it is then checked per message. The zero Vars have every
// variable absent, so a claim bound to one never holds. The error wraps one
// of manager's sentinels (see Classify). Check allocates nothing but what
// an expression does.
func (r *Rule) Check(tok *manager.Token, vars Vars) error {
	if r.public {
		return nil
	}
	if tok == nil {
		if r.allowMissing {
			return nil
		}
		return manager.ErrNoToken
	}
	// Decisions read what the Manager decoded, in memory no handler can
	// reach: a handler that modifies its (shared, cached) Token changes no
	// later decision. A Token built elsewhere is read as it is.
	in := input{typ: string(tok.Type), claims: tok.Claims, scope: tok.Scope}
	if v := tokenview.Of(tok); v != nil {
		in = input{typ: v.Type, claims: v.Claims, scope: v.Scope, grants: v.Grants, manager: true}
	}
	if manager.TokenType(in.typ) != r.tokenType {
		return manager.ErrTokenType
	}
	return r.cond.check(&in, vars)
}

// input is what a rule reads of a verified token.
type input struct {
	typ    string
	claims map[string]any
	scope  any // the "scope" claim, for the scope rule
	// grants are the values of the Manager's scope claims
	// (Config.ScopeClaims); a Token no Manager built has its scope alone.
	grants  []any
	manager bool
}

// granted reports whether the token grants the scope name.
func (in *input) granted(name string) bool {
	if !in.manager {
		return grants(in.scope, name)
	}
	for _, g := range in.grants {
		if grants(g, name) {
			return true
		}
	}
	return false
}

// check evaluates c, its alternatives last.
func (c *condition) check(in *input, vars Vars) error {
	claims, scope := in.claims, in.scope
	w := walk{owner: -1}
	for i := range c.tests {
		if !c.tests[i].holds(claims, vars, &w, i) {
			return manager.ErrClaim
		}
	}
	if c.scope != nil && !contains(scope, c.scope, 0) {
		return manager.ErrScope
	}
	for _, name := range c.scopes {
		if !in.granted(name) {
			return manager.ErrScope
		}
	}
	if c.expr != nil {
		if err := evalExpr(c.expr, claims, vars); err != nil {
			return err
		}
	}
	if len(c.anyOf) == 0 {
		return nil
	}
	for i := range c.anyOf {
		if c.anyOf[i].check(in, vars) == nil {
			return nil
		}
	}
	return errNoAlternative
}

// evalExpr evaluates x for one call; one that reads the request holds for
// now when vars is Deferred.
func evalExpr(x protojwt.Expression, claims map[string]any, vars Vars) error {
	in := protojwt.ExpressionInput{Claims: claims}
	if x.ReadsRequest() {
		if vars.deferred() {
			return nil
		}
		in.Request, in.Path = vars.request()
	}
	ok, err := x.Eval(in)
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

// holds reports whether the claims satisfy the test. With Deferred vars, a
// test bound to a variable holds for now.
func (t *claimTest) holds(claims map[string]any, vars Vars, w *walk, i int) bool {
	var v Value
	if t.varIndex >= 0 {
		if vars.deferred() {
			return true
		}
		var ok bool
		if v, ok = vars.Var(t.varIndex); !ok {
			return false
		}
	}
	claim, found := t.lookup(claims, w, i)
	if t.op == OpPresent {
		return found == t.present
	}
	if !found {
		return false
	}
	switch t.op {
	case OpEquals:
		if t.varIndex >= 0 {
			return equalsVar(claim, v)
		}
		return jsonEqual(claim, t.literal)
	case OpContains:
		list, ok := claim.([]any)
		if !ok {
			return false
		}
		for _, e := range list {
			if t.varIndex >= 0 && equalsVar(e, v) || t.varIndex < 0 && jsonEqual(e, t.literal) {
				return true
			}
		}
	case OpIn:
		for _, want := range t.set {
			if jsonEqual(claim, want) {
				return true
			}
		}
	case OpPrefix:
		s, ok := claim.(string)
		return ok && strings.HasPrefix(s, t.text)
	case OpSuffix:
		s, ok := claim.(string)
		return ok && strings.HasSuffix(s, t.text)
	case OpIncludes:
		return contains(claim, t.literal, 0)
	}
	return false
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
func (t *claimTest) lookup(claims map[string]any, w *walk, i int) (any, bool) {
	obj, next := claims, 0
	if t.shared > 0 && w.owner == i-1 {
		if w.depth < t.shared {
			w.owner = i // the names t shares already led to no object
			return nil, false
		}
		obj, next = w.objs[t.shared-1], t.shared
	}
	w.owner, w.depth = i, next
	last := len(t.path) - 1
	for ; next < last; next++ {
		m, ok := obj[t.path[next]].(map[string]any)
		if !ok {
			return nil, false
		}
		if next < maxShared {
			w.objs[next] = m
			w.depth = next + 1
		}
		obj = m
	}
	v, ok := obj[t.path[last]]
	return v, ok && v != nil
}
