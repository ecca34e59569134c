package celexpr

import (
	"encoding/json"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
)

// folderFile declares MoveRequest, whose string fields lie under singular
// messages, a recursive one, a wrapper and an Any. Each call declares the
// same types anew, as descriptors that are not the first call's:
//
//	message Folder { string owner = 1; Folder parent = 2; google.protobuf.StringValue title = 3; optional string label = 4; }
//	message MoveRequest { Folder folder = 1; string owner = 2; google.protobuf.StringValue title = 3; google.protobuf.Any any = 4; int64 size = 5; }
func folderFile(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	optional := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	field := func(name string, number int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(number), Label: optional, Type: typ.Enum()}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	str, msg, i64 := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, descriptorpb.FieldDescriptorProto_TYPE_INT64
	label := field("label", 4, str, "")
	label.Proto3Optional, label.OneofIndex = proto.Bool(true), proto.Int32(0)
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("celexpr/direct/v1/folder.proto"),
		Package:    proto.String("celexpr.direct.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/wrappers.proto", "google/protobuf/any.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{
				Name: proto.String("Folder"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("owner", 1, str, ""),
					field("parent", 2, msg, ".celexpr.direct.v1.Folder"),
					field("title", 3, msg, ".google.protobuf.StringValue"),
					label,
				},
				OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("_label")}},
			},
			{
				Name: proto.String("MoveRequest"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("folder", 1, msg, ".celexpr.direct.v1.Folder"),
					field("owner", 2, str, ""),
					field("title", 3, msg, ".google.protobuf.StringValue"),
					field("any", 4, msg, ".google.protobuf.Any"),
					field("size", 5, i64, ""),
				},
			},
		},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestDirectComparisonsAreCELs: an expression planned with direct
// comparisons decides every call as the same expression planned with CEL's
// nodes alone, with the same error, for operands of every kind (claims,
// nested claims, path wildcards, request fields under messages set and
// unset, literals) and values of every type, absent, or of another
// message type.
func TestDirectComparisonsAreCELs(t *testing.T) {
	folders := folderFile(t).Messages()
	moveDesc, folderDesc := folders.ByName("MoveRequest"), folders.ByName("Folder")
	otherFolderDesc := folderFile(t).Messages().ByName("Folder") // the same type, declared again
	docDesc := (&testpb.GetDocumentRequest{}).ProtoReflect().Descriptor()
	move := func(set func(m, folder *dynamicpb.Message)) proto.Message {
		m, folder := dynamicpb.NewMessage(moveDesc), dynamicpb.NewMessage(folderDesc)
		set(m, folder)
		return m
	}
	str := protoreflect.ValueOfString
	claimSets := []map[string]any{
		{"sub": "alice", "roles": []any{"reader", "writer"}, "delegates": []any{"bob", "alice"}, "org": map[string]any{"owner": "alice"}},
		{"sub": "bob", "roles": []any{"reader", "admin"}, "delegates": []any{}, "org": map[string]any{"owner": "bob", "unit": map[string]any{"owner": "alice"}}},
		{"sub": "", "roles": []any{nil, 1.0, "Admin", []any{"admin"}, map[string]any{"admin": true}, json.Number("7")}, "org": "alice"},
		{"sub": 7.0, "roles": "admin", "delegates": "alice", "org": map[string]any{"owner": 7.0}},
		{"sub": json.Number("7"), "roles": map[string]any{"admin": true}, "delegates": map[string]any{"alice": true}, "org": map[string]any{}},
		{"sub": nil, "roles": nil, "delegates": []any{nil}, "org": nil},
		{"sub": []any{"alice"}, "roles": []string{"admin"}, "delegates": []string{"alice"}, "org": map[string]string{"owner": "alice"}},
		{"sub": map[string]any{"alice": "alice"}, "roles": []any{"admin"}, "delegates": []any{7.0, "alice"}},
		{"sub": true, "roles": []any{"reader"}},
		{},
		nil,
	}
	rpcs := []struct {
		request  protoreflect.MessageDescriptor
		exprs    []string
		requests []proto.Message
	}{
		{
			request: docDesc,
			exprs: []string{
				"'admin' in claims.roles || request.owner == claims.sub",
				"request.owner == claims.sub",
				"claims.sub != request.owner",
				"claims['sub'] == 'alice'",
				"'alice' != claims.sub",
				"claims.org.owner == request.owner",
				"claims.org.unit.owner == request.owner",
				"claims['org']['owner'] != 'alice'",
				"request.owner in claims.delegates",
				"claims.sub in claims.delegates",
				"'admin' in claims.roles",
				"request.name == 'notes' && request.owner != ''",
				"claims.sub == claims.org.owner",
				"claims.sub in ['alice', 'bob']",
				"request.owner in ['alice'] && claims.org.owner in ['alice', 'carol']",
				"claims.sub in []",
				"claims.sub in ['alice', 7, 7.0, true]",
				"claims.roles in [['admin']]",
			},
			requests: []proto.Message{
				&testpb.GetDocumentRequest{Owner: "alice", Name: "notes"},
				&testpb.GetDocumentRequest{Owner: "bob"},
				&testpb.GetDocumentRequest{},
				(*testpb.GetDocumentRequest)(nil),
				&testpb.WatchRequest{Owner: "alice"}, // another type, with a field of the same name
				&testpb.SearchRequest{Text: "alice"},
				dynamicpb.NewMessage(docDesc),
				nil,
			},
		},
		{
			request: moveDesc,
			exprs: []string{
				"request.folder.owner == claims.sub",
				"request.folder.parent.owner == claims.sub",
				"request.folder.parent.parent.owner != claims.sub",
				"request.folder.label == claims.sub",
				"request.title == claims.sub",
				"request.folder.title == claims.sub",
				"request.any.type_url == claims.sub",
				"request.any.owner == claims.sub",
				"request.size == claims.sub",
				"request.owner in claims.delegates || request.folder.owner in claims.delegates",
			},
			requests: []proto.Message{
				move(func(m, f *dynamicpb.Message) {
					f.Set(folderDesc.Fields().ByName("owner"), str("alice"))
					m.Set(moveDesc.Fields().ByName("folder"), protoreflect.ValueOfMessage(f))
				}),
				move(func(m, f *dynamicpb.Message) {
					parent := dynamicpb.NewMessage(folderDesc)
					parent.Set(folderDesc.Fields().ByName("owner"), str("alice"))
					f.Set(folderDesc.Fields().ByName("parent"), protoreflect.ValueOfMessage(parent))
					f.Set(folderDesc.Fields().ByName("label"), str("alice"))
					m.Set(moveDesc.Fields().ByName("folder"), protoreflect.ValueOfMessage(f))
					m.Set(moveDesc.Fields().ByName("owner"), str("bob"))
				}),
				move(func(m, f *dynamicpb.Message) {
					f.Set(folderDesc.Fields().ByName("label"), str(""))
					m.Set(moveDesc.Fields().ByName("folder"), protoreflect.ValueOfMessage(f))
				}),
				move(func(*dynamicpb.Message, *dynamicpb.Message) {}),
				move(func(m, f *dynamicpb.Message) {
					other := dynamicpb.NewMessage(otherFolderDesc)
					other.Set(otherFolderDesc.Fields().ByName("owner"), str("alice"))
					m.Set(moveDesc.Fields().ByName("folder"), protoreflect.ValueOfMessage(other))
				}),
				move(func(m, f *dynamicpb.Message) {
					f.Set(folderDesc.Fields().ByName("owner"), str("alice"))
					packed, err := anypb.New(f)
					if err != nil {
						t.Fatal(err)
					}
					m.Set(moveDesc.Fields().ByName("any"), protoreflect.ValueOfMessage(packed.ProtoReflect()))
					m.Set(moveDesc.Fields().ByName("title"), protoreflect.ValueOfMessage(wrapperspb.String("alice").ProtoReflect()))
					m.Set(moveDesc.Fields().ByName("size"), protoreflect.ValueOfInt64(7))
				}),
				dynamicpb.NewMessage(folderDesc), // another type
				&testpb.GetDocumentRequest{Owner: "alice"},
				nil,
			},
		},
	}
	direct, plain := New(), &Engine{celNodesOnly: true}
	counts := map[string]int{}
	compare := func(t *testing.T, expr string, request protoreflect.MessageDescriptor, ins []protojwt.ExpressionInput) {
		t.Helper()
		x, err := direct.Compile(expr, request)
		if err != nil {
			t.Fatalf("Compile(%q): %v", expr, err)
		}
		ref, err := plain.Compile(expr, request)
		if err != nil {
			t.Fatalf("Compile(%q), CEL's nodes: %v", expr, err)
		}
		for _, in := range ins {
			got, gotErr := x.Eval(in)
			want, wantErr := ref.Eval(in)
			if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("%s with claims %v, request %v, path %v = %v, %v; CEL's nodes say %v, %v",
					expr, in.Claims, in.Request, in.Path, got, gotErr, want, wantErr)
			}
			switch {
			case wantErr != nil:
				counts["error"]++
			case want:
				counts["true"]++
			default:
				counts["false"]++
			}
		}
	}
	for _, rpc := range rpcs {
		var ins []protojwt.ExpressionInput
		for _, claims := range claimSets {
			for _, req := range rpc.requests {
				ins = append(ins, protojwt.ExpressionInput{Claims: claims, Request: req})
			}
		}
		for _, expr := range rpc.exprs {
			compare(t, expr, rpc.request, ins)
		}
	}
	var ins []protojwt.ExpressionInput
	for _, claims := range claimSets {
		for _, path := range []map[string]string{{"id": "alice"}, {"id": "bob", "name": "alice"}, {"id": ""}, {}, nil} {
			ins = append(ins, protojwt.ExpressionInput{Claims: claims, Path: path})
		}
	}
	for _, expr := range []string{
		"path.id == claims.sub",
		"claims.sub != path['id']",
		"path.id in claims.delegates || 'admin' in claims.roles",
		"path.id == 'alice'",
		"path.name == path.id",
	} {
		compare(t, expr, nil, ins)
	}
	for _, outcome := range []string{"true", "false", "error"} {
		if counts[outcome] == 0 {
			t.Errorf("no evaluation was %s: the cases miss a kind of outcome (%v)", outcome, counts)
		}
	}
}

// TestDirectComparisonsAllocateNothing: comparing strings read where they
// are allocates nothing, in an evaluation that holds and in one that
// fails, where CEL's nodes copy each string and the roles into new values.
func TestDirectComparisonsAllocateNothing(t *testing.T) {
	docDesc := (&testpb.GetDocumentRequest{}).ProtoReflect().Descriptor()
	owner := protojwt.ExpressionInput{
		Claims:  map[string]any{"sub": "alice", "roles": []any{"reader", "writer"}},
		Request: &testpb.GetDocumentRequest{Owner: "alice", Name: "notes"},
	}
	stranger := protojwt.ExpressionInput{
		Claims:  map[string]any{"sub": "bob", "roles": []any{"reader"}},
		Request: owner.Request,
	}
	tests := []struct {
		expr    string
		request protoreflect.MessageDescriptor
		in      protojwt.ExpressionInput
		want    bool
	}{
		{"'admin' in claims.roles || request.owner == claims.sub", docDesc, owner, true},
		{"'admin' in claims.roles || request.owner == claims.sub", docDesc, stranger, false},
		{"claims.sub != request.name && request.owner in ['alice', 'bob']", docDesc, owner, true},
		{"path.owner == claims.sub", nil, protojwt.ExpressionInput{Claims: owner.Claims, Path: map[string]string{"owner": "alice"}}, true},
	}
	for _, tt := range tests {
		x, err := New().Compile(tt.expr, tt.request)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.expr, err)
		}
		var got bool
		allocs := testing.AllocsPerRun(100, func() {
			got, err = x.Eval(tt.in)
		})
		if err != nil || got != tt.want {
			t.Errorf("%s = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per evaluation, want 0", tt.expr, allocs)
		}
	}
}

// FuzzDirectComparisons evaluates any expression about GetDocumentRequest
// with the comparisons read in place and with CEL's nodes alone, on any
// claims and request: both give the same answer and the same error.
func FuzzDirectComparisons(f *testing.F) {
	for _, seed := range []struct{ expr, claims, owner string }{
		{"'admin' in claims.roles || request.owner == claims.sub", `{"sub":"alice","roles":["reader"]}`, "alice"},
		{"request.owner in claims.a.b", `{"a":{"b":["x",1,null,true]}}`, "x"},
		{"claims['sub'] != request.name", `{"sub":1}`, "1"},
		{"request.owner in ['a', 'b'] && claims.sub == 'b'", `{"sub":"b"}`, "a"},
		{"claims.sub in claims.roles", `{"sub":"r","roles":{"r":1}}`, ""},
		{"claims.missing == 'x' || true", `{}`, ""},
	} {
		f.Add(seed.expr, []byte(seed.claims), seed.owner)
	}
	direct, plain := New(), &Engine{celNodesOnly: true}
	docDesc := (&testpb.GetDocumentRequest{}).ProtoReflect().Descriptor()
	f.Fuzz(func(t *testing.T, expr string, claimsJSON []byte, owner string) {
		x, err := direct.Compile(expr, docDesc)
		if err != nil {
			return
		}
		ref, err := plain.Compile(expr, docDesc)
		if err != nil {
			t.Fatalf("Compile(%q) with CEL's nodes alone: %v", expr, err)
		}
		var claims map[string]any
		if json.Unmarshal(claimsJSON, &claims) != nil {
			claims = map[string]any{"sub": string(claimsJSON)}
		}
		for _, req := range []proto.Message{&testpb.GetDocumentRequest{Owner: owner, Name: owner}, nil} {
			in := protojwt.ExpressionInput{Claims: claims, Request: req}
			got, gotErr := x.Eval(in)
			want, wantErr := ref.Eval(in)
			if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("%q with claims %s, request %v = %v, %v; CEL's nodes say %v, %v", expr, claimsJSON, req, got, gotErr, want, wantErr)
			}
		}
	})
}
