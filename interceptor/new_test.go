package interceptor_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
)

// Descriptors built at test time, never registered in GlobalFiles.

// optionEncoding is how a rule is put in a method's or service's options.
type optionEncoding int

const (
	asExtension optionEncoding = iota // a known extension, as generated code has it
	asUnknown                         // raw bytes in the unknown fields
)

// field path requests: package bad.v1, message Req and its Inner.
func badRequestMessages() []*descriptorpb.DescriptorProto {
	f := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		fd := &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), Label: label.Enum(),
			JsonName: proto.String(name),
		}
		if typeName != "" {
			fd.TypeName = proto.String(typeName)
		}
		return fd
	}
	const (
		opt = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		rep = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		str = descriptorpb.FieldDescriptorProto_TYPE_STRING
		msg = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	return []*descriptorpb.DescriptorProto{
		{
			Name: proto.String("Req"),
			Field: []*descriptorpb.FieldDescriptorProto{
				f("name", 1, str, opt, ""),
				f("inner", 2, msg, opt, ".bad.v1.Inner"),
				f("tags", 3, str, rep, ""),
				f("labels", 4, msg, rep, ".bad.v1.Req.LabelsEntry"),
				f("blob", 5, descriptorpb.FieldDescriptorProto_TYPE_BYTES, opt, ""),
				f("count", 6, descriptorpb.FieldDescriptorProto_TYPE_INT32, opt, ""),
				f("inners", 7, msg, rep, ".bad.v1.Inner"),
				f("flag", 8, descriptorpb.FieldDescriptorProto_TYPE_BOOL, opt, ""),
				f("ratio", 9, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, opt, ""),
				f("big", 10, descriptorpb.FieldDescriptorProto_TYPE_UINT64, opt, ""),
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name:    proto.String("LabelsEntry"),
				Field:   []*descriptorpb.FieldDescriptorProto{f("key", 1, str, opt, ""), f("value", 2, str, opt, "")},
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			}},
		},
		{
			Name:  proto.String("Inner"),
			Field: []*descriptorpb.FieldDescriptorProto{f("id", 1, str, opt, ""), f("deeper", 2, msg, opt, ".bad.v1.Inner")},
		},
	}
}

// encodeRule puts r into opts as field number num of the options message.
func encodeRule(t *testing.T, opts proto.Message, xt protoreflect.ExtensionType, r *annotations.Rule, enc optionEncoding) {
	t.Helper()
	switch enc {
	case asExtension:
		proto.SetExtension(opts, xt, r)
	case asUnknown:
		b, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		raw := protowire.AppendTag(nil, xt.TypeDescriptor().Number(), protowire.BytesType)
		raw = protowire.AppendBytes(raw, b)
		m := opts.ProtoReflect()
		m.SetUnknown(append(m.GetUnknown(), raw...))
	}
}

// badFiles returns a resolver with one file, bad/v1/bad.proto, holding the
// service bad.v1.BadService with methods (name → rule), each taking a Req,
// and the service's default rule def (nil for none).
func badFiles(t *testing.T, enc optionEncoding, def *annotations.Rule, methods map[string]*annotations.Rule) *protoregistry.Files {
	t.Helper()
	sd := &descriptorpb.ServiceDescriptorProto{Name: proto.String("BadService"), Options: &descriptorpb.ServiceOptions{}}
	if def != nil {
		encodeRule(t, sd.Options, annotations.E_DefaultRule, def, enc)
	}
	for name, r := range methods {
		md := &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".bad.v1.Req"), OutputType: proto.String(".bad.v1.Req"),
			Options: &descriptorpb.MethodOptions{},
		}
		if r != nil {
			encodeRule(t, md.Options, annotations.E_Rule, r, enc)
		}
		sd.Method = append(sd.Method, md)
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("bad/v1/bad.proto"),
		Package:     proto.String("bad.v1"),
		Syntax:      proto.String("proto3"),
		MessageType: badRequestMessages(),
		Service:     []*descriptorpb.ServiceDescriptorProto{sd},
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fd}})
	if err != nil {
		t.Fatalf("protodesc.NewFiles: %v", err)
	}
	return files
}

// claimFrom is the rule: claim equals the request field path.
func claimFrom(claim, path string) *annotations.Rule {
	return &annotations.Rule{Claims: map[string]*annotations.Match{
		claim: {Kind: &annotations.Match_Field{Field: path}},
	}}
}

func fieldRule(path string) *annotations.Rule {
	return &annotations.Rule{Claims: map[string]*annotations.Match{
		"sub": {Kind: &annotations.Match_Field{Field: path}},
	}}
}

// TestNewRuleErrors checks that New refuses every rule it can't enforce,
// from options read as known extensions and from unknown fields, with an
// error wrapping ErrInvalidRule that names the method and the path.
func TestNewRuleErrors(t *testing.T) {
	m := newManager(t)
	tests := []struct {
		name string
		rule *annotations.Rule
		want []string // parts of the error message besides the method
	}{
		{name: "no such field", rule: fieldRule("missing"), want: []string{`"missing"`, "bad.v1.Req has no field"}},
		{name: "message field", rule: fieldRule("inner"), want: []string{`"inner"`, "is a message"}},
		{name: "repeated field", rule: fieldRule("tags"), want: []string{`"tags"`, "repeated"}},
		{name: "repeated message on the path", rule: fieldRule("inners.id"), want: []string{`"inners.id"`, "repeated"}},
		{name: "map field", rule: fieldRule("labels"), want: []string{`"labels"`, "map"}},
		{name: "map on the path", rule: fieldRule("labels.key"), want: []string{`"labels.key"`, "map"}},
		{name: "bytes field", rule: fieldRule("blob"), want: []string{`"blob"`, "bytes"}},
		{name: "through a string", rule: fieldRule("name.id"), want: []string{`"name.id"`, "not a message"}},
		{name: "through an int", rule: fieldRule("count.x"), want: []string{`"count.x"`, "not a message"}},
		{name: "no such nested field", rule: fieldRule("inner.nope"), want: []string{`"inner.nope"`, "bad.v1.Inner has no field"}},
		{name: "deep message", rule: fieldRule("inner.deeper"), want: []string{`"inner.deeper"`, "is a message"}},
		{name: "empty part", rule: fieldRule("inner..id"), want: []string{`"inner..id"`, "empty"}},
		{name: "trailing dot", rule: fieldRule("inner."), want: []string{`"inner."`, "empty"}},
		{name: "JSON name", rule: fieldRule("Name"), want: []string{`"Name"`, "no field"}},
		{name: "empty path", rule: fieldRule(""), want: []string{"empty field"}},
		{name: "bad path in any_of", rule: &annotations.Rule{AnyOf: []*annotations.Rule{fieldRule("name"), fieldRule("nope")}}, want: []string{`"nope"`}},
		{name: "claim with no value", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"role": {}}}, want: []string{`"role"`, "no value"}},
		{name: "nil claim", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"role": nil}}, want: []string{`"role"`, "no value"}},
		{name: "NaN literal", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"n": {Kind: &annotations.Match_NumberValue{NumberValue: math.NaN()}}}}, want: []string{`"n"`}},
		{name: "public with scopes", rule: &annotations.Rule{Public: true, Scopes: []string{"read"}}, want: []string{"public"}},
		{name: "empty scope name", rule: &annotations.Rule{Scopes: []string{""}}, want: []string{"scope name"}},
		{name: "scope name with space", rule: &annotations.Rule{Scopes: []string{"read write"}}, want: []string{`"read write"`}},
		{name: "unknown token type", rule: &annotations.Rule{TokenType: 7}, want: []string{"token_type"}},
		{name: "public alternative", rule: &annotations.Rule{AnyOf: []*annotations.Rule{{Public: true}}}, want: []string{"any_of[0]"}},
		{name: "empty claim name", rule: &annotations.Rule{Claims: map[string]*annotations.Match{"": {Kind: &annotations.Match_BoolValue{BoolValue: true}}}}, want: []string{"empty claim name"}},
		{name: "deep scope", rule: &annotations.Rule{Scope: deepStruct(40)}, want: []string{"deeper"}},
	}
	for _, enc := range []struct {
		name string
		enc  optionEncoding
	}{{"extension", asExtension}, {"unknown fields", asUnknown}} {
		for _, tt := range tests {
			t.Run(enc.name+"/"+tt.name, func(t *testing.T) {
				files := badFiles(t, enc.enc, nil, map[string]*annotations.Rule{"Good": fieldRule("inner.id"), "Bad": tt.rule})
				_, err := interceptor.New(m, interceptor.WithResolver(files))
				if !errors.Is(err, protojwt.ErrInvalidRule) {
					t.Fatalf("New error = %v, want ErrInvalidRule", err)
				}
				msg := err.Error()
				for _, part := range append([]string{"/bad.v1.BadService/Bad"}, tt.want...) {
					if !strings.Contains(msg, part) {
						t.Errorf("error %q does not say %s", msg, part)
					}
				}
				if strings.Contains(msg, "/Good") {
					t.Errorf("error %q names a good method", msg)
				}
			})
		}
	}
}

// deepStruct returns {"a": {"a": ... true}} nested depth times.
func deepStruct(depth int) *structpb.Struct {
	var v any = true
	for range depth {
		v = map[string]any{"a": v}
	}
	s, err := structpb.NewStruct(v.(map[string]any))
	if err != nil {
		panic(err)
	}
	return s
}

// TestNewErrorsOfServices checks a bad default rule, reported for every
// method that inherits it, and that New reports every bad method at once.
func TestNewErrorsOfServices(t *testing.T) {
	m := newManager(t)
	files := badFiles(t, asUnknown, fieldRule("nope"), map[string]*annotations.Rule{
		"InheritsA": nil,
		"InheritsB": nil,
		"Own":       fieldRule("name"),
		"OwnBad":    fieldRule("tags"),
	})
	_, err := interceptor.New(m, interceptor.WithResolver(files))
	if !errors.Is(err, protojwt.ErrInvalidRule) {
		t.Fatalf("New error = %v, want ErrInvalidRule", err)
	}
	for _, want := range []string{
		`/bad.v1.BadService/InheritsA: invalid rule: field path "nope"`,
		`/bad.v1.BadService/InheritsB: invalid rule: field path "nope"`,
		`/bad.v1.BadService/OwnBad: invalid rule: field path "tags"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "/Own:") {
		t.Errorf("error %q names the good method", err)
	}
}

// TestRulesFromUnknownFields enforces rules that a resolver built at run
// time holds in unknown fields, on dynamic request messages.
func TestRulesFromUnknownFields(t *testing.T) {
	m := newManager(t)
	files := badFiles(t, asUnknown, &annotations.Rule{Scopes: []string{"read"}}, map[string]*annotations.Rule{
		"ByName":    fieldRule("name"),
		"ByInnerID": fieldRule("inner.id"),
		"ByCount":   claimFrom("count", "count"),
		"ByFlag":    claimFrom("flag", "flag"),
		"ByRatio":   claimFrom("ratio", "ratio"),
		"ByBig":     claimFrom("big", "big"),
		"Inherits":  nil,
		"Public":    {Public: true},
	})
	auth, err := interceptor.New(m, interceptor.WithResolver(files))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d, err := files.FindDescriptorByName("bad.v1.Req")
	if err != nil {
		t.Fatal(err)
	}
	reqDesc := d.(protoreflect.MessageDescriptor)
	set := func(m proto.Message, field string, v any) proto.Message {
		m.ProtoReflect().Set(reqDesc.Fields().ByName(protoreflect.Name(field)), protoreflect.ValueOf(v))
		return m
	}
	newReq := func(name, innerID string, count int32) proto.Message {
		req := dynamicpb.NewMessage(reqDesc)
		if name != "" {
			req.Set(reqDesc.Fields().ByName("name"), protoreflect.ValueOfString(name))
		}
		if innerID != "" {
			inner := req.Mutable(reqDesc.Fields().ByName("inner")).Message()
			inner.Set(inner.Descriptor().Fields().ByName("id"), protoreflect.ValueOfString(innerID))
		}
		if count != 0 {
			req.Set(reqDesc.Fields().ByName("count"), protoreflect.ValueOfInt32(count))
		}
		return req
	}
	alice := bearer(authToken(t, m, "alice", "read", map[string]any{"count": 5, "flag": true, "ratio": 0.5, "big": 1 << 60}))

	tests := []struct {
		name       string
		method     string
		req        proto.Message
		auth       string
		wantCode   codes.Code
		wantReason string
	}{
		{name: "name/equal", method: "ByName", req: newReq("alice", "", 0), auth: alice},
		{name: "name/other", method: "ByName", req: newReq("bob", "", 0), auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "inner/equal", method: "ByInnerID", req: newReq("", "alice", 0), auth: alice},
		{name: "inner/unset", method: "ByInnerID", req: newReq("alice", "", 0), auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "count/equal", method: "ByCount", req: newReq("", "", 5), auth: alice},
		{name: "count/other", method: "ByCount", req: newReq("", "", 6), auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "bool/equal", method: "ByFlag", req: set(newReq("", "", 0), "flag", true), auth: alice},
		{name: "bool/false is unset", method: "ByFlag", req: set(newReq("", "", 0), "flag", false), auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "double/equal", method: "ByRatio", req: set(newReq("", "", 0), "ratio", 0.5), auth: alice},
		{name: "double/other", method: "ByRatio", req: set(newReq("", "", 0), "ratio", 0.25), auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "uint64/equal", method: "ByBig", req: set(newReq("", "", 0), "big", uint64(1<<60)), auth: alice},
		{name: "uint64/other", method: "ByBig", req: set(newReq("", "", 0), "big", uint64(1)), auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "not a message", method: "ByName", req: nil, auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "other message type", method: "ByName", req: &testpb.FieldTopRequest{Username: "alice"}, auth: alice, wantCode: codes.PermissionDenied, wantReason: "CLAIM_MISMATCH"},
		{name: "default rule", method: "Inherits", req: newReq("", "", 0), auth: alice},
		{name: "default rule/no token", method: "Inherits", req: newReq("", "", 0), wantCode: codes.Unauthenticated, wantReason: "TOKEN_MISSING"},
		{name: "public", method: "Public", req: newReq("", "", 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.auth != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", tt.auth))
			}
			var req any = tt.req
			if tt.req == nil {
				req = "not a message"
			}
			var called bool
			_, err := auth.Unary()(ctx, req, &grpc.UnaryServerInfo{FullMethod: "/bad.v1.BadService/" + tt.method},
				func(context.Context, any) (any, error) { called = true; return nil, nil })
			if tt.wantCode == codes.OK {
				if err != nil || !called {
					t.Fatalf("handler called %v, error %v; want the call allowed", called, err)
				}
				return
			}
			if called {
				t.Errorf("handler called, want a denial")
			}
			checkDenial(t, err, tt.wantCode, tt.wantReason)
		})
	}
}
