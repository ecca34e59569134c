package annotations_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/testpb"
)

const healthSet = `
# Rules for grpc.health.v1.Health, whose .proto carries no protojwt option.
methods {
  key: "/grpc.health.v1.Health/Watch"
  value { scopes: "health:watch" dry_run: true }
}
services {
  key: "grpc.health.v1.Health"
  value { public: true }
}
`

func TestParseRuleSet(t *testing.T) {
	set, err := annotations.ParseRuleSet([]byte(healthSet))
	if err != nil {
		t.Fatalf("ParseRuleSet: %v", err)
	}
	want := &annotations.RuleSet{
		Methods:  map[string]*annotations.Rule{"/grpc.health.v1.Health/Watch": {Scopes: []string{"health:watch"}, DryRun: true}},
		Services: map[string]*annotations.Rule{"grpc.health.v1.Health": {Public: true}},
	}
	if !proto.Equal(want, set) {
		t.Errorf("ParseRuleSet = %v, want %v", prototext.Format(set), prototext.Format(want))
	}
}

func TestParseRuleSetErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // in the message
	}{
		{"syntax", "methods { key: \"/a.B/C\" value { public: true }", []string{"not a protojwt.v1.RuleSet", "format: unexpected EOF"}},
		{"syntax at a place", "methods { key: \"/a.B/C\"\n value { public: yes } }", []string{"(line 2:"}},
		{"unknown field", "methods { key: \"/a.B/C\" value { pubic: true } }", []string{"pubic"}},
		{"wrong message", "rule { public: true }", []string{"rule"}},
		{"method without slash", `methods { key: "a.B/C" value {} }`, []string{`"a.B/C" is not a full method name`}},
		{"method without method", `methods { key: "/a.B" value {} }`, []string{`"/a.B" is not a full method name`}},
		{"service with slash", `services { key: "/a.B" value {} }`, []string{`"/a.B" is not a full service name`}},
		{"service empty", `services { key: "" value {} }`, []string{`"" is not a full service name`}},
		{"two bad names", `methods { key: "x" value {} } services { key: "y z" value {} }`, []string{`"x"`, `"y z"`}},
		{"too big", strings.Repeat("#", annotations.MaxRuleSetSize+1), []string{"over"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := annotations.ParseRuleSet([]byte(tc.text))
			if !errors.Is(err, protojwt.ErrInvalidRule) {
				t.Fatalf("ParseRuleSet = %v, %v; want an error wrapping ErrInvalidRule", set, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestReadRuleSet(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "health.txtpb")
	bad := filepath.Join(dir, "bad.txtpb")
	if err := os.WriteFile(good, []byte(healthSet), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("methods {"), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := annotations.ReadRuleSet(good)
	if err != nil || len(set.GetMethods()) != 1 || len(set.GetServices()) != 1 {
		t.Fatalf("ReadRuleSet(good) = %v, %v", set, err)
	}
	if _, err := annotations.ReadRuleSet(bad); !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), bad) {
		t.Errorf("ReadRuleSet(bad) = %v; want ErrInvalidRule naming the file", err)
	}
	missing := filepath.Join(dir, "missing.txtpb")
	if _, err := annotations.ReadRuleSet(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadRuleSet(missing) = %v; want os.ErrNotExist", err)
	}
}

func TestCheckRuleSetNamesNilRule(t *testing.T) {
	set := &annotations.RuleSet{
		Methods:  map[string]*annotations.Rule{"/a.B/C": nil},
		Services: map[string]*annotations.Rule{"a.B": nil},
	}
	errs := annotations.CheckRuleSetNames(set)
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "/a.B/C has no rule") || !strings.Contains(errs[1].Error(), "a.B has no rule") {
		t.Errorf("CheckRuleSetNames = %v; want both entries without a rule", errs)
	}
}

// method returns the descriptor of a method of the test services.
func method(t *testing.T, service protoreflect.ServiceDescriptor, name string) protoreflect.MethodDescriptor {
	t.Helper()
	md := service.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		t.Fatalf("%s has no method %s", service.FullName(), name)
	}
	return md
}

func TestEffectiveRuleIn(t *testing.T) {
	files := testpb.File_protojwt_test_v1_test_proto.Services()
	open := files.ByName("OpenService")           // no option
	defaulted := files.ByName("DefaultedService") // default_rule, Override has its own
	guarded := files.ByName("GuardedService")     // rules on methods, no default
	byMethod := &annotations.Rule{Scopes: []string{"ping"}}
	byService := &annotations.Rule{Scopes: []string{"open"}}
	for _, tc := range []struct {
		name       string
		md         protoreflect.MethodDescriptor
		set        *annotations.RuleSet
		want       *annotations.Rule
		wantSource annotations.Source
		wantErr    bool
	}{
		{"nil set, annotated", method(t, guarded, "Scopes"), nil, nil, annotations.SourceMethod, false},
		{"nil set, none", method(t, open, "Ping"), nil, nil, annotations.SourceNone, false},
		{"methods entry", method(t, open, "Ping"),
			&annotations.RuleSet{Methods: map[string]*annotations.Rule{"/protojwt.test.v1.OpenService/Ping": byMethod}}, byMethod, annotations.SourceRuleSetMethod, false},
		{"services entry", method(t, open, "Ping"),
			&annotations.RuleSet{Services: map[string]*annotations.Rule{"protojwt.test.v1.OpenService": byService}}, byService, annotations.SourceRuleSetService, false},
		{"methods entry replaces services entry", method(t, open, "Ping"),
			&annotations.RuleSet{
				Methods:  map[string]*annotations.Rule{"/protojwt.test.v1.OpenService/Ping": byMethod},
				Services: map[string]*annotations.Rule{"protojwt.test.v1.OpenService": byService},
			}, byMethod, annotations.SourceRuleSetMethod, false},
		{"set for another service", method(t, guarded, "Scopes"),
			&annotations.RuleSet{Services: map[string]*annotations.Rule{"protojwt.test.v1.OpenService": byService}}, nil, annotations.SourceMethod, false},
		{"methods entry and rule option", method(t, guarded, "Scopes"),
			&annotations.RuleSet{Methods: map[string]*annotations.Rule{"/protojwt.test.v1.GuardedService/Scopes": byMethod}}, nil, annotations.SourceRuleSetMethod, true},
		{"services entry and a method's rule option", method(t, guarded, "Scopes"),
			&annotations.RuleSet{Services: map[string]*annotations.Rule{"protojwt.test.v1.GuardedService": byService}}, nil, annotations.SourceRuleSetService, true},
		{"methods entry and default_rule option", method(t, defaulted, "Inherit"),
			&annotations.RuleSet{Methods: map[string]*annotations.Rule{"/protojwt.test.v1.DefaultedService/Inherit": byMethod}}, nil, annotations.SourceRuleSetMethod, true},
		{"services entry and default_rule option", method(t, defaulted, "Inherit"),
			&annotations.RuleSet{Services: map[string]*annotations.Rule{"protojwt.test.v1.DefaultedService": byService}}, nil, annotations.SourceRuleSetService, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, source, err := annotations.EffectiveRuleIn(tc.md, tc.set)
			if tc.wantErr {
				if !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), "/"+string(tc.md.Parent().FullName())+"/"+string(tc.md.Name())) {
					t.Fatalf("EffectiveRuleIn = %v; want ErrInvalidRule naming the method", err)
				}
			} else if err != nil {
				t.Fatalf("EffectiveRuleIn: %v", err)
			}
			if source != tc.wantSource {
				t.Errorf("source = %v, want %v", source, tc.wantSource)
			}
			if tc.want != nil && got != tc.want {
				t.Errorf("rule = %v, want %v", got, tc.want)
			}
			if !tc.wantErr && tc.set == nil {
				wantRule, wantSource, _ := annotations.EffectiveRule(tc.md)
				if source != wantSource || !proto.Equal(got, wantRule) {
					t.Errorf("with a nil set: %v %v, EffectiveRule gives %v %v", got, source, wantRule, wantSource)
				}
			}
		})
	}
}

func TestSourceString(t *testing.T) {
	for s, want := range map[annotations.Source]string{
		annotations.SourceNone:           "none",
		annotations.SourceMethod:         "method",
		annotations.SourceService:        "service_default",
		annotations.SourceRuleSetMethod:  "rule_set_method",
		annotations.SourceRuleSetService: "rule_set_service",
	} {
		if got := s.String(); got != want {
			t.Errorf("Source(%d).String() = %q, want %q", s, got, want)
		}
	}
}
