package tokensource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// services is the server side of the end-to-end tests: one Manager with a
// revocation store that rotates refresh tokens and detects their reuse,
// behind a gRPC server (the interceptor), an HTTP server (httpauth) and a
// connect handler, all on the test's clock.
type services struct {
	m     *manager.Manager
	clock *fakeClock

	rotations atomic.Int32
	reuses    atomic.Int32
	served    [3]atomic.Int32 // calls that passed, by transport: gRPC, connect, HTTP

	grpcConn    *grpc.ClientConn // the client's connection, guarded by the client's source
	connectURL  string
	httpURL     string
	setSource   func(Source)
	guardedGRPC testpb.GuardedServiceClient
}

const subject = "alice"

func startServices(t *testing.T, clock *fakeClock) *services {
	t.Helper()
	store, err := revocation.NewMemoryStore(revocation.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Config{
		Issuer: "tokensource-test", Algorithm: "HS256", Secret: []byte(strings.Repeat("k", 32)),
		AuthMaxAge: time.Minute, RefreshMaxAge: time.Hour,
	}, manager.WithRevocation(store), manager.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	s := &services{m: m, clock: clock}

	// gRPC, on bufconn, behind the interceptor.
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()))
	testpb.RegisterGuardedServiceServer(gs, &guardedServer{s: s})
	testpb.RegisterDefaultedServiceServer(gs, &defaultedServer{s: s})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	// The client's connection carries the tokens of whatever source the
	// test sets; the source is read per call.
	var current atomic.Pointer[Source]
	s.setSource = func(src Source) { current.Store(&src) }
	s.setSource(Static(""))
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(PerRPCCredentials(sourceFunc(func(ctx context.Context) (string, error) {
			return (*current.Load()).Token(ctx)
		}), WithInsecureTransport())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s.grpcConn = conn
	s.guardedGRPC = testpb.NewGuardedServiceClient(conn)

	// connect: the handler verifies the bearer token itself.
	_, h := testpbconnect.NewDefaultedServiceHandler(&defaultedConnect{s: s})
	cs := httptest.NewServer(h)
	t.Cleanup(cs.Close)
	s.connectURL = cs.URL

	// net/http, behind httpauth.
	mux := http.NewServeMux()
	mux.Handle("GET /hello", httpauth.New(m).Require(httpauth.Scopes("read"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context())
		s.served[2].Add(1)
		fmt.Fprint(w, tok.Subject)
	})))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	s.httpURL = hs.URL
	return s
}

// sourceFunc adapts a function to Source.
type sourceFunc func(ctx context.Context) (string, error)

func (f sourceFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

func readGrant(context.Context, *manager.Token) (any, map[string]any, error) {
	return "read", nil, nil
}

// login issues the first tokens of a login.
func (s *services) login(t *testing.T) (auth, refresh string) {
	t.Helper()
	a, err := s.m.AuthToken(subject, "read", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.m.RefreshToken(subject, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.Signed, r.Signed
}

// refreshOverGRPC is the client's RefreshFunc: the Refresh method of the
// gRPC service, with the refresh token as the call's credentials, on the
// connection that the Refresher itself guards.
func (s *services) refreshOverGRPC(ctx context.Context, refreshToken string) (string, string, error) {
	var md metadata.MD
	_, err := s.guardedGRPC.Refresh(ctx, &testpb.RefreshRequest{}, grpc.Header(&md),
		grpc.PerRPCCredentials(PerRPCCredentials(Static(refreshToken), WithInsecureTransport())))
	if err != nil {
		return "", "", err
	}
	first := func(k string) string {
		if v := md.Get(k); len(v) == 1 {
			return v[0]
		}
		return ""
	}
	return first("auth-token"), first("refresh-token"), nil
}

type guardedServer struct {
	testpb.UnimplementedGuardedServiceServer
	s *services
}

// Refresh rotates the caller's refresh token; the interceptor has checked
// that it is one. The new tokens go back as header metadata.
func (g *guardedServer) Refresh(ctx context.Context, _ *testpb.RefreshRequest) (*testpb.RefreshResponse, error) {
	tok, _ := manager.FromContext(ctx)
	auth, next, err := g.s.m.RotateRefreshToken(ctx, tok.Signed, readGrant)
	switch {
	case errors.Is(err, manager.ErrRefreshReuse):
		g.s.reuses.Add(1)
		st, _ := status.New(codes.Unauthenticated, "refresh token reused").
			WithDetails(&errdetails.ErrorInfo{Domain: protojwt.Domain, Reason: protojwt.ReasonTokenRevoked})
		return nil, st.Err()
	case err != nil:
		return nil, status.Error(codes.Unavailable, "refresh failed")
	}
	g.s.rotations.Add(1)
	if err := grpc.SetHeader(ctx, metadata.Pairs("auth-token", auth.Signed, "refresh-token", next.Signed)); err != nil {
		return nil, err
	}
	return &testpb.RefreshResponse{Reply: &testpb.Reply{Subject: tok.Subject}}, nil
}

type defaultedServer struct {
	testpb.UnimplementedDefaultedServiceServer
	s *services
}

func (d *defaultedServer) Inherit(ctx context.Context, _ *testpb.InheritRequest) (*testpb.InheritResponse, error) {
	tok, _ := manager.FromContext(ctx)
	d.s.served[0].Add(1)
	return &testpb.InheritResponse{Reply: &testpb.Reply{Subject: tok.Subject, HasToken: true}}, nil
}

type defaultedConnect struct {
	testpbconnect.UnimplementedDefaultedServiceHandler
	s *services
}

func (d *defaultedConnect) Inherit(ctx context.Context, req *connect.Request[testpb.InheritRequest]) (*connect.Response[testpb.InheritResponse], error) {
	signed, ok := strings.CutPrefix(req.Header().Get("Authorization"), "Bearer ")
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no token"))
	}
	tok, err := d.s.m.Verify(ctx, signed)
	if err != nil || tok.Type != manager.Auth {
		return nil, connect.NewError(connect.CodeUnauthenticated, fmt.Errorf("token refused: %v", err))
	}
	d.s.served[1].Add(1)
	return connect.NewResponse(&testpb.InheritResponse{Reply: &testpb.Reply{Subject: tok.Subject, HasToken: true}}), nil
}

// clients are the three clients of one login, sharing its Refresher.
type clients struct {
	grpc    testpb.DefaultedServiceClient
	connect testpbconnect.DefaultedServiceClient
	http    *http.Client
	httpURL string
}

func (s *services) clients(src Source) clients {
	s.setSource(src)
	return clients{
		grpc:    testpb.NewDefaultedServiceClient(s.grpcConn),
		connect: testpbconnect.NewDefaultedServiceClient(http.DefaultClient, s.connectURL, connect.WithInterceptors(ConnectInterceptor(src))),
		http:    &http.Client{Transport: RoundTripper(src, nil)},
		httpURL: s.httpURL,
	}
}

// call makes one call over transport i (0 gRPC, 1 connect, 2 HTTP) and
// returns the subject the server saw.
func (c clients) call(ctx context.Context, i int) (string, error) {
	switch i % 3 {
	case 0:
		resp, err := c.grpc.Inherit(ctx, &testpb.InheritRequest{})
		return resp.GetReply().GetSubject(), err
	case 1:
		resp, err := c.connect.Inherit(ctx, connect.NewRequest(&testpb.InheritRequest{}))
		if err != nil {
			return "", err
		}
		return resp.Msg.GetReply().GetSubject(), nil
	default:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.httpURL+"/hello", nil)
		if err != nil {
			return "", err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if err := CheckResponse(resp); err != nil {
			return "", err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return string(b), err
	}
}

// TestEndToEndAcrossExpiries: concurrent calls over gRPC, connect and HTTP
// while the clock crosses five token lifetimes. The real Manager detects
// any reuse of a refresh token and the servers refuse any expired token
// (no leeway), so a single double refresh or stale token fails the test.
func TestEndToEndAcrossExpiries(t *testing.T) {
	for _, tt := range []struct {
		name          string
		margin        time.Duration
		wantRefreshes int32
	}{
		{"refresh ahead", 15 * time.Second, 6}, // 60 s tokens refreshed at 45, 90, ..., 270
		{"refresh at expiry", 0, 5},            // callers wait at 60, 120, ..., 300
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := startServices(t, clock)
			auth, refresh := s.login(t)
			var saved atomic.Pointer[string]
			r, err := New(auth, refresh, s.refreshOverGRPC, WithClock(clock.Now), WithRefreshMargin(tt.margin),
				WithSaveRefreshToken(func(_ context.Context, rt string) error { saved.Store(&rt); return nil }))
			if err != nil {
				t.Fatal(err)
			}
			c := s.clients(r)
			const callers = 12
			for step := 0; step <= 60; step++ {
				var wg sync.WaitGroup
				for i := range callers {
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						if sub, err := c.call(ctx, i); err != nil || sub != subject {
							t.Errorf("step %d, transport %d: %q, %v", step, i%3, sub, err)
						}
					})
				}
				wg.Wait()
				waitIdle(r)
				if t.Failed() {
					t.FailNow()
				}
				clock.Advance(5 * time.Second)
			}
			if n := s.rotations.Load(); n != tt.wantRefreshes {
				t.Errorf("%d refreshes, want %d", n, tt.wantRefreshes)
			}
			if n := s.reuses.Load(); n != 0 {
				t.Errorf("the Manager detected %d reused refresh tokens", n)
			}
			for i, n := range []int32{s.served[0].Load(), s.served[1].Load(), s.served[2].Load()} {
				if n != 61*callers/3 {
					t.Errorf("transport %d served %d calls, want %d", i, n, 61*callers/3)
				}
			}
			// The saved refresh token is the current one: a restarted client
			// resumes the login with it.
			resumed, err := New("", *saved.Load(), s.refreshOverGRPC, WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			waitIdle(r)
			if sub, err := s.clients(resumed).call(context.Background(), 0); err != nil || sub != subject {
				t.Fatalf("resumed client: %q, %v", sub, err)
			}
			if n := s.reuses.Load(); n != 0 {
				t.Fatalf("resuming reused a refresh token")
			}
		})
	}
}

// TestEndToEndLoginEnded: a thief replays a spent refresh token, the
// Manager revokes the login, and the client's next refresh ends it: every
// transport returns ErrLoginEnded, and no more refreshes are tried.
func TestEndToEndLoginEnded(t *testing.T) {
	clock := newFakeClock()
	s := startServices(t, clock)
	auth, refresh := s.login(t)
	r, err := New(auth, refresh, s.refreshOverGRPC, WithClock(clock.Now), WithRefreshMargin(0))
	if err != nil {
		t.Fatal(err)
	}
	c := s.clients(r)
	clock.Advance(time.Minute)
	if _, err := c.call(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	// The thief holds the first refresh token, spent by the client.
	if _, _, err := s.m.RotateRefreshToken(context.Background(), refresh, readGrant); !errors.Is(err, manager.ErrRefreshReuse) {
		t.Fatalf("replaying a spent refresh token: %v", err)
	}
	clock.Advance(time.Minute)
	rotations := s.rotations.Load()
	for i := range 6 {
		_, err := c.call(context.Background(), i)
		if !errors.Is(err, ErrLoginEnded) {
			t.Fatalf("transport %d: %v, want ErrLoginEnded", i%3, err)
		}
		if reason, _ := protojwt.ReasonOf(err); i%3 == 0 && reason != protojwt.ReasonTokenRevoked {
			t.Errorf("gRPC error reason %q, want %s", reason, protojwt.ReasonTokenRevoked)
		}
		if code := status.Code(err); i%3 == 0 && code != codes.Unauthenticated {
			t.Errorf("gRPC code %v, want Unauthenticated", code)
		}
		if code := connect.CodeOf(err); i%3 == 1 && code != connect.CodeUnauthenticated {
			t.Errorf("connect code %v, want unauthenticated", code)
		}
	}
	if n := s.rotations.Load(); n != rotations {
		t.Fatalf("%d more rotations after the login ended", n-rotations)
	}
	for i := range s.served {
		s.served[i].Store(0)
	}
	for i := range 3 {
		c.call(context.Background(), i)
	}
	if s.served[0].Load()+s.served[1].Load()+s.served[2].Load() != 0 {
		t.Fatal("a call went through after the login ended")
	}
}
