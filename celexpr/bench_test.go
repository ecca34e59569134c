package celexpr_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/ext"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt"
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

// BenchmarkRuleInterleaved runs BenchmarkRule's owner calls in alternating
// batches of the expression rule and the declarative one, timing each batch
// with the thread's CPU clock, and reports the CPU time per call of each
// and the difference: figures that a machine busy with other work disturbs
// far less than wall time, since both rules see the same moments.
func BenchmarkRuleInterleaved(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m := newManager(b)
	auth, err := interceptor.New(m, interceptor.WithExpressions(celexpr.New()))
	if err != nil {
		b.Fatal(err)
	}
	unary := auth.Unary()
	handler := func(context.Context, any) (any, error) { return nil, nil }
	signed := token(b, m, "alice", nil, map[string]any{"roles": []string{"reader", "writer"}})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+signed))
	exprInfo := &grpc.UnaryServerInfo{FullMethod: "/protojwt.celexpr.test.v1.DocumentService/GetDocument"}
	exprReq := &testpb.GetDocumentRequest{Owner: "alice", Name: "notes"}
	declInfo := &grpc.UnaryServerInfo{FullMethod: "/protojwt.celexpr.test.v1.DocumentService/GetDocumentDeclarative"}
	declReq := &testpb.GetDocumentDeclarativeRequest{Owner: "alice", Name: "notes"}

	const batch = 256
	var exprCPU, declCPU time.Duration
	calls := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, side := range []struct {
			info *grpc.UnaryServerInfo
			req  any
			cpu  *time.Duration
		}{{exprInfo, exprReq, &exprCPU}, {declInfo, declReq, &declCPU}} {
			start, ok := threadCPU()
			for range batch {
				if _, err := unary(ctx, side.req, side.info, handler); err != nil {
					b.Fatal(err)
				}
			}
			if end, _ := threadCPU(); ok {
				*side.cpu += end - start
			}
		}
		calls += batch
	}
	if _, ok := threadCPU(); !ok || calls == 0 {
		return
	}
	b.ReportMetric(float64(exprCPU.Nanoseconds())/float64(calls), "expr-cpu-ns/call")
	b.ReportMetric(float64(declCPU.Nanoseconds())/float64(calls), "declarative-cpu-ns/call")
	b.ReportMetric(float64((exprCPU-declCPU).Nanoseconds())/float64(calls), "extra-cpu-ns/call")
}

// BenchmarkHostileInterleaved runs, in alternating batches timed with the
// thread's CPU clock as BenchmarkRuleInterleaved does, unary calls of
// Search ("request.text.matches(request.pattern)") through the
// interceptor: a valid call (a short text and pattern), the most costly
// call the default cost limit lets run (a 2 700-byte text and a pattern of
// 46 instructions), and hostile calls at the 4 MiB message limit (a text
// of 4 MiB; a text and a pattern of 2 MiB each), which are refused. It
// reports the CPU time per call of each, and each as a multiple of the
// valid call's.
func BenchmarkHostileInterleaved(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m := newManager(b)
	auth, err := interceptor.New(m, interceptor.WithExpressions(celexpr.New()))
	if err != nil {
		b.Fatal(err)
	}
	unary := auth.Unary()
	handler := func(context.Context, any) (any, error) { return nil, nil }
	signed := token(b, m, "alice", nil, nil)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+signed))
	info := &grpc.UnaryServerInfo{FullMethod: "/protojwt.celexpr.test.v1.DocumentService/Search"}
	sides := []struct {
		name    string
		req     *testpb.SearchRequest
		allowed bool
		batch   int
		cpu     time.Duration
	}{
		{name: "valid", req: &testpb.SearchRequest{Text: "alice's notes", Pattern: "^alice"}, allowed: true, batch: 64},
		{name: "at-limit", req: &testpb.SearchRequest{Text: hostileText(2700), Pattern: hostilePattern(46)}, allowed: true, batch: 4},
		{name: "hostile-text", req: &testpb.SearchRequest{Text: hostileText(messageLimit - 64), Pattern: "a+"}, batch: 64},
		{name: "hostile-both", req: &testpb.SearchRequest{Text: hostileText(messageLimit / 2), Pattern: hostilePattern(messageLimit/2 - 64)}, batch: 64},
	}
	rounds := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range sides {
			side := &sides[i]
			start, ok := threadCPU()
			for range side.batch {
				_, err := unary(ctx, side.req, info, handler)
				if (err == nil) != side.allowed {
					b.Fatalf("%s: error %v, want allowed: %v", side.name, err, side.allowed)
				}
			}
			if end, _ := threadCPU(); ok {
				side.cpu += end - start
			}
		}
		rounds++
	}
	if _, ok := threadCPU(); !ok || rounds == 0 {
		return
	}
	perCall := func(i int) float64 {
		return float64(sides[i].cpu.Nanoseconds()) / float64(rounds*sides[i].batch)
	}
	valid := perCall(0)
	for i, side := range sides {
		b.ReportMetric(perCall(i), side.name+"-cpu-ns/call")
		if i > 0 {
			b.ReportMetric(perCall(i)/valid, side.name+"/valid")
		}
	}
}

// BenchmarkReplace evaluates "request.text.replace('{t}', claims.tenant)
// .size() < 64" with ext.Strings: on a short template, and on a template of
// 300 KB and of 4 MiB full of placeholders, which is refused.
func BenchmarkReplace(b *testing.B) {
	x, err := celexpr.New(celexpr.WithEnvOptions(ext.Strings())).Compile("request.text.replace('{t}', claims.tenant).size() < 64", searchDesc)
	if err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{"tenant": strings.Repeat("x", 1000)}
	for _, c := range []struct {
		name    string
		text    string
		allowed bool
	}{
		{"valid", "{t}/docs", false},
		{"hostile-300KB", strings.Repeat("{t}", 100_000), false},
		{"hostile-4MiB", strings.Repeat("{t}", (messageLimit-64)/3), false},
	} {
		in := protojwt.ExpressionInput{Claims: claims, Request: &testpb.SearchRequest{Text: c.text}}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := x.Eval(in); (err == nil) != (c.name == "valid") {
					b.Fatal(err)
				}
			}
		})
	}
}
