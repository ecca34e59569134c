package annotations_test

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/testpb"
)

// sample is a rule with every field set.
func sample(t *testing.T) *annotations.Rule {
	t.Helper()
	scope, err := structpb.NewStruct(map[string]any{"admin": true, "projects": []any{"apollo"}})
	if err != nil {
		t.Fatal(err)
	}
	return &annotations.Rule{
		TokenType: annotations.TokenType_TOKEN_TYPE_AUTH,
		Claims: map[string]*annotations.Match{
			"sub":   {Kind: &annotations.Match_Field{Field: "user.id"}},
			"role":  {Kind: &annotations.Match_StringValue{StringValue: "admin"}},
			"level": {Kind: &annotations.Match_NumberValue{NumberValue: 3}},
			"ok":    {Kind: &annotations.Match_BoolValue{BoolValue: true}},
		},
		Scope:  scope,
		Scopes: []string{"read", "write"},
		AnyOf:  []*annotations.Rule{{Scopes: []string{"admin"}}},
	}
}

// unknownBytes returns r encoded as the extension field num, as it sits in
// the unknown fields of options parsed without the extension known.
func unknownBytes(t *testing.T, num protoreflect.FieldNumber, r *annotations.Rule) []byte {
	t.Helper()
	b, err := proto.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
}

// runtimeService builds, from descriptor protos, the file svc/v1/svc.proto
// with the service svc.v1.Service and its method Call, the options given as
// they are, and returns the service.
func runtimeService(t *testing.T, sopts *descriptorpb.ServiceOptions, mopts *descriptorpb.MethodOptions) protoreflect.ServiceDescriptor {
	t.Helper()
	fd := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("svc/v1/svc.proto"),
		Package:     proto.String("svc.v1"),
		Syntax:      proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Msg")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:    proto.String("Service"),
			Options: sopts,
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Call"), InputType: proto.String(".svc.v1.Msg"), OutputType: proto.String(".svc.v1.Msg"),
				Options: mopts,
			}},
		}},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatalf("protodesc.NewFile: %v", err)
	}
	return f.Services().Get(0)
}

// dynamicOptions wraps a method or service descriptor to return options
// held in a dynamic message, as descriptors built with another copy of
// descriptor.proto have them.
type dynamicMethod struct {
	protoreflect.MethodDescriptor
	opts proto.Message
}

func (d dynamicMethod) Options() protoreflect.ProtoMessage { return d.opts }

type dynamicService struct {
	protoreflect.ServiceDescriptor
	opts proto.Message
}

func (d dynamicService) Options() protoreflect.ProtoMessage { return d.opts }

// dynamicOptions returns an empty dynamic message of the options type of
// template.
func dynamicOptions(template proto.Message) *dynamicpb.Message {
	return dynamicpb.NewMessage(template.ProtoReflect().Descriptor())
}

// dynamicRuleExtension sets r on opts as a dynamic extension: a foreign
// extension type holding a dynamic Rule.
func dynamicRuleExtension(t *testing.T, opts *dynamicpb.Message, xt protoreflect.ExtensionType, r *annotations.Rule) {
	t.Helper()
	dxt := dynamicpb.NewExtensionType(xt.TypeDescriptor().Descriptor())
	dr := dynamicpb.NewMessage(r.ProtoReflect().Descriptor())
	b, err := proto.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, dr); err != nil {
		t.Fatal(err)
	}
	opts.Set(dxt.TypeDescriptor(), protoreflect.ValueOfMessage(dr))
}

func TestMethodRule(t *testing.T) {
	want := sample(t)
	guarded := testpb.File_protojwt_test_v1_test_proto.Services().ByName("GuardedService")

	withUnknown := func(raw []byte) *descriptorpb.MethodOptions {
		o := &descriptorpb.MethodOptions{Deprecated: proto.Bool(true)}
		o.ProtoReflect().SetUnknown(raw)
		return o
	}
	dynUnknown := dynamicOptions(&descriptorpb.MethodOptions{})
	dynUnknown.SetUnknown(unknownBytes(t, annotations.E_Rule.TypeDescriptor().Number(), want))
	dynExt := dynamicOptions(&descriptorpb.MethodOptions{})
	dynamicRuleExtension(t, dynExt, annotations.E_Rule, want)
	dynOther := dynamicOptions(&descriptorpb.MethodOptions{})
	dynOther.SetUnknown(unknownBytes(t, annotations.E_DefaultRule.TypeDescriptor().Number(), want))

	known := &descriptorpb.MethodOptions{}
	proto.SetExtension(known, annotations.E_Rule, want)

	tests := []struct {
		name    string
		md      protoreflect.MethodDescriptor
		want    *annotations.Rule // nil: no rule
		wantErr bool
	}{
		{name: "generated", md: guarded.Methods().ByName("LiteralString"), want: &annotations.Rule{
			Claims: map[string]*annotations.Match{"role": {Kind: &annotations.Match_StringValue{StringValue: "admin"}}},
		}},
		{name: "generated public", md: guarded.Methods().ByName("Public"), want: &annotations.Rule{Public: true}},
		{name: "generated without option", md: guarded.Methods().ByName("Undeclared")},
		{name: "generated, default rule not merged", md: testpb.File_protojwt_test_v1_test_proto.Services().ByName("DefaultedService").Methods().ByName("Inherit")},
		{name: "runtime, known extension", md: runtimeService(t, nil, known).Methods().Get(0), want: want},
		{name: "runtime, unknown fields", md: runtimeService(t, nil, withUnknown(unknownBytes(t, 51720, want))).Methods().Get(0), want: want},
		{name: "runtime, unknown fields of another option", md: runtimeService(t, nil, withUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 50000, protowire.VarintType), 1))).Methods().Get(0)},
		{name: "runtime, empty rule", md: runtimeService(t, nil, withUnknown(unknownBytes(t, 51720, &annotations.Rule{}))).Methods().Get(0), want: &annotations.Rule{}},
		{name: "runtime, no options", md: runtimeService(t, nil, nil).Methods().Get(0)},
		{name: "runtime, empty options", md: runtimeService(t, nil, &descriptorpb.MethodOptions{}).Methods().Get(0)},
		{name: "runtime, malformed rule bytes", md: runtimeService(t, nil, withUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 51720, protowire.BytesType), []byte{0xff}))).Methods().Get(0), wantErr: true},
		{name: "dynamic, unknown fields", md: dynamicMethod{guarded.Methods().ByName("Undeclared"), dynUnknown}, want: want},
		{name: "dynamic, dynamic extension", md: dynamicMethod{guarded.Methods().ByName("Undeclared"), dynExt}, want: want},
		{name: "dynamic, service option number", md: dynamicMethod{guarded.Methods().ByName("Undeclared"), dynOther}},
		{name: "dynamic, empty", md: dynamicMethod{guarded.Methods().ByName("Undeclared"), dynamicOptions(&descriptorpb.MethodOptions{})}},
		{name: "nil options", md: dynamicMethod{guarded.Methods().ByName("Undeclared"), nil}},
		{name: "typed nil options", md: dynamicMethod{guarded.Methods().ByName("Undeclared"), (*descriptorpb.MethodOptions)(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := annotations.MethodRule(tt.md)
			checkRule(t, got, ok, err, tt.want, tt.wantErr)
		})
	}
}

func TestServiceDefaultRule(t *testing.T) {
	want := sample(t)
	file := testpb.File_protojwt_test_v1_test_proto

	unknown := &descriptorpb.ServiceOptions{}
	unknown.ProtoReflect().SetUnknown(unknownBytes(t, 51721, want))
	methodNumber := &descriptorpb.ServiceOptions{}
	methodNumber.ProtoReflect().SetUnknown(unknownBytes(t, 51720, want))
	known := &descriptorpb.ServiceOptions{}
	proto.SetExtension(known, annotations.E_DefaultRule, want)
	dynUnknown := dynamicOptions(&descriptorpb.ServiceOptions{})
	dynUnknown.SetUnknown(unknownBytes(t, 51721, want))
	dynExt := dynamicOptions(&descriptorpb.ServiceOptions{})
	dynamicRuleExtension(t, dynExt, annotations.E_DefaultRule, want)

	tests := []struct {
		name    string
		sd      protoreflect.ServiceDescriptor
		want    *annotations.Rule
		wantErr bool
	}{
		{name: "generated", sd: file.Services().ByName("DefaultedService"), want: &annotations.Rule{Scopes: []string{"read"}}},
		{name: "generated without option", sd: file.Services().ByName("GuardedService")},
		{name: "runtime, known extension", sd: runtimeService(t, known, nil), want: want},
		{name: "runtime, unknown fields", sd: runtimeService(t, unknown, nil), want: want},
		{name: "runtime, method option number", sd: runtimeService(t, methodNumber, nil)},
		{name: "runtime, no options", sd: runtimeService(t, nil, nil)},
		{name: "dynamic, unknown fields", sd: dynamicService{file.Services().ByName("OpenService"), dynUnknown}, want: want},
		{name: "dynamic, dynamic extension", sd: dynamicService{file.Services().ByName("OpenService"), dynExt}, want: want},
		{name: "dynamic, empty", sd: dynamicService{file.Services().ByName("OpenService"), dynamicOptions(&descriptorpb.ServiceOptions{})}},
		{name: "nil options", sd: dynamicService{file.Services().ByName("OpenService"), nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := annotations.ServiceDefaultRule(tt.sd)
			checkRule(t, got, ok, err, tt.want, tt.wantErr)
		})
	}
}

// checkRule fails unless (got, ok, err) is want (nil for none) or, with
// wantErr, an error.
func checkRule(t *testing.T, got *annotations.Rule, ok bool, err error, want *annotations.Rule, wantErr bool) {
	t.Helper()
	if wantErr {
		if err == nil {
			t.Fatalf("got rule %v, %v and no error, want an error", got, ok)
		}
		if ok || got != nil {
			t.Errorf("got rule %v, %v with the error", got, ok)
		}
		return
	}
	if err != nil {
		t.Fatalf("error %v", err)
	}
	if ok != (want != nil) {
		t.Fatalf("found = %v, want %v (rule %v)", ok, want != nil, got)
	}
	if want != nil && !proto.Equal(got, want) {
		t.Errorf("rule = %s\nwant   %s", prototext.Format(got), prototext.Format(want))
	}
}
