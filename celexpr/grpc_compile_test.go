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

// TestGRPCCompileErrors: interceptor.New refuses a method whose expression
// can't be used, naming the method and saying CEL's message, and a rule
// with an expr when no engine is given.
func TestGRPCCompileErrors(t *testing.T) {
	m := newManager(t)
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"syntax", "claims.sub ==", "Syntax error"},
		{"not bool", "request.owner", "string, not bool"},
		{"unknown field", "request.ownr == claims.sub", "undefined field 'ownr'"},
		{"path in an RPC", "path.owner == claims.sub", "RPC has no path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := filesWithRule(t, tt.expr)
			_, err := interceptor.New(m, interceptor.WithResolver(files), interceptor.WithExpressions(celexpr.New()))
			var re *protojwt.RuleError
			if !errors.As(err, &re) || !errors.Is(err, protojwt.ErrInvalidRule) {
				t.Fatalf("New = %v, want a RuleError wrapping ErrInvalidRule", err)
			}
			if re.Procedure != "/celexpr.compile.v1.ProbeService/Probe" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q for %q, want one naming /celexpr.compile.v1.ProbeService/Probe and saying %q", err, re.Procedure, tt.want)
			}
		})
	}
	t.Run("no engine", func(t *testing.T) {
		_, err := interceptor.New(m, interceptor.WithResolver(filesWithRule(t, "claims.sub == request.owner")))
		if !errors.Is(err, protojwt.ErrInvalidRule) || !strings.Contains(err.Error(), "WithExpressions(celexpr.New())") {
			t.Fatalf("New with no engine = %v, want an error saying to add WithExpressions(celexpr.New())", err)
		}
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
