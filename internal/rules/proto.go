package rules

import (
	"fmt"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/manager"
)

// FromProto compiles a rule declared as a (protojwt.v1.rule) or
// (protojwt.v1.default_rule) option, with no expression engine. A nil rule
// is an error.
func FromProto(p *annotations.Rule) (*Rule, error) { return FromProtoEnv(p, Env{}) }

// FromProtoEnv compiles a rule declared as an option in env.
func FromProtoEnv(p *annotations.Rule, env Env) (*Rule, error) {
	s, err := specFromProto(p, 0)
	if err != nil {
		return nil, err
	}
	return CompileEnv(s, env)
}

// specFromProto returns the Spec of a rule option, refusing what a Spec
// can't hold (an unknown token type, a match or check with no value).
func specFromProto(p *annotations.Rule, depth int) (Spec, error) {
	if p == nil {
		return Spec{}, fmt.Errorf("%w: nil rule", ErrInvalidRule)
	}
	if depth > maxAnyOfDepth {
		return Spec{}, fmt.Errorf("%w: any_of nested deeper than %d", ErrInvalidRule, maxAnyOfDepth)
	}
	s := Spec{Public: p.GetPublic(), AllowMissing: p.GetAllowMissing(), Scopes: p.GetScopes(), Expr: p.GetExpr(),
		RequireBinding: p.GetRequireBinding()}
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
			match, err := matchFromProto(m)
			if err != nil {
				return Spec{}, fmt.Errorf("%w: claim %q: %v", ErrInvalidRule, name, err)
			}
			s.Claims[name] = match
		}
	}
	for i, c := range p.GetCheck() {
		check, err := checkFromProto(c)
		if err != nil {
			return Spec{}, fmt.Errorf("%w: check[%d]: %v", ErrInvalidRule, i, err)
		}
		s.Checks = append(s.Checks, check)
	}
	if p.GetScope() != nil {
		s.Scope = p.GetScope().AsMap()
	}
	for i, alt := range p.GetAnyOf() {
		as, err := specFromProto(alt, depth+1)
		if err != nil {
			return Spec{}, within(fmt.Sprintf("any_of[%d]", i), err)
		}
		s.AnyOf = append(s.AnyOf, as)
	}
	return s, nil
}

// errNoValue is a Match or test with nothing to compare with.
var errNoValue = fmt.Errorf("no value to match")

func matchFromProto(m *annotations.Match) (Match, error) {
	switch k := m.GetKind().(type) {
	case *annotations.Match_Field:
		if k.Field == "" {
			return Match{}, fmt.Errorf("an empty field name")
		}
		return Match{Var: k.Field}, nil
	case *annotations.Match_StringValue:
		return Match{Value: k.StringValue}, nil
	case *annotations.Match_NumberValue:
		return Match{Value: k.NumberValue}, nil
	case *annotations.Match_BoolValue:
		return Match{Value: k.BoolValue}, nil
	}
	return Match{}, errNoValue
}

// checkFromProto returns the Check of a ClaimCheck: its test read by the
// operator of the oneof field that is set. Op is 0 when none is.
func checkFromProto(c *annotations.ClaimCheck) (Check, error) {
	ch := Check{Path: c.GetClaim()}
	m := c.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("test"))
	if fd == nil {
		return ch, fmt.Errorf("no test: set one of %s", operatorNames())
	}
	op, ok := operatorNamed(string(fd.Name()))
	if !ok {
		return ch, fmt.Errorf("test %s is not known", fd.Name())
	}
	ch.Op = op
	return ch, operators[op].fromProto(c, &ch)
}
