package httpauth

import (
	"fmt"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// Requirement is one condition a route puts on the caller's token. Require
// and Compile combine a route's requirements into one rule, which holds when
// every requirement does; with none, a route needs a valid auth token. Build
// requirements with the functions of this package: the zero Requirement is
// invalid.
type Requirement struct {
	add func(*builder) error
}

// builder combines requirements into the [rules.Spec] of a route, or of one
// alternative of [AnyOf].
type builder struct {
	spec    rules.Spec
	nested  bool              // inside AnyOf
	proto   *annotations.Rule // set by FromRule
	isProto bool
}

// compile combines the requirements of a route into one compiled rule.
func compile(reqs []Requirement, env rules.Env) (*rules.Rule, error) {
	b, err := build(reqs, false)
	if err != nil {
		return nil, err
	}
	if b.isProto {
		return rules.FromProtoEnv(b.proto, env)
	}
	return rules.CompileEnv(b.spec, env)
}

// build applies reqs to a new builder. The rule engine checks what it can
// (public with other requirements, claim values, scope names, nesting);
// build refuses what a Spec can't express or would silently drop.
func build(reqs []Requirement, nested bool) (*builder, error) {
	b := &builder{nested: nested}
	for i, req := range reqs {
		if req.add == nil {
			return nil, fmt.Errorf("%w: requirement %d is the zero Requirement", protojwt.ErrInvalidRule, i)
		}
		if err := req.add(b); err != nil {
			return nil, err
		}
	}
	if b.isProto && (len(reqs) > 1 || nested) {
		// A proto rule is compiled whole by the engine; it can't be merged
		// into another rule.
		return nil, fmt.Errorf("%w: FromRule must be the only requirement of a route", protojwt.ErrInvalidRule)
	}
	return b, nil
}

// Public lets a route be called with no token. A token sent anyway is not
// read, so a bad one is no reason to refuse, and the handler finds no token
// in its context. Public can't be combined with other requirements, nor be
// an alternative of [AnyOf].
func Public() Requirement {
	return Requirement{func(b *builder) error {
		b.spec.Public = true
		return nil
	}}
}

// RequireBinding requires a sender-constrained token: one whose cnf claim
// binds it to a DPoP key or a client certificate, whose proof the guard
// checks (see [WithDPoP]). A bearer token is refused with 401 and reason
// PROOF_MISSING. It can't be an alternative of [AnyOf].
func RequireBinding() Requirement {
	return Requirement{func(b *builder) error {
		b.spec.RequireBinding = true
		return nil
	}}
}

// TokenType requires a token of type t, [manager.Auth] or [manager.Refresh]:
// another type is refused with 401 and reason TOKEN_TYPE. Without it a route
// requires an auth token, so a refresh token is accepted only where
// TokenType([manager.Refresh]) is required. It can't be an alternative of
// [AnyOf], and two different types are invalid.
func TokenType(t manager.TokenType) Requirement {
	return Requirement{func(b *builder) error {
		if b.spec.TokenType != "" && b.spec.TokenType != t {
			return fmt.Errorf("%w: token types %q and %q both required", protojwt.ErrInvalidRule, b.spec.TokenType, t)
		}
		if t == "" {
			return fmt.Errorf("%w: TokenType of an empty type", protojwt.ErrInvalidRule)
		}
		b.spec.TokenType = t
		return nil
	}}
}

// Claim requires the token's claim name to equal want, any value that
// encodes to JSON: a string, a number (compared by value, so 42 equals
// 42.0), a bool, or a slice or map compared as JSON. A token without the
// claim, or with another value, is refused with 403 and reason
// CLAIM_MISMATCH. A nil want is invalid, and so is a second requirement on
// the same claim.
func Claim(name string, want any) Requirement {
	return Requirement{func(b *builder) error {
		return b.claim(name, rules.Match{Value: want})
	}}
}

// ClaimFromPath requires the token's claim name to equal the path wildcard
// of the request, r.PathValue(wildcard) unless [WithPathValue] says otherwise:
// with the pattern "GET /users/{username}", ClaimFromPath("sub", "username")
// lets only the token of alice read /users/alice. A path value is a string;
// it also equals a number or bool claim whose JSON text it is, as "42"
// equals the claim 42. A missing claim, or an empty or absent wildcard,
// never matches (403, CLAIM_MISMATCH). An empty wildcard name is invalid,
// and so is a second requirement on the same claim.
func ClaimFromPath(name, wildcard string) Requirement {
	return Requirement{func(b *builder) error {
		if wildcard == "" {
			return fmt.Errorf("%w: ClaimFromPath(%q) names no wildcard", protojwt.ErrInvalidRule, name)
		}
		return b.claim(name, rules.Match{Var: wildcard})
	}}
}

func (b *builder) claim(name string, m rules.Match) error {
	if _, ok := b.spec.Claims[name]; ok {
		return fmt.Errorf("%w: claim %q required twice", protojwt.ErrInvalidRule, name)
	}
	if b.spec.Claims == nil {
		b.spec.Claims = make(map[string]rules.Match)
	}
	b.spec.Claims[name] = m
	return nil
}

// Scope requires want to be contained in the token's "scope" claim: every
// key of want present in the scope object, with a value that contains
// want's (objects by key, recursively; arrays as every required element
// present; other values by equality). Scope(map[string]any{"admin": true})
// accepts a token with the scope {"admin": true, "team": "ops"}. A scope
// that does not contain want is refused with 403 and reason SCOPE_MISSING.
// An empty want is invalid, and so is a second Scope: put every key in one
// map.
func Scope(want map[string]any) Requirement {
	return Requirement{func(b *builder) error {
		if len(want) == 0 {
			return fmt.Errorf("%w: Scope of an empty map", protojwt.ErrInvalidRule)
		}
		if b.spec.Scope != nil {
			return fmt.Errorf("%w: Scope required twice; put every key in one map", protojwt.ErrInvalidRule)
		}
		b.spec.Scope = want
		return nil
	}}
}

// Scopes requires OAuth-style scope names, all of them, in the token's
// "scope" claim read as a space-separated string ("read write"), an array
// of strings, or an object whose keys have a truthy value. A missing name is
// refused with 403 and reason SCOPE_MISSING. No names, an empty name or a
// name with spaces is invalid. Several Scopes add up.
func Scopes(names ...string) Requirement {
	return Requirement{func(b *builder) error {
		if len(names) == 0 {
			return fmt.Errorf("%w: Scopes of no names", protojwt.ErrInvalidRule)
		}
		b.spec.Scopes = append(b.spec.Scopes, names...)
		return nil
	}}
}

// Issuers requires the token's "iss" claim to be one of issuers, compared
// whole: an admin route that takes only the workforce provider's tokens,
// among the issuers the Guard's Verifier trusts. It is checked after the
// token type and before claims; another issuer is refused with 403 and
// reason CLAIM_MISMATCH. No issuers, an empty issuer and a second Issuers
// in the same list are invalid. Issuers may be an alternative, or part of
// one, of [AnyOf].
func Issuers(issuers ...string) Requirement {
	return Requirement{func(b *builder) error {
		if len(issuers) == 0 {
			return fmt.Errorf("%w: Issuers of no issuers", protojwt.ErrInvalidRule)
		}
		if b.spec.Issuers != nil {
			return fmt.Errorf("%w: Issuers required twice; put every issuer in one Issuers", protojwt.ErrInvalidRule)
		}
		b.spec.Issuers = issuers
		return nil
	}}
}

// Audiences requires the token's "aud" claim, a string or a list of
// strings, to name one of audiences: an internal route that takes only
// tokens minted for it. It is checked after Issuers and before claims; a
// token for none of them is refused with 403 and reason CLAIM_MISMATCH. No
// audiences, an empty audience and a second Audiences in the same list are
// invalid. Audiences may be an alternative, or part of one, of [AnyOf].
func Audiences(audiences ...string) Requirement {
	return Requirement{func(b *builder) error {
		if len(audiences) == 0 {
			return fmt.Errorf("%w: Audiences of no audiences", protojwt.ErrInvalidRule)
		}
		if b.spec.Audiences != nil {
			return fmt.Errorf("%w: Audiences required twice; put every audience in one Audiences", protojwt.ErrInvalidRule)
		}
		b.spec.Audiences = audiences
		return nil
	}}
}

// Expr requires expr, an expression over the token's claims and the
// route's path wildcards, to be true: the expr of a rule, in Go. It is
// compiled when the route is, by the Guard's [WithExpressions] engine (CEL
// with WithExpressions(celexpr.New())), and checked after the route's
// claims, checks and scopes:
//
//	guard.Handle(mux, "POST /orgs/{org}/invoices", h,
//		httpauth.Scopes("invoices:write"),
//		httpauth.Expr("path.org == claims.org || 'billing-admin' in claims.roles"))
//
// A false expression is refused with 403 and reason EXPRESSION_FALSE, one
// that can't be evaluated (a missing claim, the cost limit) with 403 and
// EXPRESSION_ERROR. An empty expr, an Expr on a Guard without
// [WithExpressions] and a second Expr in the same list are invalid: join
// expressions with &&. Expr may be an alternative, or part of one, of [AnyOf].
func Expr(expr string) Requirement {
	return Requirement{func(b *builder) error {
		if expr == "" {
			return fmt.Errorf("%w: Expr of an empty expression", protojwt.ErrInvalidRule)
		}
		if b.spec.Expr != "" {
			return fmt.Errorf("%w: Expr required twice; join the expressions with &&", protojwt.ErrInvalidRule)
		}
		b.spec.Expr = expr
		return nil
	}}
}

// AnyOf requires at least one of the alternatives to hold, besides the
// route's other requirements; each alternative is a list of requirements
// that must all hold. When none does, the request is refused with 403 and
// reason NO_ALTERNATIVE. An alternative may hold claims, checks, scopes,
// Issuers, Audiences, Expr and a nested [AnyOf], but neither Public, [TokenType] nor [FromRule]. No
// alternatives, an empty alternative (which would always hold) and a
// second [AnyOf] on the same list are invalid: put every alternative in one
// [AnyOf].
func AnyOf(alternatives ...[]Requirement) Requirement {
	return Requirement{func(b *builder) error {
		if len(alternatives) == 0 {
			return fmt.Errorf("%w: AnyOf of no alternatives", protojwt.ErrInvalidRule)
		}
		if b.spec.AnyOf != nil {
			return fmt.Errorf("%w: AnyOf required twice; put every alternative in one AnyOf", protojwt.ErrInvalidRule)
		}
		specs := make([]rules.Spec, 0, len(alternatives))
		for i, alt := range alternatives {
			if len(alt) == 0 {
				return fmt.Errorf("%w: AnyOf alternative %d is empty", protojwt.ErrInvalidRule, i)
			}
			ab, err := build(alt, true)
			if err != nil {
				return fmt.Errorf("AnyOf alternative %d: %w", i, err)
			}
			specs = append(specs, ab.spec)
		}
		b.spec.AnyOf = specs
		return nil
	}}
}

// FromRule requires what a rule declared in a .proto file requires, the
// message of a (protojwt.v1.rule) option, so that an HTTP route and its gRPC
// twin share one declaration: issuers, audiences, claims, checks (as Check
// makes them), allow_missing (as [AllowMissing]), scope, scopes, expr and
// any_of. A
// Match.field, of a claim or of an equals or contains check, names a path
// wildcard, read as [ClaimFromPath] reads it. [FromRule] must be a route's only
// requirement; a nil rule is invalid.
func FromRule(r *annotations.Rule) Requirement {
	return Requirement{func(b *builder) error {
		if r == nil {
			return fmt.Errorf("%w: FromRule of a nil rule", protojwt.ErrInvalidRule)
		}
		b.proto, b.isProto = r, true
		return nil
	}}
}
