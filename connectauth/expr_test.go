package connectauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// fieldIsSub is an expression language of one form: an expression names a
// string field of the request, true when it equals the sub claim. It
// stands for CEL (module celexpr) and shows what the interceptor gives
// expressions: the typed request message, on every stream message.
type fieldIsSub struct{}

func (fieldIsSub) Compile(expr string, request protoreflect.MessageDescriptor) (protojwt.Expression, error) {
	if request == nil || request.Fields().ByName(protoreflect.Name(expr)) == nil {
		return nil, errors.New("no such field")
	}
	return fieldExpr(expr), nil
}

type fieldExpr string

func (e fieldExpr) Eval(in protojwt.ExpressionInput) (bool, error) {
	if in.Request == nil {
		return false, errors.New("no request")
	}
	m := in.Request.ProtoReflect()
	v := m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(e))).String()
	return v != "" && v == in.Claims["sub"], nil
}

func (fieldExpr) ReadsRequest() bool { return true }

const (
	exprCheck = "/exprtest.v1.ExprService/Check"
	exprChat  = "/exprtest.v1.ExprService/Chat"
)

// exprFiles returns a resolver with testpb's files and exprtest.v1's
// ExprService, whose methods (on testpb's messages) have rules with expr.
func exprFiles(t testing.TB) *protoregistry.Files {
	t.Helper()
	files := new(protoregistry.Files)
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if _, err := files.FindFileByPath(fd.Path()); err == nil {
			return
		}
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		if err := files.RegisterFile(fd); err != nil {
			t.Fatal(err)
		}
	}
	add(testpb.File_protojwt_test_v1_test_proto)
	method := func(name, in, out, expr string, stream bool) *descriptorpb.MethodDescriptorProto {
		opts := &descriptorpb.MethodOptions{}
		proto.SetExtension(opts, annotations.E_Rule, &annotations.Rule{Expr: expr})
		return &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(in), OutputType: proto.String(out), Options: opts,
			ClientStreaming: proto.Bool(stream), ServerStreaming: proto.Bool(stream),
		}
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("exprtest/v1/expr.proto"),
		Package:    proto.String("exprtest.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"protojwt/test/v1/test.proto", "protojwt/v1/annotations.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("ExprService"),
			Method: []*descriptorpb.MethodDescriptorProto{
				method("Check", ".protojwt.test.v1.FieldTopRequest", ".protojwt.test.v1.FieldTopResponse", "username", false),
				method("Chat", ".protojwt.test.v1.ChatRequest", ".protojwt.test.v1.ChatResponse", "sender", true),
			},
		}},
	}
	fd, err := protodesc.NewFile(fdp, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	return files
}

// TestExpressions: a rule with an expr needs WithExpressions, or New
// refuses to build; with it, the expression sees the unary request, and
// every message of a stream.
func TestExpressions(t *testing.T) {
	m := newManager(t)
	files := exprFiles(t)

	_, err := connectauth.New(m, connectauth.WithResolver(files))
	var re *protojwt.RuleError
	if !errors.Is(err, protojwt.ErrInvalidRule) || !errors.As(err, &re) || re.Procedure != exprCheck {
		t.Fatalf("New without WithExpressions = %v, want a RuleError of %s", err, exprCheck)
	}

	auth, err := connectauth.New(m, connectauth.WithResolver(files), connectauth.WithExpressions(fieldIsSub{}))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := serve(t, upload{})
	mux := http.NewServeMux()
	mux.Handle(exprCheck, connect.NewUnaryHandler(exprCheck, func(ctx context.Context, _ *connect.Request[testpb.FieldTopRequest]) (*connect.Response[testpb.FieldTopResponse], error) {
		return connect.NewResponse(&testpb.FieldTopResponse{Reply: reply(ctx)}), nil
	}, connect.WithInterceptors(auth)))
	mux.Handle(exprChat, connect.NewBidiStreamHandler(exprChat, func(ctx context.Context, s *connect.BidiStream[testpb.ChatRequest, testpb.ChatResponse]) error {
		for {
			req, err := s.Receive()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := s.Send(&testpb.ChatResponse{Reply: reply(ctx), Text: req.GetText()}); err != nil {
				return err
			}
		}
	}, connect.WithInterceptors(auth)))
	ts.srv.Config.Handler = mux
	alice := []string{bearer(authToken(t, m, "alice", nil, nil))}

	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			r, err := p.unary(t, ts, exprCheck, &testpb.FieldTopRequest{Username: "alice"}, alice)
			checkReply(t, r, err, "alice")
			_, err = p.unary(t, ts, exprCheck, &testpb.FieldTopRequest{Username: "bob"}, alice)
			checkDenial(t, err, connect.CodePermissionDenied, protojwt.ReasonExpressionFalse)
		})
	}

	// The stream, over HTTP/2 with the Connect protocol.
	client := connect.NewClient[testpb.ChatRequest, testpb.ChatResponse](ts.h2c, ts.url+exprChat)
	stream := client.CallBidiStream(ctxFor(t))
	addAuth(stream.RequestHeader(), alice)
	defer stream.CloseResponse()
	res := rpctest.RunChatStream(t, connectChatStream{stream}, []string{"alice", "bob", "alice"})
	if len(res.Replies) != 1 {
		t.Errorf("%d replies, want 1 before the refused message", len(res.Replies))
	}
	checkDenial(t, res.Err, connect.CodePermissionDenied, protojwt.ReasonExpressionFalse)
}
