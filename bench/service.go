package bench

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protojwt/protojwt/annotations"
)

// EchoMethod is the full name of the one method of the benchmark service:
// it returns its request, a google.protobuf.StringValue.
const EchoMethod = "/bench.v1.EchoService/Echo"

// EchoRule is the protojwt rule of [EchoMethod]: an auth token whose sub
// equals the request's value and whose scope grants "read", the usual
// "a user reads their own resource".
func EchoRule() *annotations.Rule {
	return &annotations.Rule{
		Claims: map[string]*annotations.Match{"sub": {Kind: &annotations.Match_Field{Field: "value"}}},
		Scopes: []string{"read"},
	}
}

// Files returns a resolver that describes the benchmark service, with
// [EchoRule] as its method's (protojwt.v1.rule) option: the descriptor of a
// .proto file built in code, as a descriptor set loaded at run time would
// be.
func Files() (*protoregistry.Files, error) {
	opts := &descriptorpb.MethodOptions{}
	proto.SetExtension(opts, annotations.E_Rule, EchoRule())
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("bench/v1/echo.proto"),
		Package:    proto.String("bench.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/wrappers.proto", "protojwt/v1/annotations.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("EchoService"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name:       proto.String("Echo"),
				InputType:  proto.String(".google.protobuf.StringValue"),
				OutputType: proto.String(".google.protobuf.StringValue"),
				Options:    opts,
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return nil, fmt.Errorf("bench: build descriptor: %w", err)
	}
	files := new(protoregistry.Files)
	if err := files.RegisterFile(fd); err != nil {
		return nil, fmt.Errorf("bench: register descriptor: %w", err)
	}
	return files, nil
}

// echoServiceDesc registers the benchmark service on a [grpc.Server] without
// generated code.
var echoServiceDesc = grpc.ServiceDesc{
	ServiceName: "bench.v1.EchoService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return echo(ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: EchoMethod}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return echo(ctx, req.(*wrapperspb.StringValue))
			})
		},
	}},
	Metadata: "bench/v1/echo.proto",
}

// echo is the handler: it returns its request.
func echo(_ context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return in, nil
}
