package rules_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// deepStruct returns a Struct whose field "a" nests depth Structs deep.
func deepStruct(depth int) *structpb.Struct {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{"leaf": structpb.NewBoolValue(true)}}
	for range depth {
		s = &structpb.Struct{Fields: map[string]*structpb.Value{"a": structpb.NewStructValue(s)}}
	}
	return s
}

// protoRuleSeeds are rules of every kind, valid and not, as the bytes of
// an annotations.Rule.
func protoRuleSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	field := func(path string) *annotations.Match {
		return &annotations.Match{Kind: &annotations.Match_Field{Field: path}}
	}
	str := func(s string) *annotations.Match {
		return &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: s}}
	}
	num := func(f float64) *annotations.Match {
		return &annotations.Match{Kind: &annotations.Match_NumberValue{NumberValue: f}}
	}
	scope, err := structpb.NewStruct(map[string]any{"admin": true, "projects": []any{"apollo", map[string]any{"id": 1}}})
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, r := range []*annotations.Rule{
		{},
		{Public: true},
		{Public: true, Scopes: []string{"read"}},
		{TokenType: annotations.TokenType_TOKEN_TYPE_REFRESH},
		{TokenType: annotations.TokenType(7)},
		{Claims: map[string]*annotations.Match{"sub": field("username"), "role": str("admin"), "level": num(3)}},
		{Claims: map[string]*annotations.Match{"sub": field("")}},
		{Claims: map[string]*annotations.Match{"n": num(math.NaN())}},
		{Claims: map[string]*annotations.Match{"": str("x")}},
		{Claims: map[string]*annotations.Match{"sub": {}}},
		{Scope: scope},
		{Scope: deepStruct(40)},
		{Scope: &structpb.Struct{Fields: map[string]*structpb.Value{"n": structpb.NewNumberValue(math.Inf(1))}}},
		{Scopes: []string{"read", "write"}},
		{Scopes: []string{"read write"}},
		{AnyOf: []*annotations.Rule{{Claims: map[string]*annotations.Match{"sub": field("owner")}}, {Scopes: []string{"admin"}}}},
		{AnyOf: []*annotations.Rule{{}}},
		{AnyOf: []*annotations.Rule{{Public: true}}},
		nestedAnyOfProto(8),
		nestedAnyOfProto(9),
		nestedAnyOfProto(40),
		{Check: []*annotations.ClaimCheck{
			{Claim: []string{"realm_access", "roles"}, Test: &annotations.ClaimCheck_Contains{Contains: str("orders-admin")}},
			{Claim: []string{"https://acme.example/tenant"}, Test: &annotations.ClaimCheck_Equals{Equals: field("tenant")}},
			{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Suffix{Suffix: "@acme.example"}},
			{Claim: []string{"org"}, Test: &annotations.ClaimCheck_Prefix{Prefix: "acme-"}},
			{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Strings: []string{"gold"}, Numbers: []float64{3}}}},
			{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{Includes: structpb.NewStructValue(scope)}},
			{Claim: []string{"tid"}, Test: &annotations.ClaimCheck_Present{Present: true}},
			{Claim: []string{"act"}, Test: &annotations.ClaimCheck_Present{}},
		}},
		{AllowMissing: true, Check: []*annotations.ClaimCheck{{Claim: []string{"groups"}, Test: &annotations.ClaimCheck_Contains{Contains: field("group")}}}},
		{AllowMissing: true, Public: true},
		{AnyOf: []*annotations.Rule{{AllowMissing: true, Scopes: []string{"x"}}}},
		{Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}}}},
		{Check: []*annotations.ClaimCheck{{Test: &annotations.ClaimCheck_Present{Present: true}}}},
		{Check: []*annotations.ClaimCheck{{Claim: []string{"a", ""}, Test: &annotations.ClaimCheck_Present{Present: true}}}},
		{Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}, Test: &annotations.ClaimCheck_Equals{}}}},
		{Check: []*annotations.ClaimCheck{{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{}}}},
		{Check: []*annotations.ClaimCheck{{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Suffix{}}}},
		{Check: []*annotations.ClaimCheck{{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{Includes: structpb.NewNullValue()}}}},
		{Check: []*annotations.ClaimCheck{{Claim: []string{"n"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Numbers: []float64{math.NaN()}}}}}},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzFromProto compiles arbitrary bytes read as an annotations.Rule, the
// form a rule has in a descriptor set loaded at run time, and checks each
// rule that compiles against arbitrary claims and request variables.
// FromProto never panics and refuses with ErrInvalidRule only; a compiled
// rule answers the same twice, with Unauthenticated or PermissionDenied
// errors only. Time is bounded by the limits on nesting (any_of 8 deep,
// required values 32 deep) and the size of the input; the fuzzer reports
// an input that takes seconds as a hang.
func FuzzFromProto(f *testing.F) {
	for _, seed := range protoRuleSeeds(f) {
		f.Add(seed, `{"sub":"alice","role":"admin","level":3,"scope":{"admin":true,"projects":["apollo"]}}`, "alice")
	}
	f.Add([]byte{0x32, 0x02, 0x32, 0x00}, `{"scope":"read write"}`, "x")
	f.Fuzz(func(t *testing.T, ruleBytes []byte, claimsJSON, v string) {
		if len(ruleBytes) > 64<<10 {
			return
		}
		var p annotations.Rule
		if proto.Unmarshal(ruleBytes, &p) != nil {
			return
		}
		r, err := rules.FromProto(&p)
		if err != nil {
			if !errors.Is(err, rules.ErrInvalidRule) {
				t.Fatalf("FromProto error %v does not wrap ErrInvalidRule", err)
			}
			return
		}
		if r.Public() && r.TokenType() != "" {
			t.Fatalf("public rule with token type %q", r.TokenType())
		}
		var claims map[string]any
		if json.Unmarshal([]byte(claimsJSON), &claims) != nil {
			claims = nil
		}
		for _, typ := range []manager.TokenType{manager.Auth, manager.Refresh} {
			tok := &manager.Token{Type: typ, Claims: claims, Scope: claims["scope"]}
			for _, value := range []rules.Value{rules.String(v), rules.Number(float64(len(v))), rules.Bool(strings.HasPrefix(v, "t"))} {
				vars := rules.VarFunc(func(i int) (rules.Value, bool) {
					if i < 0 || i >= len(r.Vars()) {
						t.Fatalf("Check asked for variable %d of %d", i, len(r.Vars()))
					}
					return value, true
				})
				first := r.Check(tok, vars)
				if again := r.Check(tok, vars); again != first {
					t.Fatalf("Check answered %v, then %v", first, again)
				}
				if first == nil {
					continue
				}
				if kind, _ := rules.Classify(first); kind != rules.Unauthenticated && kind != rules.PermissionDenied {
					t.Fatalf("Classify(%v) = %v", first, kind)
				}
				if r.Public() {
					t.Fatalf("public rule refused: %v", first)
				}
			}
			_ = r.Check(tok, rules.Deferred)
			_ = r.Check(tok, rules.Vars{})
		}
	})
}
