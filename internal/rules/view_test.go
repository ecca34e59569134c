package rules_test

import (
	"fmt"
	"maps"
	"reflect"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// claimsExpressions compiles any expression into one that holds when the
// claim its text names is the string "yes", and records the claims it was
// given.
type claimsExpressions struct{ seen *map[string]any }

func (e claimsExpressions) Compile(expr string, _ protoreflect.MessageDescriptor) (protojwt.Expression, error) {
	return claimsExpression{name: expr, seen: e.seen}, nil
}

type claimsExpression struct {
	name string
	seen *map[string]any
}

func (x claimsExpression) Eval(in protojwt.ExpressionInput) (bool, error) {
	*x.seen = in.Claims
	return in.Claims[x.name] == "yes", nil
}

func (claimsExpression) ReadsRequest() bool { return false }

// TestManagerTokenReadAsLiteral checks that a rule decides a Token a
// Manager built, whose private view it reads, as it decides a Token
// literal of the same claims, whose Claims it reads: for tokens whose
// claims are looked up by comparing names (eight claims or fewer) and in a
// map, for every part of
// a rule that reads claims, with Check, Explain and Trace. A handler that
// then changes the Manager's Token changes none of its decisions.
func TestManagerTokenReadAsLiteral(t *testing.T) {
	var seen map[string]any
	env := rules.Env{Expressions: claimsExpressions{&seen}}
	specs := map[string]rules.Spec{
		"claim":          {Claims: map[string]rules.Match{"role": {Value: "admin"}}},
		"nested":         {Checks: []rules.Check{{Path: []string{"org", "tier"}, Op: rules.OpEquals, Match: rules.Match{Value: "gold"}}}},
		"shared prefix":  {Checks: []rules.Check{{Path: []string{"org", "unit", "name"}, Op: rules.OpPresent, Present: true}, {Path: []string{"org", "unit", "id"}, Op: rules.OpIn, Values: []any{7.0}}}},
		"absent":         {Checks: []rules.Check{{Path: []string{"gone"}, Op: rules.OpPresent, Present: false}}},
		"null":           {Checks: []rules.Check{{Path: []string{"nothing"}, Op: rules.OpPresent, Present: true}}},
		"audience":       {Audiences: []string{"api"}},
		"issuer":         {Issuers: []string{"https://idp.test"}},
		"scope":          {Scopes: []string{"read"}},
		"scope value":    {Scope: map[string]any{"projects": []any{"a"}}},
		"expression":     {Expr: "flag"},
		"any of":         {AnyOf: []rules.Spec{{Claims: map[string]rules.Match{"role": {Value: "nobody"}}}, {Checks: []rules.Check{{Path: []string{"org", "tier"}, Op: rules.OpPrefix, Text: "go"}}}}},
		"require cnf":    {RequireBinding: true},
		"claim and more": {Claims: map[string]rules.Match{"role": {Value: "admin"}, "c3": {Value: 3.0}}, Checks: []rules.Check{{Path: []string{"org", "tier"}, Op: rules.OpSuffix, Text: "ld"}}},
	}
	compiled := map[string]*rules.Rule{}
	for name, s := range specs {
		r, err := rules.CompileEnv(s, env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		compiled[name] = r
	}
	for _, extra := range []int{0, 1, 30} {
		for _, variant := range []string{"holds", "differs"} {
			claims := map[string]any{
				"iss": "https://idp.test", "role": "admin", "aud": []any{"web", "api"}, "scope": "read write", "flag": "yes", "nothing": nil,
				"org": map[string]any{"tier": "gold", "unit": map[string]any{"name": "ops", "id": 7.0}},
				"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
			}
			if variant == "differs" {
				claims["role"], claims["flag"], claims["aud"], claims["scope"] = "viewer", "no", "web", map[string]any{"projects": []any{"a"}}
				claims["org"] = map[string]any{"tier": "silver", "unit": map[string]any{"id": 8.0}}
				delete(claims, "cnf")
			}
			for i := range extra {
				claims[fmt.Sprintf("c%d", i)] = float64(i)
			}
			t.Run(fmt.Sprintf("%d claims/%s", len(claims), variant), func(t *testing.T) {
				built, err := manager.NewToken(maps.Clone(claims), manager.Auth)
				if err != nil {
					t.Fatal(err)
				}
				literal := &manager.Token{Type: manager.Auth, Issuer: "https://idp.test", Claims: claims, Scope: claims["scope"]}
				decisions := func(tok *manager.Token) map[string]string {
					out := map[string]string{}
					for name, r := range compiled {
						seen = nil
						steps, traced := r.Trace(tok, rules.Vars{})
						out[name] = fmt.Sprintf("check %v; explain %v; trace %v %+v", r.Check(tok, rules.Vars{}), r.Explain(tok, rules.Vars{}), traced, steps)
						if name == "expression" && !reflect.DeepEqual(seen, claims) {
							t.Errorf("the expression was given %v, want %v", seen, claims)
						}
					}
					return out
				}
				want := decisions(literal)
				if got := decisions(built); !reflect.DeepEqual(got, want) {
					t.Fatalf("Manager's token:\n%v\nliteral:\n%v", got, want)
				}
				// A handler of the Manager's token.
				built.Claims["role"], built.Claims["flag"] = "root", "no"
				built.Claims["org"].(map[string]any)["tier"] = "platinum"
				delete(built.Claims, "cnf")
				built.Claims["gone"] = true
				if got := decisions(built); !reflect.DeepEqual(got, want) {
					t.Fatalf("after the handler changed its Token:\n%v\nwant:\n%v", got, want)
				}
			})
		}
	}
}
