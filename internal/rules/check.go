package rules

import (
	"context"
	"fmt"

	"github.com/protojwt/protojwt/manager"
)

// Denials that are not a manager sentinel alone. They are fixed values, so a
// refusal costs no allocation.
var (
	errNoAlternative = fmt.Errorf("protojwt: no alternative rule holds: %w", manager.ErrClaim)
)

// Authorize decides a call: the rule, in DESIGN order, against the raw token
// (verified with m unless the rule is public) and the request variables.
// vars == Deferred defers the claims bound to request variables, as at the
// start of a stream; they are then checked per message with Check. nil vars
// have every variable absent, so a claim bound to one never holds.
//
// A public rule returns (nil, nil) without looking at raw. Otherwise it
// returns the verified token, and a non-nil error when the call is denied:
// the error wraps one of manager's sentinels (see Reason and Denied). The
// token is returned with an authorization error too, for logging.
func (r *Rule) Authorize(ctx context.Context, m *manager.Manager, raw string, vars Vars) (*manager.Token, error) {
	if r.public {
		return nil, nil
	}
	if raw == "" {
		return nil, manager.ErrNoToken
	}
	tok, err := m.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	return tok, r.Check(tok, vars)
}

// Check runs the rule's steps after verification (token type, claims, scope,
// scopes, any_of) against an already verified token. It allocates nothing.
func (r *Rule) Check(tok *manager.Token, vars Vars) error {
	if r.public {
		return nil
	}
	if tok == nil {
		return manager.ErrNoToken
	}
	if tok.Type != r.tokenType {
		return manager.ErrTokenType
	}
	return r.cond.check(tok, vars)
}

// check evaluates c, its alternatives last.
func (c *condition) check(tok *manager.Token, vars Vars) error {
	for i := range c.claims {
		if !c.claims[i].holds(tok, vars) {
			return manager.ErrClaim
		}
	}
	if c.scope != nil && !contains(tok.Scope, c.scope, 0) {
		return manager.ErrScope
	}
	for _, name := range c.scopes {
		if !grants(tok.Scope, name) {
			return manager.ErrScope
		}
	}
	if len(c.anyOf) == 0 {
		return nil
	}
	for i := range c.anyOf {
		if c.anyOf[i].check(tok, vars) == nil {
			return nil
		}
	}
	return errNoAlternative
}

// holds reports whether the token's claim satisfies the check. With
// Deferred vars, a claim bound to a variable holds for now.
func (cc *claimCheck) holds(tok *manager.Token, vars Vars) bool {
	if cc.varIndex >= 0 {
		if vars == Deferred {
			return true
		}
		if vars == nil {
			return false
		}
	}
	claim, ok := tok.Claims[cc.name]
	if !ok || claim == nil {
		return false
	}
	if cc.varIndex < 0 {
		return jsonEqual(claim, cc.literal)
	}
	v, ok := vars.Var(cc.varIndex)
	if !ok {
		return false
	}
	return equalsVar(claim, v)
}
