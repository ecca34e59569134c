package tokensource

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestForward: an edge service guarded by httpauth calls the services of
// startServices over gRPC, connect and HTTP from inside its handlers, with
// Forward. The caller's token reaches them; a handler without a verified
// auth token (a public route, allow_missing without a token, a refresh
// token) gets ErrNoIncomingToken, and nothing reaches them.
func TestForward(t *testing.T) {
	clock := newFakeClock()
	s := startServices(t, clock)
	auth, refresh := s.login(t)
	c := s.clients(Forward())

	guard := httpauth.New(s.m)
	type result struct {
		sub string
		err error
	}
	results := make(chan result, 1)
	callDown := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscan(r.URL.Query().Get("transport"), &i)
		sub, err := c.call(r.Context(), i)
		results <- result{sub, err}
	})
	mux := http.NewServeMux()
	mux.Handle("GET /auth", guard.Require(httpauth.Scopes("read"))(callDown))
	mux.Handle("GET /public", guard.Require(httpauth.Public())(callDown))
	mux.Handle("GET /maybe", guard.Require(httpauth.AllowMissing())(callDown))
	mux.Handle("GET /refresh", guard.Require(httpauth.TokenType(manager.Refresh))(callDown))
	edge := httptest.NewServer(mux)
	defer edge.Close()

	tests := []struct {
		name  string
		path  string
		token string
		ok    bool
	}{
		{"auth token", "/auth", auth, true},
		{"public route", "/public", "", false},
		{"public route, token sent", "/public", auth, false},
		{"allow_missing without a token", "/maybe", "", false},
		{"refresh token", "/refresh", refresh, false},
	}
	for _, tt := range tests {
		for i, transport := range []string{"gRPC", "connect", "HTTP"} {
			t.Run(tt.name+"/"+transport, func(t *testing.T) {
				served := s.served[i].Load()
				req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s%s?transport=%d", edge.URL, tt.path, i), nil)
				if err != nil {
					t.Fatal(err)
				}
				if tt.token != "" {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("the edge answered %d", resp.StatusCode)
				}
				got := <-results
				if tt.ok {
					if got.err != nil || got.sub != subject {
						t.Fatalf("downstream call: %q, %v", got.sub, got.err)
					}
					return
				}
				if !errors.Is(got.err, ErrNoIncomingToken) {
					t.Fatalf("downstream call: %v, want ErrNoIncomingToken", got.err)
				}
				switch i {
				case 0:
					if code := status.Code(got.err); code != codes.Unauthenticated {
						t.Fatalf("gRPC code %v, want Unauthenticated", code)
					}
				case 1:
					if code := connect.CodeOf(got.err); code != connect.CodeUnauthenticated {
						t.Fatalf("connect code %v, want unauthenticated", code)
					}
				}
				if s.served[i].Load() != served {
					t.Fatal("a call without an incoming token reached the downstream service")
				}
			})
		}
	}
}

func TestForwardOutsideAHandler(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{"no token", context.Background()},
		{"nil token", manager.NewContext(context.Background(), nil)},
		{"unsigned token", manager.NewContext(context.Background(), &manager.Token{Type: manager.Auth})},
		{"refresh token", manager.NewContext(context.Background(), &manager.Token{Type: manager.Refresh, Signed: "a.b.c"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Forward().Token(tt.ctx)
			if !errors.Is(err, ErrNoIncomingToken) || tok != "" {
				t.Fatalf("Token = %q, %v; want ErrNoIncomingToken", tok, err)
			}
		})
	}
	ctx := manager.NewContext(context.Background(), &manager.Token{Type: manager.Auth, Signed: "a.b.c"})
	if tok, err := Forward().Token(ctx); err != nil || tok != "a.b.c" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
}

// frontServer is a DefaultedService whose Inherit, guarded by the
// interceptor, calls the downstream services with Forward over the
// transport the test sets.
type frontServer struct {
	testpb.UnimplementedDefaultedServiceServer
	down      clients
	transport atomic.Int32
}

func (f *frontServer) Inherit(ctx context.Context, _ *testpb.InheritRequest) (*testpb.InheritResponse, error) {
	sub, err := f.down.call(ctx, int(f.transport.Load()))
	if err != nil {
		return nil, err
	}
	return &testpb.InheritResponse{Reply: &testpb.Reply{Subject: sub}}, nil
}

// TestForwardFromGRPCHandler: a gRPC handler passes its caller's token on
// over gRPC, connect and HTTP with Forward.
func TestForwardFromGRPCHandler(t *testing.T) {
	clock := newFakeClock()
	s := startServices(t, clock)
	auth, _ := s.login(t)
	front := &frontServer{down: s.clients(Forward())}
	guard, err := interceptor.New(s.m)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(guard.Unary()))
	testpb.RegisterDefaultedServiceServer(gs, front)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	conn, err := grpc.NewClient("passthrough:///front",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(PerRPCCredentials(Static(auth), WithInsecureTransport())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, transport := range []string{"gRPC", "connect", "HTTP"} {
		t.Run(transport, func(t *testing.T) {
			front.transport.Store(int32(i))
			served := s.served[i].Load()
			resp, err := testpb.NewDefaultedServiceClient(conn).Inherit(context.Background(), &testpb.InheritRequest{})
			if err != nil || resp.GetReply().GetSubject() != subject || s.served[i].Load() != served+1 {
				t.Fatalf("Inherit through the front: %v, %v", resp, err)
			}
		})
	}
}
