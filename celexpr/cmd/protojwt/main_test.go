package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
	"github.com/protojwt/protojwt/cli"
)

// rules runs "protojwt rules args..." as this command does, with CEL, and
// returns its exit code and outputs.
func rules(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = cli.Run(append([]string{"rules"}, args...), strings.NewReader(""), &out, &errs, func(string) string { return "" }, celexpr.New())
	return code, out.String(), errs.String()
}

// writeSet writes a FileDescriptorSet of files and their imports, as buf
// build writes one, and returns its path.
func writeSet(t *testing.T, files ...protoreflect.FileDescriptor) string {
	t.Helper()
	set := fileDescriptorSet(files...)
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "api.binpb")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileDescriptorSet returns files and everything they import, each file
// once and after its imports, as "buf build -o" writes a descriptor set.
// (The core module's tests have the same builder, in a package internal to
// that module.)
func fileDescriptorSet(files ...protoreflect.FileDescriptor) *descriptorpb.FileDescriptorSet {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range files {
		add(fd)
	}
	return set
}

// probeFile is a service whose methods have the rule {expr: exprs[name]},
// each on a request with a string owner and an int64 amount.
func probeFile(t *testing.T, exprs map[string]string) protoreflect.FileDescriptor {
	t.Helper()
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(n),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: typ.Enum(),
		}
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("audit/v1/probe.proto"),
		Package:    proto.String("audit.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"protojwt/v1/annotations.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Req"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("owner", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING),
				field("amount", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64),
			},
		}},
	}
	svc := &descriptorpb.ServiceDescriptorProto{Name: proto.String("ProbeService")}
	for _, name := range slices.Sorted(maps.Keys(exprs)) {
		opts := &descriptorpb.MethodOptions{}
		proto.SetExtension(opts, annotations.E_Rule, &annotations.Rule{Expr: exprs[name]})
		svc.Method = append(svc.Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".audit.v1.Req"), OutputType: proto.String(".audit.v1.Req"), Options: opts,
		})
	}
	fdp.Service = []*descriptorpb.ServiceDescriptorProto{svc}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestRulesStrictCompilesExpressions: --strict passes an API whose
// expressions all compile against their requests, the CEL build's verdict
// a build without CEL can't give.
func TestRulesStrictCompilesExpressions(t *testing.T) {
	path := writeSet(t, testpb.File_protojwt_celexpr_test_v1_test_proto)
	code, stdout, stderr := rules(t, "--strict", path)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	const svc = "/protojwt.celexpr.test.v1.DocumentService/"
	if want := `expr('admin' in claims.roles || request.owner == claims.sub)`; !strings.Contains(row(stdout, svc+"GetDocument"), want) {
		t.Errorf("GetDocument's row lacks %s:\n%s", want, stdout)
	}
	if !strings.Contains(stdout, "0 invalid") || strings.Contains(stdout, "INVALID") {
		t.Errorf("an API whose expressions compile is reported invalid:\n%s", stdout)
	}
}

// TestRulesStrictReportsExpressionErrors: each expression a server would
// refuse to start with is INVALID on its own method's row, with CEL's
// message, the good one beside them is not, and --strict exits 1.
func TestRulesStrictReportsExpressionErrors(t *testing.T) {
	cases := map[string]struct{ expr, want string }{
		"Good":         {"request.owner == claims.sub && request.amount <= claims.limit", ""},
		"Syntax":       {"claims.sub ==", "Syntax error"},
		"NotBool":      {"request.amount + 1", "int, not bool"},
		"UnknownField": {"request.ownr == claims.sub", "undefined field 'ownr'"},
		"Path":         {"path.owner == claims.sub", "RPC has no path"},
	}
	exprs := map[string]string{}
	for name, c := range cases {
		exprs[name] = c.expr
	}
	path := writeSet(t, probeFile(t, exprs))

	code, stdout, stderr := rules(t, "--strict", path)
	if code != 1 || !strings.Contains(stderr, "4 invalid") {
		t.Fatalf("exit %d, want 1 with 4 invalid\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for name, c := range cases {
		got := row(stdout, "/audit.v1.ProbeService/"+name)
		switch {
		case got == "":
			t.Errorf("%s: no row:\n%s", name, stdout)
		case c.want == "" && strings.Contains(got, "INVALID"):
			t.Errorf("%s: a good expression reported invalid: %s", name, got)
		case c.want != "" && !strings.Contains(got, "INVALID: invalid rule: expr: "):
			t.Errorf("%s: row %q is not INVALID", name, got)
		case !strings.Contains(got, c.want):
			t.Errorf("%s: row %q does not say %q", name, got, c.want)
		}
	}

	_, stdout, _ = rules(t, "--json", path)
	var audit struct {
		Methods []struct{ Method, Expr, Error string }
	}
	if err := json.Unmarshal([]byte(stdout), &audit); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	for _, m := range audit.Methods {
		name := strings.TrimPrefix(m.Method, "/audit.v1.ProbeService/")
		if m.Expr != cases[name].expr || (m.Error == "") != (cases[name].want == "") {
			t.Errorf("--json %s: expr %q, error %q", name, m.Expr, m.Error)
		}
	}
}

// row returns the line of stdout for the method, "" when none.
func row(stdout, method string) string {
	for line := range strings.Lines(stdout) {
		if strings.HasPrefix(line, method+" ") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	return ""
}

// TestHelpSaysCEL: the command's usage says that this build compiles
// expressions, so that a user can tell it from the build without CEL.
func TestHelpSaysCEL(t *testing.T) {
	var out bytes.Buffer
	if code := cli.Run([]string{"--help"}, strings.NewReader(""), &out, &out, nil, celexpr.New()); code != 0 {
		t.Fatalf("--help: exit %d\n%s", code, out.String())
	}
	if s := out.String(); !strings.Contains(s, "This build compiles the expr of rules (CEL)") || strings.Contains(s, "no CEL") {
		t.Errorf("usage does not say the build has CEL:\n%s", s)
	}
}
