package celexpr_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/interceptor"
)

// probeProcedure is the one method of filesWithRule's service.
const probeProcedure = "/celexpr.compile.v1.ProbeService/Probe"

// ruleErrorCases are expressions that no RPC adapter may accept, each with
// what CEL's message says.
var ruleErrorCases = []struct {
	name string
	expr string
	want string
}{
	{"syntax", "claims.sub ==", "Syntax error"},
	{"not bool", "request.owner", "string, not bool"},
	{"unknown field", "request.ownr == claims.sub", "undefined field 'ownr'"},
	{"path in an RPC", "path.owner == claims.sub", "RPC has no path"},
}

// wantRuleError fails unless err, from an adapter's New, is a RuleError
// wrapping ErrInvalidRule that names probeProcedure and says want.
func wantRuleError(t *testing.T, err error, want string) {
	t.Helper()
	var re *protojwt.RuleError
	if !errors.As(err, &re) || !errors.Is(err, protojwt.ErrInvalidRule) {
		t.Fatalf("New = %v, want a RuleError wrapping ErrInvalidRule", err)
	}
	if re.Procedure != probeProcedure || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q for %q, want one naming %s and saying %q", err, re.Procedure, probeProcedure, want)
	}
}

// wantNoEngine fails unless err, from an adapter's New given a rule with an
// expr and no engine, says to add one.
func wantNoEngine(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), "WithExpressions(celexpr.New())") {
		t.Fatalf("New with no engine = %v, want an error saying to add WithExpressions(celexpr.New())", err)
	}
}

// TestGRPCCompileErrors: interceptor.New refuses a method whose expression
// can't be used, naming the method and saying CEL's message, and a rule
// with an expr when no engine is given.
func TestGRPCCompileErrors(t *testing.T) {
	m := newManager(t)
	for _, tt := range ruleErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			files := filesWithRule(t, tt.expr)
			_, err := interceptor.New(m, interceptor.WithResolver(files), interceptor.WithExpressions(celexpr.New()))
			wantRuleError(t, err, tt.want)
		})
	}
	t.Run("no engine", func(t *testing.T) {
		_, err := interceptor.New(m, interceptor.WithResolver(filesWithRule(t, "claims.sub == request.owner")))
		wantNoEngine(t, err)
	})
	t.Run("a good rule compiles", func(t *testing.T) {
		if _, err := interceptor.New(m, interceptor.WithResolver(filesWithRule(t, "claims.sub == request.owner")), interceptor.WithExpressions(celexpr.New())); err != nil {
			t.Fatal(err)
		}
	})
}

// filesWithRule returns the descriptors of a service whose one method,
// /celexpr.compile.v1.ProbeService/Probe, has the rule {expr: expr}.
func filesWithRule(t *testing.T, expr string) *protoregistry.Files {
	t.Helper()
	opts := &descriptorpb.MethodOptions{}
	proto.SetExtension(opts, annotations.E_Rule, &annotations.Rule{Expr: expr})
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("celexpr/compile/v1/probe.proto"),
		Package:    proto.String("celexpr.compile.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"protojwt/v1/annotations.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("ProbeRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:     proto.String("owner"),
				JsonName: proto.String("owner"),
				Number:   proto.Int32(1),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
			}},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("ProbeService"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name:       proto.String("Probe"),
				InputType:  proto.String(".celexpr.compile.v1.ProbeRequest"),
				OutputType: proto.String(".celexpr.compile.v1.ProbeRequest"),
				Options:    opts,
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	return files
}
