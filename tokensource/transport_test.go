package tokensource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
)

// countingSource gives tok or err and counts its calls.
type countingSource struct {
	tok   string
	err   error
	calls atomic.Int32
}

func (s *countingSource) Token(ctx context.Context) (string, error) {
	s.calls.Add(1)
	return s.tok, s.err
}

// blockingSource waits for the call's context to end.
type blockingSource struct{}

func (blockingSource) Token(ctx context.Context) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// healthServer is a gRPC health server that records the authorization
// metadata of each call.
type healthServer struct {
	addr  string
	calls atomic.Int32
	seen  atomic.Pointer[[]string]
}

func startHealth(t *testing.T, lis net.Listener, sopts ...grpc.ServerOption) *healthServer {
	t.Helper()
	h := &healthServer{addr: lis.Addr().String()}
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		v := md.Get("authorization")
		h.seen.Store(&v)
		h.calls.Add(1)
		return next(ctx, req)
	}
	s := grpc.NewServer(append(sopts, grpc.UnaryInterceptor(record))...)
	healthpb.RegisterHealthServer(s, health.NewServer())
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return h
}

func (h *healthServer) authorization() []string {
	if p := h.seen.Load(); p != nil {
		return *p
	}
	return nil
}

// selfSignedTLS returns a server certificate for 127.0.0.1 and a pool
// that trusts it.
func selfSignedTLS(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestPerRPCCredentialsOverTLS(t *testing.T) {
	cert, pool := selfSignedTLS(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := startHealth(t, lis, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	src := &countingSource{tok: "a.b.c"}
	conn, err := grpc.NewClient(h.addr,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")),
		grpc.WithPerRPCCredentials(PerRPCCredentials(src)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := h.authorization(); len(got) != 1 || got[0] != "Bearer a.b.c" {
		t.Fatalf("server saw authorization %q", got)
	}
	// A source with no token sends none.
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{},
		grpc.PerRPCCredentials(PerRPCCredentials(Static("")))); err != nil {
		t.Fatal(err)
	}
	if got := h.authorization(); len(got) != 1 {
		t.Fatalf("server saw authorization %q; Static(\"\") added one", got)
	}
}

func TestPerRPCCredentialsRefuseInsecureConnections(t *testing.T) {
	lis := bufconn.Listen(1 << 16)
	h := startHealth(t, lis)
	dial := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	src := &countingSource{tok: "a.b.c"}

	if conn, err := grpc.NewClient("passthrough:///bufnet", dial,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(PerRPCCredentials(src))); err == nil {
		conn.Close()
		t.Fatal("grpc.NewClient accepted token credentials on an insecure connection")
	}

	conn, err := grpc.NewClient("passthrough:///bufnet", dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{},
		grpc.PerRPCCredentials(PerRPCCredentials(src)))
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call with token credentials on an insecure connection: %v, want Unauthenticated", err)
	}
	if h.calls.Load() != 0 || src.calls.Load() != 0 {
		t.Fatalf("the call reached the server (%d) or read the token (%d)", h.calls.Load(), src.calls.Load())
	}

	// The credentials check the connection themselves too.
	ctx := credentials.NewContextWithRequestInfo(context.Background(), credentials.RequestInfo{
		AuthInfo: insecureInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}},
	})
	if md, err := PerRPCCredentials(src).GetRequestMetadata(ctx); err == nil || md != nil || src.calls.Load() != 0 {
		t.Fatalf("GetRequestMetadata on an insecure connection = %v, %v (source read %d times)", md, err, src.calls.Load())
	}
	// WithInsecureTransport allows it.
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{},
		grpc.PerRPCCredentials(PerRPCCredentials(src, WithInsecureTransport())))
	if err != nil || h.calls.Load() != 1 {
		t.Fatalf("call with WithInsecureTransport: %v", err)
	}
}

type insecureInfo struct{ credentials.CommonAuthInfo }

func (insecureInfo) AuthType() string { return "insecure" }

func TestPerRPCCredentialsErrors(t *testing.T) {
	lis := bufconn.Listen(1 << 16)
	h := startHealth(t, lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ended := fmt.Errorf("%w: %w", ErrLoginEnded, grpcDenial(t, codes.Unauthenticated, "TOKEN_REVOKED"))
	tests := []struct {
		name string
		src  Source
		want codes.Code
		is   error
	}{
		{"login ended", &countingSource{err: ended}, codes.Unauthenticated, ErrLoginEnded},
		{"login service unavailable", &countingSource{err: status.Error(codes.Unavailable, "down")}, codes.Unavailable, nil},
		{"login service denies", &countingSource{err: status.Error(codes.PermissionDenied, "no")}, codes.PermissionDenied, nil},
		{"restricted code", &countingSource{err: status.Error(codes.FailedPrecondition, "x")}, codes.Unavailable, nil},
		{"network", &countingSource{err: io.ErrUnexpectedEOF}, codes.Unavailable, io.ErrUnexpectedEOF},
		{"caller's deadline", blockingSource{}, codes.DeadlineExceeded, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{},
				grpc.PerRPCCredentials(PerRPCCredentials(tt.src, WithInsecureTransport())))
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code %v (%v), want %v", got, err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if h.calls.Load() != 0 {
				t.Fatal("the call reached the server")
			}
		})
	}
}

// watcher is a connect GuardedService handler that records the
// authorization header of Watch calls.
type watcher struct {
	testpbconnect.UnimplementedGuardedServiceHandler
	calls atomic.Int32
	seen  atomic.Pointer[string]
}

func (w *watcher) Watch(_ context.Context, req *connect.Request[testpb.WatchRequest], stream *connect.ServerStream[testpb.WatchResponse]) error {
	w.calls.Add(1)
	v := req.Header().Get("Authorization")
	w.seen.Store(&v)
	return stream.Send(&testpb.WatchResponse{})
}

func (w *watcher) Public(_ context.Context, req *connect.Request[testpb.PublicRequest]) (*connect.Response[testpb.PublicResponse], error) {
	w.calls.Add(1)
	v := req.Header().Get("Authorization")
	w.seen.Store(&v)
	return connect.NewResponse(&testpb.PublicResponse{}), nil
}

func TestConnectInterceptor(t *testing.T) {
	w := &watcher{}
	// The interceptor on the handler side changes nothing there.
	_, h := testpbconnect.NewGuardedServiceHandler(w,
		connect.WithInterceptors(ConnectInterceptor(&countingSource{err: ErrLoginEnded})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := func(src Source) testpbconnect.GuardedServiceClient {
		return testpbconnect.NewGuardedServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(ConnectInterceptor(src)))
	}
	seen := func() string { return *w.seen.Load() }

	if _, err := client(Static("a.b.c")).Public(context.Background(), connect.NewRequest(&testpb.PublicRequest{})); err != nil {
		t.Fatal(err)
	}
	if seen() != "Bearer a.b.c" {
		t.Fatalf("unary call carried %q", seen())
	}
	stream, err := client(Static("d.e.f")).Watch(context.Background(), connect.NewRequest(&testpb.WatchRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for stream.Receive() {
	}
	if err := stream.Err(); err != nil || seen() != "Bearer d.e.f" {
		t.Fatalf("stream carried %q, %v", seen(), err)
	}
	stream.Close()
	if _, err := client(Static("")).Public(context.Background(), connect.NewRequest(&testpb.PublicRequest{})); err != nil || seen() != "" {
		t.Fatalf("Static(\"\") sent %q, %v", seen(), err)
	}

	calls := w.calls.Load()
	tests := []struct {
		name string
		src  Source
		want connect.Code
		is   error
	}{
		{"login ended", &countingSource{err: fmt.Errorf("%w: revoked", ErrLoginEnded)}, connect.CodeUnauthenticated, ErrLoginEnded},
		{"login service unavailable", &countingSource{err: connect.NewError(connect.CodeUnavailable, errors.New("down"))}, connect.CodeUnavailable, nil},
		{"gRPC login service denies", &countingSource{err: status.Error(codes.PermissionDenied, "no")}, connect.CodePermissionDenied, nil},
		{"network", &countingSource{err: io.ErrUnexpectedEOF}, connect.CodeUnavailable, io.ErrUnexpectedEOF},
		{"caller's deadline", blockingSource{}, connect.CodeDeadlineExceeded, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err := client(tt.src).Public(ctx, connect.NewRequest(&testpb.PublicRequest{}))
			if got := connect.CodeOf(err); got != tt.want {
				t.Fatalf("unary: code %v (%v), want %v", got, err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("unary: errors.Is(%v, %v) = false", err, tt.is)
			}
			ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			stream, err := client(tt.src).Watch(ctx, connect.NewRequest(&testpb.WatchRequest{}))
			if err == nil {
				for stream.Receive() {
				}
				err = stream.Err()
				stream.Close()
			}
			if got := connect.CodeOf(err); got != tt.want {
				t.Fatalf("stream: code %v (%v), want %v", got, err, tt.want)
			}
			if w.calls.Load() != calls {
				t.Fatal("a call without a token reached the server")
			}
		})
	}
}

// recordingTransport records the requests it is given.
type recordingTransport struct {
	reqs []*http.Request
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.reqs = append(rt.reqs, req)
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func TestRoundTripper(t *testing.T) {
	ended := fmt.Errorf("%w: revoked", ErrLoginEnded)
	tests := []struct {
		name     string
		url      string
		src      Source
		opts     []TransportOption
		wantAuth string // "": no header; "refused": not sent
		is       error
	}{
		{"https", "https://api.example.com/x", Static("a.b.c"), nil, "Bearer a.b.c", nil},
		{"http to 127.0.0.1", "http://127.0.0.1:8080/x", Static("a.b.c"), nil, "Bearer a.b.c", nil},
		{"http to ::1", "http://[::1]:8080/x", Static("a.b.c"), nil, "Bearer a.b.c", nil},
		{"http to localhost", "http://localhost/x", Static("a.b.c"), nil, "Bearer a.b.c", nil},
		{"no token", "https://api.example.com/x", Static(""), nil, "", nil},
		{"http to a remote host", "http://api.example.com/x", Static("a.b.c"), nil, "refused", errInsecure},
		{"http to a host named like loopback", "http://127.0.0.1.example.com/x", Static("a.b.c"), nil, "refused", errInsecure},
		{"http to localhost.evil", "http://localhost.evil/x", Static("a.b.c"), nil, "refused", errInsecure},
		{"http allowed", "http://api.internal/x", Static("a.b.c"), []TransportOption{WithInsecureTransport()}, "Bearer a.b.c", nil},
		{"login ended", "https://api.example.com/x", &countingSource{err: ended}, nil, "refused", ErrLoginEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := &recordingTransport{}
			body := &trackedBody{Reader: strings.NewReader("payload")}
			req, err := http.NewRequest(http.MethodPost, tt.url, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Keep", "1")
			resp, err := (&http.Client{Transport: RoundTripper(tt.src, base, tt.opts...)}).Do(req)
			if tt.wantAuth == "refused" {
				if !errors.Is(err, tt.is) || len(base.reqs) != 0 {
					t.Fatalf("Do = %v (%d sent), want %v and nothing sent", err, len(base.reqs), tt.is)
				}
				if !body.closed {
					t.Fatal("the body of a refused request was not closed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(base.reqs) != 1 {
				t.Fatalf("%d requests sent", len(base.reqs))
			}
			sent := base.reqs[0]
			if got := sent.Header.Get("Authorization"); got != tt.wantAuth || sent.Header.Get("X-Keep") != "1" {
				t.Fatalf("sent Authorization %q, X-Keep %q", got, sent.Header.Get("X-Keep"))
			}
			if req.Header.Get("Authorization") != "" {
				t.Fatal("the caller's request was changed")
			}
		})
	}
}

func TestRoundTripperOverTLS(t *testing.T) {
	var seen atomic.Pointer[string]
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("Authorization")
		seen.Store(&v)
	}))
	defer srv.Close()
	c := &http.Client{Transport: RoundTripper(Static("a.b.c"), srv.Client().Transport)}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if *seen.Load() != "Bearer a.b.c" {
		t.Fatalf("server saw %q", *seen.Load())
	}
}
