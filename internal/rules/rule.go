package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/manager"
)

// Limits on what a rule may hold, so that compiling and evaluating one is
// bounded whatever its source.
const (
	maxScopeDepth = 32 // nesting of a required scope value
	maxAnyOfDepth = 8  // nesting of any_of alternatives
)

// ErrInvalidRule means a rule can't be compiled; the message says why.
var ErrInvalidRule = errors.New("protojwt: invalid rule")

// Spec is a rule in Go form, as the HTTP guard's requirements build it.
type Spec struct {
	// Public needs no token; nothing else may be set with it.
	Public bool
	// TokenType is the required token type; "" means manager.Auth.
	TokenType manager.TokenType
	// Claims maps a claim name to what it must equal.
	Claims map[string]Match
	// Scope must be contained in the token's scope claim; nil for none. It
	// is any value that encodes to JSON.
	Scope any
	// Scopes are OAuth-style scope names that must all be granted.
	Scopes []string
	// AnyOf, when not empty, needs one alternative to hold as well. An
	// alternative may not set Public or TokenType.
	AnyOf []Spec
}

// Match is what a claim must equal: the request variable Var when it is not
// "", else the literal Value (any value that encodes to JSON).
type Match struct {
	Var   string
	Value any
}

// Rule is a compiled rule. It is immutable and safe for concurrent use.
type Rule struct {
	public    bool
	tokenType manager.TokenType
	cond      condition
	vars      []string
	boundVars bool
}

// condition is the part of a rule checked against a verified token: claims,
// scope, scopes and alternatives. Alternatives are conditions too.
type condition struct {
	claims []claimCheck
	scope  any // normalized JSON; nil for none
	scopes []string
	anyOf  []condition
}

// claimCheck is one claim requirement: equal to literal, or to the request
// variable numbered varIndex when varIndex >= 0.
type claimCheck struct {
	name     string
	literal  any
	varIndex int
}

// Compile checks s and compiles it into a Rule.
func Compile(s Spec) (*Rule, error) {
	r := &Rule{public: s.Public, tokenType: s.TokenType}
	if s.Public {
		if s.TokenType != "" || len(s.Claims) > 0 || s.Scope != nil || len(s.Scopes) > 0 || len(s.AnyOf) > 0 {
			return nil, fmt.Errorf("%w: a public rule can't have other requirements", ErrInvalidRule)
		}
		return r, nil
	}
	switch s.TokenType {
	case "":
		r.tokenType = manager.Auth
	case manager.Auth, manager.Refresh:
	default:
		return nil, fmt.Errorf("%w: unknown token type %q", ErrInvalidRule, s.TokenType)
	}
	c, err := r.compileCondition(s, 0)
	if err != nil {
		return nil, err
	}
	r.cond = c
	return r, nil
}

func (r *Rule) compileCondition(s Spec, depth int) (condition, error) {
	var c condition
	names := make([]string, 0, len(s.Claims))
	for name := range s.Claims {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		check, err := r.compileClaim(name, s.Claims[name])
		if err != nil {
			return c, err
		}
		c.claims = append(c.claims, check)
	}
	if s.Scope != nil {
		scope, err := normalize(s.Scope)
		if err != nil {
			return c, fmt.Errorf("%w: scope: %v", ErrInvalidRule, err)
		}
		if scope == nil {
			return c, fmt.Errorf("%w: scope is null", ErrInvalidRule)
		}
		if jsonDepth(scope) > maxScopeDepth {
			return c, fmt.Errorf("%w: scope nested deeper than %d", ErrInvalidRule, maxScopeDepth)
		}
		c.scope = scope
	}
	for _, name := range s.Scopes {
		if name == "" || strings.ContainsAny(name, " \t\r\n") {
			return c, fmt.Errorf("%w: scope name %q is empty or has spaces", ErrInvalidRule, name)
		}
	}
	c.scopes = append([]string(nil), s.Scopes...)
	if len(s.AnyOf) > 0 && depth >= maxAnyOfDepth {
		return c, fmt.Errorf("%w: any_of nested deeper than %d", ErrInvalidRule, maxAnyOfDepth)
	}
	for i, alt := range s.AnyOf {
		if alt.Public || alt.TokenType != "" {
			return c, fmt.Errorf("%w: any_of[%d]: an alternative can't set public or token type", ErrInvalidRule, i)
		}
		if len(alt.Claims) == 0 && alt.Scope == nil && len(alt.Scopes) == 0 && len(alt.AnyOf) == 0 {
			return c, fmt.Errorf("%w: any_of[%d]: an empty alternative would always hold", ErrInvalidRule, i)
		}
		ac, err := r.compileCondition(alt, depth+1)
		if err != nil {
			return c, fmt.Errorf("any_of[%d]: %w", i, err)
		}
		c.anyOf = append(c.anyOf, ac)
	}
	return c, nil
}

func (r *Rule) compileClaim(name string, m Match) (claimCheck, error) {
	if name == "" {
		return claimCheck{}, fmt.Errorf("%w: empty claim name", ErrInvalidRule)
	}
	if m.Var != "" {
		if m.Value != nil {
			return claimCheck{}, fmt.Errorf("%w: claim %q has both a variable and a literal", ErrInvalidRule, name)
		}
		r.boundVars = true
		return claimCheck{name: name, varIndex: r.varIndex(m.Var)}, nil
	}
	if m.Value == nil {
		return claimCheck{}, fmt.Errorf("%w: claim %q has no value to match", ErrInvalidRule, name)
	}
	v, err := normalize(m.Value)
	if err != nil {
		return claimCheck{}, fmt.Errorf("%w: claim %q: %v", ErrInvalidRule, name, err)
	}
	if v == nil {
		return claimCheck{}, fmt.Errorf("%w: claim %q must equal null, which no claim does", ErrInvalidRule, name)
	}
	if jsonDepth(v) > maxScopeDepth {
		return claimCheck{}, fmt.Errorf("%w: claim %q nested deeper than %d", ErrInvalidRule, name, maxScopeDepth)
	}
	return claimCheck{name: name, literal: v, varIndex: -1}, nil
}

// varIndex returns the index of the variable name, adding it when new.
func (r *Rule) varIndex(name string) int {
	for i, v := range r.vars {
		if v == name {
			return i
		}
	}
	r.vars = append(r.vars, name)
	return len(r.vars) - 1
}

// normalize returns v as decoded JSON (numbers float64, objects
// map[string]any, arrays []any), the form verified claims have.
func normalize(v any) (any, error) {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, errors.New("not a finite number")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errors.New("not encodable as JSON")
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, errors.New("not encodable as JSON")
	}
	return out, nil
}

// Public reports whether the rule needs no token.
func (r *Rule) Public() bool { return r.public }

// TokenType is the token type the rule requires ("" for a public rule).
func (r *Rule) TokenType() manager.TokenType { return r.tokenType }

// Vars returns the names of the request variables the rule compares claims
// with, in the order Vars.Var indexes them. The caller must not modify it.
func (r *Rule) Vars() []string { return r.vars }

// BindsVars reports whether some claim must equal a request variable, so
// that every request message must be checked, not only the call's start.
func (r *Rule) BindsVars() bool { return r.boundVars }

// FromProto compiles a rule declared as a (protojwt.v1.rule) or
// (protojwt.v1.default_rule) option. A nil rule is an error.
func FromProto(p *annotations.Rule) (*Rule, error) {
	s, err := specFromProto(p, 0)
	if err != nil {
		return nil, err
	}
	return Compile(s)
}

func specFromProto(p *annotations.Rule, depth int) (Spec, error) {
	if p == nil {
		return Spec{}, fmt.Errorf("%w: nil rule", ErrInvalidRule)
	}
	if depth > maxAnyOfDepth {
		return Spec{}, fmt.Errorf("%w: any_of nested deeper than %d", ErrInvalidRule, maxAnyOfDepth)
	}
	s := Spec{Public: p.GetPublic(), Scopes: p.GetScopes()}
	switch p.GetTokenType() {
	case annotations.TokenType_TOKEN_TYPE_UNSPECIFIED:
	case annotations.TokenType_TOKEN_TYPE_AUTH:
		s.TokenType = manager.Auth
	case annotations.TokenType_TOKEN_TYPE_REFRESH:
		s.TokenType = manager.Refresh
	default:
		return Spec{}, fmt.Errorf("%w: unknown token_type %d", ErrInvalidRule, p.GetTokenType())
	}
	if len(p.GetClaims()) > 0 {
		s.Claims = make(map[string]Match, len(p.GetClaims()))
		for name, m := range p.GetClaims() {
			switch k := m.GetKind().(type) {
			case *annotations.Match_Field:
				if k.Field == "" {
					return Spec{}, fmt.Errorf("%w: claim %q names an empty field", ErrInvalidRule, name)
				}
				s.Claims[name] = Match{Var: k.Field}
			case *annotations.Match_StringValue:
				s.Claims[name] = Match{Value: k.StringValue}
			case *annotations.Match_NumberValue:
				s.Claims[name] = Match{Value: k.NumberValue}
			case *annotations.Match_BoolValue:
				s.Claims[name] = Match{Value: k.BoolValue}
			default:
				return Spec{}, fmt.Errorf("%w: claim %q has no value to match", ErrInvalidRule, name)
			}
		}
	}
	if p.GetScope() != nil {
		s.Scope = p.GetScope().AsMap()
	}
	for i, alt := range p.GetAnyOf() {
		as, err := specFromProto(alt, depth+1)
		if err != nil {
			return Spec{}, fmt.Errorf("any_of[%d]: %w", i, err)
		}
		s.AnyOf = append(s.AnyOf, as)
	}
	return s, nil
}
