package cli

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// testpbSet returns the descriptor set of the tests' services, as buf build
// writes it: with its imports, or without (--exclude-imports).
func testpbSet(withImports bool) *descriptorpb.FileDescriptorSet {
	if !withImports {
		return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(testpb.File_protojwt_test_v1_test_proto)}}
	}
	return rpctest.FileDescriptorSet(testpb.File_protojwt_test_v1_test_proto)
}

func marshalSet(t *testing.T, set *descriptorpb.FileDescriptorSet) []byte {
	t.Helper()
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// row returns the table row of method, its cells separated by one space.
func row(out, method string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == method {
			return strings.Join(f, " ")
		}
	}
	return ""
}

func TestRulesTable(t *testing.T) {
	const svc = "/protojwt.test.v1.GuardedService/"
	wantRows := []string{
		svc + "Public method public",
		svc + "Refresh method refresh",
		svc + `LiteralString method auth role="admin"`,
		svc + "LiteralNumber method auth level=3",
		svc + "LiteralBool method auth verified=true",
		svc + "FieldNested method auth sub=field:user.id",
		svc + `ScopeContains method auth scope={"admin":true,"projects":["apollo"]}`,
		svc + "Scopes method auth scopes=read,write",
		svc + `AnyOf method auth any_of(role="admin" | sub=field:owner)`,
		svc + `Watch method auth role="admin" sub=field:user.id`,
		svc + "Undeclared - DENIED: no rule",
		"/protojwt.test.v1.DefaultedService/Inherit service default auth scopes=read",
		`/protojwt.test.v1.DefaultedService/Override method auth role="admin"`,
		"/protojwt.test.v1.OpenService/Ping - DENIED: no rule",
		svc + `Checks method auth allow_missing check(sub equals field:username) check(realm_access.roles contains "orders-admin") ` +
			`check("https://acme.example/accounts" contains field:account_id) check(tier in ["gold","platinum"]) check(email suffix "@acme.example") ` +
			`check(tenant prefix "acme-") check(perms includes {"orders":["read"]}) check(tid present) check(act absent)`,
		svc + "AccountInt method auth check(acct.id equals field:account_id)",
		svc + "AccountUint method auth check(accounts contains field:account_id)",
		svc + `OptionalWatch method auth allow_missing check(tier in ["gold","platinum"])`,
	}
	const summary = "24 methods in 3 services: 2 public, 17 need a token, 3 allow a missing token, 2 DENIED (no rule), 0 invalid"
	full := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	for _, tt := range []struct {
		name  string
		stdin []byte
		args  []string
	}{
		{"file with imports", nil, []string{full}},
		{"stdin without imports", marshalSet(t, testpbSet(false)), []string{"-"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{stdin: string(tt.stdin)}.run(t, append([]string{"rules"}, tt.args...)...)
			checkResult(t, r, exitOK, []string{"METHOD", "SOURCE", "RULE", summary}, nil)
			for _, want := range wantRows {
				if got := row(r.stdout, strings.Fields(want)[0]); got != want {
					t.Errorf("row\n got %s\nwant %s", got, want)
				}
			}
		})
	}

	t.Run("strict", func(t *testing.T) {
		r := cmd{}.run(t, "rules", full, "--strict")
		checkResult(t, r, exitFailure, []string{summary}, []string{"--strict: 2 method(s) without a rule, 0 invalid"})
	})
	t.Run("strict with the server's options", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--strict", "--public-service", "protojwt.test.v1.OpenService",
			"--public-method", svc+"Undeclared", full)
		checkResult(t, r, exitOK, []string{"4 public, 17 need a token, 3 allow a missing token, 0 DENIED"}, nil)
		if got := row(r.stdout, svc+"Undeclared"); got != svc+"Undeclared --public-method public" {
			t.Errorf("row %s", got)
		}
		if got := row(r.stdout, "/protojwt.test.v1.OpenService/Ping"); got != "/protojwt.test.v1.OpenService/Ping --public-service public" {
			t.Errorf("row %s", got)
		}
	})
}

// badSet is a descriptor set built by hand, without imports, whose methods
// break every check: paths that don't exist or are not scalars, rules that
// can't be compiled, a method without rule, a bad default rule.
func badSet() *descriptorpb.FileDescriptorSet {
	str, bytesType, msg := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum(), descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	optional, repeated := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	field := func(name string, n int32, typ *descriptorpb.FieldDescriptorProto_Type, label *descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ, Label: label}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	subIs := func(path string) *annotations.Rule {
		return &annotations.Rule{Claims: map[string]*annotations.Match{"sub": {Kind: &annotations.Match_Field{Field: path}}}}
	}
	admin := map[string]*annotations.Match{"role": {Kind: &annotations.Match_StringValue{StringValue: "admin"}}}
	method := func(name string, rule *annotations.Rule) *descriptorpb.MethodDescriptorProto {
		m := &descriptorpb.MethodDescriptorProto{Name: proto.String(name), InputType: proto.String(".bad.v1.Req"), OutputType: proto.String(".bad.v1.Resp")}
		if rule != nil {
			m.Options = &descriptorpb.MethodOptions{}
			proto.SetExtension(m.Options, annotations.E_Rule, rule)
		}
		return m
	}
	defaulted := &descriptorpb.ServiceOptions{}
	proto.SetExtension(defaulted, annotations.E_DefaultRule, subIs("missing"))
	scope, _ := structpb.NewStruct(map[string]any{"tier": "gold"})
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("bad/v1/bad.proto"),
		Package:    proto.String("bad.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"protojwt/v1/annotations.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Inner"), Field: []*descriptorpb.FieldDescriptorProto{field("blob", 1, bytesType, optional, "")}},
			{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, optional, ""),
				field("tags", 2, str, repeated, ""),
				field("inner", 3, msg, optional, ".bad.v1.Inner"),
			}},
			{Name: proto.String("Resp")},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{
			{Name: proto.String("BadService"), Method: []*descriptorpb.MethodDescriptorProto{
				method("Good", &annotations.Rule{Claims: map[string]*annotations.Match{"sub": {Kind: &annotations.Match_Field{Field: "name"}}}, Scope: scope}),
				method("NoSuchField", subIs("nope")),
				method("RepeatedField", subIs("tags")),
				method("BytesField", subIs("inner.blob")),
				method("MessageField", subIs("inner")),
				method("ThroughScalar", subIs("name.first")),
				method("PublicWithClaims", &annotations.Rule{Public: true, Claims: admin}),
				method("EmptyAlternative", &annotations.Rule{AnyOf: []*annotations.Rule{{}}}),
				method("NoValue", &annotations.Rule{Claims: map[string]*annotations.Match{"role": {}}}),
				method("Open", &annotations.Rule{Public: true}),
				method("Undeclared", nil),
			}},
			{Name: proto.String("DefaultedService"), Options: defaulted, Method: []*descriptorpb.MethodDescriptorProto{
				method("Inherits", nil),
				method("Overrides", &annotations.Rule{TokenType: annotations.TokenType_TOKEN_TYPE_REFRESH}),
			}},
		},
	}
	return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{file}}
}

func TestRulesInvalid(t *testing.T) {
	path := writeFile(t, "bad.binpb", marshalSet(t, badSet()))
	wantErrors := map[string]string{
		"/bad.v1.BadService/NoSuchField":      `field path "nope": message bad.v1.Req has no field "nope"`,
		"/bad.v1.BadService/RepeatedField":    "field bad.v1.Req.tags is repeated",
		"/bad.v1.BadService/BytesField":       "field bad.v1.Inner.blob is bytes",
		"/bad.v1.BadService/MessageField":     "field bad.v1.Req.inner is a message",
		"/bad.v1.BadService/ThroughScalar":    `is a string, not a message: it has no field "first"`,
		"/bad.v1.BadService/PublicWithClaims": "a public rule can't have other requirements",
		"/bad.v1.BadService/EmptyAlternative": "an empty alternative would always hold",
		"/bad.v1.BadService/NoValue":          `claim "role": no value to match`,
		"/bad.v1.DefaultedService/Inherits":   `message bad.v1.Req has no field "missing"`,
	}

	r := cmd{}.run(t, "rules", "--json", path)
	checkResult(t, r, exitOK, nil, nil)
	var audit rulesAudit
	if err := json.Unmarshal([]byte(r.stdout), &audit); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	byMethod := map[string]methodAudit{}
	for _, m := range audit.Methods {
		byMethod[m.Method] = m
	}
	for method, want := range wantErrors {
		if got := byMethod[method].Error; !strings.Contains(got, want) {
			t.Errorf("%s: error %q, want it to say %q", method, got, want)
		}
	}
	checks := []struct {
		method, source, rule string
		public, denied       bool
	}{
		{"/bad.v1.BadService/Good", sourceMethod, `auth sub=field:name scope={"tier":"gold"}`, false, false},
		{"/bad.v1.BadService/Open", sourceMethod, "public", true, false},
		{"/bad.v1.BadService/Undeclared", sourceNone, "", false, true},
		{"/bad.v1.BadService/PublicWithClaims", sourceMethod, `public role="admin"`, false, false},
		{"/bad.v1.BadService/EmptyAlternative", sourceMethod, "auth any_of({})", false, false},
		{"/bad.v1.BadService/NoValue", sourceMethod, "auth role=<no value>", false, false},
		{"/bad.v1.DefaultedService/Inherits", sourceService, "auth sub=field:missing", false, false},
		{"/bad.v1.DefaultedService/Overrides", sourceMethod, "refresh", false, false},
	}
	for _, c := range checks {
		m := byMethod[c.method]
		if m.Source != c.source || m.Rule != c.rule || m.Public != c.public || m.Denied != c.denied {
			t.Errorf("%s: %+v; want source %s, rule %q, public %t, denied %t", c.method, m, c.source, c.rule, c.public, c.denied)
		}
	}
	if got := compactJSON(byMethod["/bad.v1.DefaultedService/Overrides"].RuleProto); got != `{"token_type":"TOKEN_TYPE_REFRESH"}` {
		t.Errorf("rule_proto %s", got)
	}
	want := auditSummary{Services: 2, Methods: 13, Public: 1, Protected: 2, Undeclared: 1, Invalid: 9}
	if audit.Summary != want || len(audit.Errors) != 0 {
		t.Errorf("summary %+v, errors %q; want %+v and none", audit.Summary, audit.Errors, want)
	}

	// interceptor.New, which the command runs, refuses exactly those methods.
	files, err := newFiles(badSet())
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Config{Issuer: "x", Algorithm: "HS256", Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = interceptor.New(m, interceptor.WithResolver(files))
	if !errors.Is(err, rules.ErrInvalidRule) {
		t.Fatalf("interceptor.New: %v, want ErrInvalidRule", err)
	}
	var named []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var re *protojwt.RuleError
		if !errors.As(e, &re) {
			t.Errorf("interceptor.New error %v is not a RuleError", e)
			continue
		}
		if _, ok := wantErrors[re.Procedure]; ok {
			named = append(named, re.Procedure)
		}
	}
	if sort.Strings(named); len(named) != len(wantErrors) {
		t.Errorf("interceptor.New names %q of the %d invalid methods:\n%v", named, len(wantErrors), err)
	}

	t.Run("strict json", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--strict", "--json", path)
		checkResult(t, r, exitFailure, nil, []string{"--strict: 1 method(s) without a rule, 9 invalid"})
		if !json.Valid([]byte(r.stdout)) {
			t.Errorf("--strict --json output is not JSON:\n%s", r.stdout)
		}
	})
	t.Run("table", func(t *testing.T) {
		r := cmd{}.run(t, "rules", path)
		checkResult(t, r, exitOK, []string{
			`INVALID: invalid rule: field path "nope": message bad.v1.Req has no field "nope"`,
			"13 methods in 2 services: 1 public, 2 need a token, 0 allow a missing token, 1 DENIED (no rule), 9 invalid",
		}, nil)
		if got := row(r.stdout, "/bad.v1.BadService/Undeclared"); got != "/bad.v1.BadService/Undeclared - DENIED: no rule" {
			t.Errorf("row %s", got)
		}
	})
}

func TestRulesErrors(t *testing.T) {
	good := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	missingImport := badSet()
	missingImport.File[0].Dependency = append(missingImport.File[0].Dependency, "other/v1/other.proto")
	duplicate := testpbSet(true)
	duplicate.File = append(duplicate.File, duplicate.File[len(duplicate.File)-1])
	empty := writeFile(t, "empty.binpb", nil)

	tests := []struct {
		name   string
		stdin  []byte
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no file", nil, nil, exitUsage, "", "want one FILE.binpb (or - for stdin), got 0 arguments"},
		{"two files", nil, []string{good, good}, exitUsage, "", "got 2 arguments"},
		{"missing file", nil, []string{"/nonexistent/api.binpb"}, exitFailure, "", "no such file or directory"},
		{"not a descriptor set", []byte("not a descriptor set"), []string{"-"}, exitFailure, "", "stdin is not a FileDescriptorSet"},
		{"import missing", marshalSet(t, missingImport), []string{"-"}, exitFailure, "", `lacks imported files ["other/v1/other.proto"]`},
		{"file twice", marshalSet(t, duplicate), []string{"-"}, exitFailure, "", `file appears multiple times: "protojwt/test/v1/test.proto"`},
		{"malformed public method", nil, []string{"--public-method", "GuardedService.Public", good}, exitUsage, "", `"GuardedService.Public" is not a full method name`},
		{"malformed public service", nil, []string{"--public-service", "bad name", good}, exitUsage, "", `"bad name" is not a full service name`},
		{"unknown flag", nil, []string{"--fail-closed", good}, exitUsage, "", "flag provided but not defined: -fail-closed"},
		{"public method with a rule", nil, []string{"--strict", "--public-method", "/protojwt.test.v1.GuardedService/Refresh", good}, exitFailure,
			"ERROR: invalid adapter option: WithPublicMethods names /protojwt.test.v1.GuardedService/Refresh, which has a rule", "1 other error(s)"},
		{"public service with a default rule", nil, []string{"--strict", "--public-service", "protojwt.test.v1.DefaultedService", good}, exitFailure,
			"ERROR: invalid adapter option: WithPublicServices names protojwt.test.v1.DefaultedService", "other error(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{stdin: string(tt.stdin)}.run(t, append([]string{"rules"}, tt.args...)...)
			var wantStdout []string
			if tt.stdout != "" {
				wantStdout = []string{tt.stdout}
			}
			checkResult(t, r, tt.code, wantStdout, []string{tt.stderr})
			if tt.stdout == "" && r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
		})
	}

	t.Run("empty set", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--strict", empty)
		checkResult(t, r, exitOK, []string{"No services in the descriptor set.", "0 methods in 0 services"}, nil)
	})
}
