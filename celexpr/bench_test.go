package celexpr_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
	"github.com/protojwt/protojwt/interceptor"
)

// BenchmarkRule compares, in one run, a unary call whose rule is the
// expression "'admin' in claims.roles || request.owner == claims.sub" with
// the same call under the equivalent declarative rule (any_of: roles
// contains "admin", sub equals the field owner). The interceptor runs
// directly, with the token cached by the Manager, so the figures are the
// cost of deciding, not of a transport. Sub-benchmarks: an owner who is no
// admin (both alternatives evaluated) and an admin (the first decides).
func BenchmarkRule(b *testing.B) {
	m := newManager(b)
	auth, err := interceptor.New(m, interceptor.WithExpressions(celexpr.New()))
	if err != nil {
		b.Fatal(err)
	}
	unary := auth.Unary()
	handler := func(context.Context, any) (any, error) { return nil, nil }
	callers := []struct {
		name   string
		claims map[string]any
	}{
		{"owner", map[string]any{"roles": []string{"reader", "writer"}}},
		{"admin", map[string]any{"roles": []string{"reader", "admin"}}},
	}
	rules := []struct {
		name   string
		method string
		req    any
	}{
		{"expr", "/protojwt.celexpr.test.v1.DocumentService/GetDocument", &testpb.GetDocumentRequest{Owner: "alice", Name: "notes"}},
		{"declarative", "/protojwt.celexpr.test.v1.DocumentService/GetDocumentDeclarative", &testpb.GetDocumentDeclarativeRequest{Owner: "alice", Name: "notes"}},
	}
	for _, c := range callers {
		signed := token(b, m, "alice", nil, c.claims)
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+signed))
		for _, r := range rules {
			info := &grpc.UnaryServerInfo{FullMethod: r.method}
			b.Run(c.name+"/"+r.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := unary(ctx, r.req, info, handler); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkNew100Methods measures interceptor.New over a service of 100
// methods, each with its own request message and rule: with an expression
// each, and with the equivalent declarative rule.
func BenchmarkNew100Methods(b *testing.B) {
	m := newManager(b)
	for _, kind := range []string{"expr", "declarative"} {
		files := hundredMethods(b, kind == "expr")
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := interceptor.New(m, interceptor.WithResolver(files), interceptor.WithExpressions(celexpr.New())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// hundredMethods returns a service of 100 methods, MethodN(MethodNRequest),
// each ruled by GetDocument's rule, as an expression or declared.
func hundredMethods(b *testing.B, expr bool) *protoregistry.Files {
	b.Helper()
	rule := &annotations.Rule{Expr: "'admin' in claims.roles || request.owner == claims.sub"}
	if !expr {
		rule = &annotations.Rule{AnyOf: []*annotations.Rule{
			{Check: []*annotations.ClaimCheck{{Claim: []string{"roles"}, Test: &annotations.ClaimCheck_Contains{Contains: &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: "admin"}}}}}},
			{Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}, Test: &annotations.ClaimCheck_Equals{Equals: &annotations.Match{Kind: &annotations.Match_Field{Field: "owner"}}}}}},
		}}
	}
	opts := &descriptorpb.MethodOptions{}
	proto.SetExtension(opts, annotations.E_Rule, rule)
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("celexpr/bench/v1/hundred.proto"),
		Package:    proto.String("celexpr.bench.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"protojwt/v1/annotations.proto"},
		Service:    []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("HundredService")}},
	}
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	for i := range 100 {
		name := fmt.Sprintf("Method%d", i)
		var fields []*descriptorpb.FieldDescriptorProto
		for j, f := range []string{"owner", "name", "parent"} {
			fields = append(fields, &descriptorpb.FieldDescriptorProto{
				Name: proto.String(f), JsonName: proto.String(f), Number: proto.Int32(int32(j + 1)),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: str,
			})
		}
		fdp.MessageType = append(fdp.MessageType, &descriptorpb.DescriptorProto{Name: proto.String(name + "Request"), Field: fields})
		fdp.Service[0].Method = append(fdp.Service[0].Method, &descriptorpb.MethodDescriptorProto{
			Name:       proto.String(name),
			InputType:  proto.String(".celexpr.bench.v1." + name + "Request"),
			OutputType: proto.String(".celexpr.bench.v1." + name + "Request"),
			Options:    opts,
		})
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		b.Fatal(err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		b.Fatal(err)
	}
	return files
}
