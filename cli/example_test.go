package cli_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/cli"
)

// weekdays is an expression engine of your own: it knows one function,
// on_weekdays(), as a CEL build with a custom function would. Your command
// would pass celexpr.New(celexpr.WithEnvOptions(...)) instead.
type weekdays struct{}

func (weekdays) Compile(expr string, _ protoreflect.MessageDescriptor) (protojwt.Expression, error) {
	if expr != "on_weekdays()" {
		return nil, errors.New("unknown function in " + expr)
	}
	return weekdayExpr{}, nil
}

type weekdayExpr struct{}

func (weekdayExpr) Eval(protojwt.ExpressionInput) (bool, error) { return true, nil }
func (weekdayExpr) ReadsRequest() bool                          { return false }

// Build your own protojwt command when your servers compile expressions
// with functions of their own: "rules --strict" then audits your API as
// your servers compile it. The main function of the command is
//
//	func main() { os.Exit(cli.Main(yourExpressions)) }
//
// Here, Run audits a descriptor set (as "buf build -o -" writes it) read
// from stdin.
func Example_ownCommand() {
	set := apiDescriptorSet(map[string]string{"Report": "on_weekdays()", "Export": "on_holidays()"})
	var stderr strings.Builder
	code := cli.Run([]string{"rules", "--strict", "-"}, bytes.NewReader(set), os.Stdout, &stderr, nil, weekdays{})
	fmt.Println("exit code", code)
	// Output:
	// METHOD                                 SOURCE  RULE
	// /acme.reports.v1.ReportService/Export  method  auth expr(on_holidays())  INVALID: invalid rule: expr: unknown function in on_holidays()
	// /acme.reports.v1.ReportService/Report  method  auth expr(on_weekdays())
	//
	// 2 methods in 1 services: 0 public, 1 need a token, 0 allow a missing token, 0 DENIED (no rule), 1 invalid
	// exit code 1
}

// apiDescriptorSet returns the descriptor set of a service whose methods
// have the rule {expr: exprs[method]}, with the file it imports.
func apiDescriptorSet(exprs map[string]string) []byte {
	file := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("acme/reports/v1/reports.proto"),
		Package:     proto.String("acme.reports.v1"),
		Syntax:      proto.String("proto3"),
		Dependency:  []string{annotations.File_protojwt_v1_annotations_proto.Path()},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Request")}},
		Service:     []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("ReportService")}},
	}
	for _, name := range []string{"Export", "Report"} {
		opts := &descriptorpb.MethodOptions{}
		proto.SetExtension(opts, annotations.E_Rule, &annotations.Rule{Expr: exprs[name]})
		file.Service[0].Method = append(file.Service[0].Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".acme.reports.v1.Request"),
			OutputType: proto.String(".acme.reports.v1.Request"), Options: opts,
		})
	}
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(annotations.File_protojwt_v1_annotations_proto), file,
	}})
	if err != nil {
		panic(err)
	}
	return b
}
