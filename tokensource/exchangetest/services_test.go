package exchangetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

// transports are the three ways a service is called.
var transports = []string{"gRPC", "connect", "HTTP"}

// service is one protojwt service, reached over gRPC, connect and HTTP,
// that verifies the provider's tokens of its own audience and enforces
// its rule; its handler records the verified token and then calls next.
type service struct {
	name string
	m    *manager.Manager

	grpcAddr   string
	connectURL string
	httpURL    string

	mu   sync.Mutex
	seen []*manager.Token
}

// procedure is the one method of a service: /exchangetest.v1.<Name>/Call.
func (s *service) procedure() string { return "/exchangetest.v1." + s.name + "/Call" }

// startService starts the service name: rule guards its gRPC and connect
// method, reqs its HTTP route, and the handlers run next with their
// context (nil: nothing).
func startService(t *testing.T, p *provider, name string, rule *annotations.Rule, reqs []httpauth.Requirement, next func(ctx context.Context) error) *service {
	t.Helper()
	m, err := manager.Open(context.Background(), manager.Config{
		Issuer: p.issuer, Discovery: true, Audience: []string{name},
	}, manager.WithUntypedTokens(manager.Auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s := &service{name: name, m: m}
	handle := func(ctx context.Context) error {
		tok, ok := manager.FromContext(ctx)
		if !ok {
			return errors.New("no token in the handler's context")
		}
		s.mu.Lock()
		s.seen = append(s.seen, tok)
		s.mu.Unlock()
		if next != nil {
			return next(ctx)
		}
		return nil
	}
	files := ruleFiles(t, name, rule)

	// gRPC
	auth, err := interceptor.New(m, interceptor.WithResolver(files))
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()))
	gs.RegisterService(&grpc.ServiceDesc{
		ServiceName: "exchangetest.v1." + name,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Call", Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) { return new(emptypb.Empty), handle(ctx) }
			return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: s.procedure()}, h)
		}}},
	}, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	s.grpcAddr = lis.Addr().String()

	// connect
	cauth, err := connectauth.New(m, connectauth.WithResolver(files))
	if err != nil {
		t.Fatal(err)
	}
	cmux := http.NewServeMux()
	cmux.Handle(s.procedure(), connect.NewUnaryHandler(s.procedure(),
		func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			if err := handle(ctx); err != nil {
				return nil, err
			}
			return connect.NewResponse(new(emptypb.Empty)), nil
		}, connect.WithInterceptors(cauth)))
	cs := httptest.NewServer(cmux)
	t.Cleanup(cs.Close)
	s.connectURL = cs.URL

	// net/http
	hmux := http.NewServeMux()
	hmux.Handle("POST /call", httpauth.New(m).Require(reqs...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := handle(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	})))
	hs := httptest.NewServer(hmux)
	t.Cleanup(hs.Close)
	s.httpURL = hs.URL
	return s
}

// ruleFiles describes the service name with one method, Call, guarded by
// rule: the descriptors a generated package would register, built here.
func ruleFiles(t *testing.T, name string, rule *annotations.Rule) *protoregistry.Files {
	t.Helper()
	opts := &descriptorpb.MethodOptions{}
	proto.SetExtension(opts, annotations.E_Rule, rule)
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("exchangetest/v1/" + name + ".proto"),
		Package:    proto.String("exchangetest.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto"},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String(name),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Call"), InputType: proto.String(".google.protobuf.Empty"),
				OutputType: proto.String(".google.protobuf.Empty"), Options: opts,
			}},
		}},
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(emptypb.File_google_protobuf_empty_proto), fd,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// client calls a service over one transport with the tokens of src.
type client func(ctx context.Context) error

// clientOf returns the client of s over transport i (0 gRPC, 1 connect,
// 2 HTTP) with the tokens of src.
func (s *service) clientOf(t *testing.T, i int, src tokensource.Source) client {
	t.Helper()
	switch i {
	case 0:
		conn, err := grpc.NewClient("passthrough:///"+s.grpcAddr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(tokensource.PerRPCCredentials(src, tokensource.WithInsecureTransport())))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return func(ctx context.Context) error {
			return conn.Invoke(ctx, s.procedure(), new(emptypb.Empty), new(emptypb.Empty))
		}
	case 1:
		c := connect.NewClient[emptypb.Empty, emptypb.Empty](http.DefaultClient, s.connectURL+s.procedure(),
			connect.WithInterceptors(tokensource.ConnectInterceptor(src)))
		return func(ctx context.Context) error {
			_, err := c.CallUnary(ctx, connect.NewRequest(new(emptypb.Empty)))
			return err
		}
	default:
		hc := &http.Client{Transport: tokensource.RoundTripper(src, nil)}
		return func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.httpURL+"/call", nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %w", s.name, tokensource.CheckResponse(resp))
			}
			return nil
		}
	}
}

// last returns the token of the last call the service handled.
func (s *service) last() *manager.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return nil
	}
	return s.seen[len(s.seen)-1]
}

func (s *service) handled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// actorRule requires scope and a chain of actors, innermost last:
// actorRule("billing:read", "inventory", "orders") is act.sub = inventory
// and act.act.sub = orders.
func actorRule(scope string, actors ...string) (*annotations.Rule, []httpauth.Requirement) {
	rule := &annotations.Rule{Scopes: []string{scope}}
	reqs := []httpauth.Requirement{httpauth.Scopes(scope)}
	path := []string{"act", "sub"}
	for _, a := range actors {
		rule.Check = append(rule.Check, &annotations.ClaimCheck{
			Claim: append([]string(nil), path...),
			Test:  &annotations.ClaimCheck_Equals{Equals: &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: a}}},
		})
		reqs = append(reqs, httpauth.Check(path...).Equals(a))
		path = append([]string{"act"}, path...)
	}
	return rule, reqs
}
