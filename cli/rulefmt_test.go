package cli

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt/annotations"
)

func fieldMatch(f string) *annotations.Match {
	return &annotations.Match{Kind: &annotations.Match_Field{Field: f}}
}

func stringMatch(s string) *annotations.Match {
	return &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: s}}
}

// TestFormatCheck writes each test kind of a claim check, and the paths
// whose names hold dots, slashes or punctuation quoted.
func TestFormatCheck(t *testing.T) {
	perms, err := structpb.NewValue(map[string]any{"orders": []any{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		check *annotations.ClaimCheck
		want  string
	}{
		{&annotations.ClaimCheck{Claim: []string{"sub"}, Test: &annotations.ClaimCheck_Equals{Equals: fieldMatch("user.id")}}, "sub equals field:user.id"},
		{&annotations.ClaimCheck{Claim: []string{"level"}, Test: &annotations.ClaimCheck_Equals{Equals: &annotations.Match{Kind: &annotations.Match_NumberValue{NumberValue: 3}}}}, "level equals 3"},
		{&annotations.ClaimCheck{Claim: []string{"realm_access", "roles"}, Test: &annotations.ClaimCheck_Contains{Contains: stringMatch("orders-admin")}}, `realm_access.roles contains "orders-admin"`},
		{&annotations.ClaimCheck{Claim: []string{"https://acme.example/roles"}, Test: &annotations.ClaimCheck_Contains{Contains: stringMatch("billing")}}, `"https://acme.example/roles" contains "billing"`},
		{&annotations.ClaimCheck{Claim: []string{"realm_access.roles"}, Test: &annotations.ClaimCheck_Contains{Contains: stringMatch("x")}}, `"realm_access.roles" contains "x"`},
		{&annotations.ClaimCheck{Claim: []string{"cognito:groups"}, Test: &annotations.ClaimCheck_Contains{Contains: stringMatch("ops")}}, `"cognito:groups" contains "ops"`},
		{&annotations.ClaimCheck{Claim: []string{"a b", "c"}, Test: &annotations.ClaimCheck_Present{Present: true}}, `"a b".c present`},
		{&annotations.ClaimCheck{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Strings: []string{"gold", "platinum"}, Numbers: []float64{3, 1e21}}}}, `tier in ["gold","platinum",3,1e+21]`},
		{&annotations.ClaimCheck{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Suffix{Suffix: "@acme.example"}}, `email suffix "@acme.example"`},
		{&annotations.ClaimCheck{Claim: []string{"tenant"}, Test: &annotations.ClaimCheck_Prefix{Prefix: `a"b`}}, `tenant prefix "a\"b"`},
		{&annotations.ClaimCheck{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{Includes: perms}}, `perms includes {"orders":["read"]}`},
		{&annotations.ClaimCheck{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{}}, `perms includes <no value>`},
		{&annotations.ClaimCheck{Claim: []string{"tid"}, Test: &annotations.ClaimCheck_Present{Present: true}}, "tid present"},
		{&annotations.ClaimCheck{Claim: []string{"act"}, Test: &annotations.ClaimCheck_Present{}}, "act absent"},
		{&annotations.ClaimCheck{Claim: []string{"x"}}, "x <no test>"},
		{&annotations.ClaimCheck{Test: &annotations.ClaimCheck_Present{}}, "<no claim> absent"},
		{&annotations.ClaimCheck{Claim: []string{"n"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Numbers: []float64{math.NaN()}}}}, "n in [NaN]"},
	}
	for _, tt := range tests {
		if got := formatCheck(tt.check); got != tt.want {
			t.Errorf("formatCheck(%v) = %s, want %s", tt.check, got, tt.want)
		}
	}
}

// TestFormatRuleChecks writes allow_missing, checks and expr in the order
// the engine checks them, in alternatives too.
func TestFormatRuleChecks(t *testing.T) {
	r := &annotations.Rule{
		AllowMissing: true,
		Claims:       map[string]*annotations.Match{"sub": fieldMatch("user")},
		Check:        []*annotations.ClaimCheck{{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Strings: []string{"gold"}}}}},
		Scopes:       []string{"read"},
		Expr:         `claims.tenant == request.tenant`,
		AnyOf: []*annotations.Rule{
			{Check: []*annotations.ClaimCheck{{Claim: []string{"groups"}, Test: &annotations.ClaimCheck_Contains{Contains: stringMatch("ops")}}}},
			{AllowMissing: true, Expr: "true"},
		},
	}
	want := `auth allow_missing sub=field:user check(tier in ["gold"]) scopes=read expr(claims.tenant == request.tenant) ` +
		`any_of(check(groups contains "ops") | allow_missing expr(true))`
	if got := formatRule(r); got != want {
		t.Errorf("formatRule\n got %s\nwant %s", got, want)
	}
}

// checksSet is a descriptor set whose methods carry checks, allow_missing
// and expr, valid and not.
func checksSet() *descriptorpb.FileDescriptorSet {
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	optional, repeated := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	method := func(name string, rule *annotations.Rule) *descriptorpb.MethodDescriptorProto {
		m := &descriptorpb.MethodDescriptorProto{Name: proto.String(name), InputType: proto.String(".idp.v1.Req"), OutputType: proto.String(".idp.v1.Req"),
			Options: &descriptorpb.MethodOptions{}}
		proto.SetExtension(m.Options, annotations.E_Rule, rule)
		return m
	}
	contains := func(path []string, m *annotations.Match) *annotations.ClaimCheck {
		return &annotations.ClaimCheck{Claim: path, Test: &annotations.ClaimCheck_Contains{Contains: m}}
	}
	return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{{
		Name:       proto.String("idp/v1/idp.proto"),
		Package:    proto.String("idp.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"protojwt/v1/annotations.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("group"), Number: proto.Int32(1), Type: str, Label: optional},
			{Name: proto.String("tags"), Number: proto.Int32(2), Type: str, Label: repeated},
		}}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("IdpService"), Method: []*descriptorpb.MethodDescriptorProto{
			method("Keycloak", &annotations.Rule{Check: []*annotations.ClaimCheck{contains([]string{"realm_access", "roles"}, stringMatch("admin"))}}),
			method("Okta", &annotations.Rule{Check: []*annotations.ClaimCheck{contains([]string{"groups"}, fieldMatch("group"))}}),
			method("Optional", &annotations.Rule{AllowMissing: true, Check: []*annotations.ClaimCheck{{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_Present{Present: true}}}}),
			method("Expr", &annotations.Rule{Expr: `"admin" in claims.groups`}),
			method("RepeatedField", &annotations.Rule{Check: []*annotations.ClaimCheck{contains([]string{"groups"}, fieldMatch("tags"))}}),
			method("EmptyPath", &annotations.Rule{Check: []*annotations.ClaimCheck{{Test: &annotations.ClaimCheck_Present{Present: true}}}}),
			method("OptionalPublic", &annotations.Rule{Public: true, AllowMissing: true}),
		}}},
	}}}
}

// TestRulesChecks audits a set with checks: rows a reviewer reads at a
// glance, --json with allow_missing, checks and expr, and the errors
// interceptor.New finds named by method.
func TestRulesChecks(t *testing.T) {
	path := writeFile(t, "idp.binpb", marshalSet(t, checksSet()))
	const svc = "/idp.v1.IdpService/"
	r := cmd{}.run(t, "rules", path)
	checkResult(t, r, exitOK, []string{"7 methods in 1 services: 0 public, 2 need a token, 1 allow a missing token, 0 DENIED (no rule), 4 invalid"}, nil)
	for method, want := range map[string]string{
		"Keycloak":       `method auth check(realm_access.roles contains "admin")`,
		"Okta":           "method auth check(groups contains field:group)",
		"Optional":       "method auth allow_missing check(tier present)",
		"Expr":           `method auth expr("admin" in claims.groups) INVALID: invalid rule: expr: this build of protojwt has no CEL: audit with go run github.com/protojwt/protojwt/celexpr/cmd/protojwt rules`,
		"RepeatedField":  `method auth check(groups contains field:tags) INVALID: invalid rule: field path "tags": field idp.v1.Req.tags is repeated`,
		"EmptyPath":      "method auth check(<no claim> present) INVALID: invalid rule: check[0]: a claim check with an empty path",
		"OptionalPublic": "method public allow_missing INVALID: invalid rule: a public rule can't have other requirements",
	} {
		if got := row(r.stdout, svc+method); !strings.HasPrefix(got, svc+method+" "+want) {
			t.Errorf("row\n got %s\nwant %s %s...", got, svc+method, want)
		}
	}

	r = cmd{}.run(t, "rules", "--json", path)
	checkResult(t, r, exitOK, nil, nil)
	var audit rulesAudit
	if err := json.Unmarshal([]byte(r.stdout), &audit); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	byMethod := map[string]methodAudit{}
	for _, m := range audit.Methods {
		byMethod[strings.TrimPrefix(m.Method, svc)] = m
	}
	if m := byMethod["Optional"]; !m.AllowMissing || m.Public || m.Error != "" || len(m.Checks) != 1 || m.Checks[0] != "tier present" {
		t.Errorf("Optional: %+v", m)
	}
	if m := byMethod["Keycloak"]; m.AllowMissing || len(m.Checks) != 1 || m.Checks[0] != `realm_access.roles contains "admin"` {
		t.Errorf("Keycloak: %+v", m)
	}
	if m := byMethod["Expr"]; m.Expr != `"admin" in claims.groups` || m.Error == "" {
		t.Errorf("Expr: %+v", m)
	}
	if m := byMethod["OptionalPublic"]; m.AllowMissing || m.Public || m.Error == "" {
		t.Errorf("an invalid rule opens nothing: %+v", m)
	}
	if got := compactJSON(byMethod["Okta"].RuleProto); got != `{"check":[{"claim":["groups"],"contains":{"field":"group"}}]}` {
		t.Errorf("rule_proto %s", got)
	}
	if want := (auditSummary{Services: 1, Methods: 7, Protected: 2, AllowMissing: 1, Invalid: 4}); audit.Summary != want {
		t.Errorf("summary %+v, want %+v", audit.Summary, want)
	}
	if !strings.Contains(r.stdout, `"allow_missing": true`) || !strings.Contains(r.stdout, `"checks": [`) {
		t.Errorf("--json lacks allow_missing or checks:\n%s", r.stdout)
	}
}
