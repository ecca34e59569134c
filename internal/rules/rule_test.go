package rules_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// nestedAnyOf returns a spec whose any_of alternatives nest depth deep.
func nestedAnyOf(depth int) rules.Spec {
	s := rules.Spec{Scopes: []string{"leaf"}}
	for range depth {
		s = rules.Spec{AnyOf: []rules.Spec{s}}
	}
	return s
}

func nestedAnyOfProto(depth int) *annotations.Rule {
	r := &annotations.Rule{Scopes: []string{"leaf"}}
	for range depth {
		r = &annotations.Rule{AnyOf: []*annotations.Rule{r}}
	}
	return r
}

// nestedScope returns {"a": {"a": ... true}} nested depth deep.
func nestedScope(depth int) any {
	var v any = true
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

// TestCompileErrors checks that every inconsistent rule is refused with
// ErrInvalidRule and a message that says why.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name     string
		spec     rules.Spec
		wantText string
	}{
		{name: "public with token type", spec: rules.Spec{Public: true, TokenType: manager.Auth}, wantText: "public"},
		{name: "public with claims", spec: rules.Spec{Public: true, Claims: map[string]rules.Match{"a": {Value: 1}}}, wantText: "public"},
		{name: "public with scope", spec: rules.Spec{Public: true, Scope: map[string]any{}}, wantText: "public"},
		{name: "public with scopes", spec: rules.Spec{Public: true, Scopes: []string{"read"}}, wantText: "public"},
		{name: "public with any_of", spec: rules.Spec{Public: true, AnyOf: []rules.Spec{{}}}, wantText: "public"},
		{name: "unknown token type", spec: rules.Spec{TokenType: "id"}, wantText: `"id"`},
		{name: "claim with var and literal", spec: rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "u", Value: "alice"}}}, wantText: "both"},
		{name: "claim with no value", spec: rules.Spec{Claims: map[string]rules.Match{"sub": {}}}, wantText: "no value"},
		{name: "empty claim name", spec: rules.Spec{Claims: map[string]rules.Match{"": {Value: 1}}}, wantText: "empty claim name"},
		{name: "NaN literal", spec: rules.Spec{Claims: map[string]rules.Match{"n": {Value: math.NaN()}}}, wantText: "finite"},
		{name: "infinite literal", spec: rules.Spec{Claims: map[string]rules.Match{"n": {Value: math.Inf(1)}}}, wantText: "finite"},
		{name: "NaN in literal object", spec: rules.Spec{Claims: map[string]rules.Match{"n": {Value: map[string]any{"x": math.NaN()}}}}, wantText: `"n"`},
		{name: "literal not JSON", spec: rules.Spec{Claims: map[string]rules.Match{"f": {Value: func() {}}}}, wantText: "JSON"},
		{name: "too-deep literal", spec: rules.Spec{Claims: map[string]rules.Match{"d": {Value: nestedScope(40)}}}, wantText: "deeper"},
		{name: "empty scope name", spec: rules.Spec{Scopes: []string{"read", ""}}, wantText: "scope name"},
		{name: "scope name with space", spec: rules.Spec{Scopes: []string{"read write"}}, wantText: "scope name"},
		{name: "scope name with tab", spec: rules.Spec{Scopes: []string{"read\twrite"}}, wantText: "scope name"},
		{name: "scope not JSON", spec: rules.Spec{Scope: make(chan int)}, wantText: "scope"},
		{name: "NaN scope", spec: rules.Spec{Scope: math.NaN()}, wantText: "scope"},
		{name: "too-deep scope", spec: rules.Spec{Scope: nestedScope(33)}, wantText: "deeper"},
		{name: "too-deep any_of", spec: nestedAnyOf(9), wantText: "any_of nested deeper"},
		{name: "public alternative", spec: rules.Spec{AnyOf: []rules.Spec{{Public: true}}}, wantText: "any_of[0]"},
		{name: "typed alternative", spec: rules.Spec{AnyOf: []rules.Spec{{Scopes: []string{"x"}}, {TokenType: manager.Auth}}}, wantText: "any_of[1]"},
		{name: "empty alternative", spec: rules.Spec{AnyOf: []rules.Spec{{Scopes: []string{"x"}}, {}}}, wantText: "any_of[1]: an empty alternative"},
		{name: "null scope", spec: rules.Spec{Scope: map[string]any(nil)}, wantText: "scope: null"},
		{name: "null literal", spec: rules.Spec{Claims: map[string]rules.Match{"x": {Value: (*string)(nil)}}}, wantText: "null"},
		{name: "bad claim in alternative", spec: rules.Spec{AnyOf: []rules.Spec{{Claims: map[string]rules.Match{"a": {}}}}}, wantText: "any_of[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.Compile(tt.spec)
			if !errors.Is(err, rules.ErrInvalidRule) {
				t.Fatalf("Compile = %v, want ErrInvalidRule", err)
			}
			if r != nil {
				t.Errorf("Compile returned a rule with its error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %s", err, tt.wantText)
			}
		})
	}
}

// TestCompileLimits checks the largest accepted nesting.
func TestCompileLimits(t *testing.T) {
	for _, s := range []rules.Spec{nestedAnyOf(8), {Scope: nestedScope(32)}} {
		if _, err := rules.Compile(s); err != nil {
			t.Errorf("Compile at the limit: %v", err)
		}
	}
	if _, err := rules.FromProto(nestedAnyOfProto(8)); err != nil {
		t.Errorf("FromProto at the limit: %v", err)
	}
}

// TestFromProtoErrors checks the proto form's own errors.
func TestFromProtoErrors(t *testing.T) {
	nan := &annotations.Match{Kind: &annotations.Match_NumberValue{NumberValue: math.NaN()}}
	tests := []struct {
		name     string
		rule     *annotations.Rule
		wantText string
	}{
		{name: "nil rule", rule: nil, wantText: "nil rule"},
		{name: "nil alternative", rule: &annotations.Rule{AnyOf: []*annotations.Rule{nil}}, wantText: "nil rule"},
		{name: "unknown token type", rule: &annotations.Rule{TokenType: 9}, wantText: "token_type"},
		{name: "claim with no kind", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"sub": {}}}, wantText: "no value"},
		{name: "nil claim", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"sub": nil}}, wantText: "no value"},
		{name: "empty field", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"sub": {Kind: &annotations.Match_Field{}}}}, wantText: "empty field"},
		{name: "NaN literal", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"n": nan}}, wantText: "finite"},
		{name: "public with scopes", rule: &annotations.Rule{Public: true, Scopes: []string{"x"}}, wantText: "public"},
		{name: "public refresh", rule: &annotations.Rule{Public: true, TokenType: annotations.TokenType_TOKEN_TYPE_REFRESH}, wantText: "public"},
		{name: "empty scope name", rule: &annotations.Rule{Scopes: []string{""}}, wantText: "scope name"},
		{name: "too-deep scope", rule: &annotations.Rule{Scope: mustStruct(t, nestedScope(40))}, wantText: "deeper"},
		{name: "too-deep any_of", rule: nestedAnyOfProto(9), wantText: "any_of nested deeper"},
		{name: "very deep any_of", rule: nestedAnyOfProto(1000), wantText: "any_of nested deeper"},
		{name: "typed alternative", rule: &annotations.Rule{AnyOf: []*annotations.Rule{{TokenType: annotations.TokenType_TOKEN_TYPE_AUTH}}}, wantText: "any_of[0]"},
		{name: "empty alternative", rule: &annotations.Rule{AnyOf: []*annotations.Rule{{}}}, wantText: "an empty alternative"},
		{name: "public dry run", rule: &annotations.Rule{Public: true, DryRun: true}, wantText: "dry_run"},
		{name: "dry-run alternative", rule: &annotations.Rule{AnyOf: []*annotations.Rule{{Scopes: []string{"x"}, DryRun: true}}}, wantText: "any_of[0]: an alternative can't set dry_run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.FromProto(tt.rule)
			if !errors.Is(err, rules.ErrInvalidRule) {
				t.Fatalf("FromProto = %v, want ErrInvalidRule", err)
			}
			if r != nil {
				t.Errorf("FromProto returned a rule with its error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %s", err, tt.wantText)
			}
		})
	}
}

func mustStruct(t *testing.T, v any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(v.(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCompiled checks what a compiled rule reports about itself.
func TestCompiled(t *testing.T) {
	tests := []struct {
		name      string
		rule      *annotations.Rule
		public    bool
		tokenType manager.TokenType
		vars      []string
	}{
		{name: "empty", rule: &annotations.Rule{}, tokenType: manager.Auth},
		{name: "public", rule: &annotations.Rule{Public: true}, public: true},
		{name: "auth", rule: &annotations.Rule{TokenType: annotations.TokenType_TOKEN_TYPE_AUTH}, tokenType: manager.Auth},
		{name: "refresh", rule: &annotations.Rule{TokenType: annotations.TokenType_TOKEN_TYPE_REFRESH}, tokenType: manager.Refresh},
		{
			name: "vars sorted by claim, shared, from alternatives",
			rule: &annotations.Rule{
				Claims: map[string]*annotations.Match{
					"sub":  {Kind: &annotations.Match_Field{Field: "user.id"}},
					"acct": {Kind: &annotations.Match_Field{Field: "account_id"}},
					"role": {Kind: &annotations.Match_StringValue{StringValue: "admin"}},
				},
				AnyOf: []*annotations.Rule{
					{Claims: map[string]*annotations.Match{"owner": {Kind: &annotations.Match_Field{Field: "user.id"}}}},
					{Claims: map[string]*annotations.Match{"team": {Kind: &annotations.Match_Field{Field: "team"}}}},
				},
			},
			tokenType: manager.Auth,
			vars:      []string{"account_id", "user.id", "team"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.FromProto(tt.rule)
			if err != nil {
				t.Fatalf("FromProto: %v", err)
			}
			if r.Public() != tt.public || r.TokenType() != tt.tokenType {
				t.Errorf("Public, TokenType = %v, %q; want %v, %q", r.Public(), r.TokenType(), tt.public, tt.tokenType)
			}
			if !slices.Equal(r.Vars(), tt.vars) {
				t.Errorf("Vars = %q, want %q", r.Vars(), tt.vars)
			}
			if r.ReadsRequest() != (len(tt.vars) > 0) {
				t.Errorf("BindsVars = %v with vars %q", r.ReadsRequest(), tt.vars)
			}
		})
	}
}

// TestFromProtoLiterals checks that each literal kind of Match is compared
// as its JSON type.
func TestFromProtoLiterals(t *testing.T) {
	tests := []struct {
		name  string
		match *annotations.Match
		claim any
		want  bool
	}{
		{"string", &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: "x"}}, "x", true},
		{"empty string", &annotations.Match{Kind: &annotations.Match_StringValue{}}, "", true},
		{"string vs number", &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: "1"}}, 1.0, false},
		{"number", &annotations.Match{Kind: &annotations.Match_NumberValue{NumberValue: 1}}, 1.0, true},
		{"zero", &annotations.Match{Kind: &annotations.Match_NumberValue{}}, 0.0, true},
		{"number vs string", &annotations.Match{Kind: &annotations.Match_NumberValue{NumberValue: 1}}, "1", false},
		{"bool", &annotations.Match{Kind: &annotations.Match_BoolValue{BoolValue: true}}, true, true},
		{"false", &annotations.Match{Kind: &annotations.Match_BoolValue{}}, false, true},
		{"false vs missing", &annotations.Match{Kind: &annotations.Match_BoolValue{}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.FromProto(&annotations.Rule{Claims: map[string]*annotations.Match{"c": tt.match}})
			if err != nil {
				t.Fatalf("FromProto: %v", err)
			}
			claims := map[string]any{}
			if tt.claim != nil {
				claims["c"] = tt.claim
			}
			err = r.Check(token(manager.Auth, nil, claims), rules.Vars{})
			if got := err == nil; got != tt.want {
				t.Errorf("Check = %v, want allowed %v", err, tt.want)
			}
		})
	}
}

func TestFromProtoDryRun(t *testing.T) {
	for _, tt := range []struct {
		rule *annotations.Rule
		want bool
	}{
		{&annotations.Rule{Scopes: []string{"x"}}, false},
		{&annotations.Rule{Scopes: []string{"x"}, DryRun: true}, true},
		{&annotations.Rule{AllowMissing: true, DryRun: true}, true},
	} {
		r, err := rules.FromProto(tt.rule)
		if err != nil {
			t.Fatalf("FromProto(%v): %v", tt.rule, err)
		}
		if r.DryRun() != tt.want {
			t.Errorf("FromProto(%v).DryRun() = %v, want %v", tt.rule, r.DryRun(), tt.want)
		}
	}
}
