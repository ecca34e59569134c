package tokensource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protojwt/protojwt/dpop"
)

// newTestDPoP returns a DPoP with a new P-256 key.
func newTestDPoP(t *testing.T) *DPoP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDPoP(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// proofCheck is the server side of the tests: it checks a call's DPoP
// authorization as a resource server does, against one key, and counts
// the calls and the proofs it accepted.
type proofCheck struct {
	v        *dpop.Verifier
	nonces   *dpop.NonceSource // nil: no nonce demanded
	jkt      string
	mu       sync.Mutex
	calls    int
	accepted int
}

func newProofCheck(t *testing.T, jkt string, demandNonce bool) *proofCheck {
	t.Helper()
	p := &proofCheck{jkt: jkt}
	var opts []dpop.Option
	if demandNonce {
		n, err := dpop.NewNonceSource()
		if err != nil {
			t.Fatal(err)
		}
		p.nonces = n
		opts = append(opts, dpop.WithNonces(n))
	}
	v, err := dpop.NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.v = v
	return p
}

// errBearer means a call sent its token as Bearer.
var errBearer = errors.New("not a DPoP authorization")

// check checks a call's Authorization and DPoP values for the call
// method htu. An error wrapping dpop.ErrUseNonce comes with the nonce to
// send back.
func (p *proofCheck) check(ctx context.Context, authz string, proofs []string, method, htu string) (nonce string, err error) {
	p.mu.Lock()
	p.calls++
	p.mu.Unlock()
	tok, ok := strings.CutPrefix(authz, "DPoP ")
	if !ok {
		return "", errBearer
	}
	proof, err := dpop.ProofFrom(proofs)
	if err != nil {
		return "", err
	}
	if _, err := p.v.Verify(ctx, proof, dpop.Call{Method: method, URL: htu, AccessToken: tok}, p.jkt); err != nil {
		if errors.Is(err, dpop.ErrUseNonce) {
			return p.nonces.Nonce(), err
		}
		return "", err
	}
	p.mu.Lock()
	p.accepted++
	p.mu.Unlock()
	return "", nil
}

func (p *proofCheck) counts() (calls, accepted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls, p.accepted
}

// httpProofServer answers 200 with the request's body to calls whose
// proof passes, and 401 (with DPoP-Nonce when one is wanted) to others.
func httpProofServer(t *testing.T, p *proofCheck) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce, err := p.check(r.Context(), r.Header.Get("Authorization"), r.Header.Values("DPoP"), r.Method, "http://"+r.Host+r.URL.Path)
		if err != nil {
			if nonce != "" {
				w.Header().Set("DPoP-Nonce", nonce)
				w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			}
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		io.Copy(w, r.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRoundTripperDPoP(t *testing.T) {
	d := newTestDPoP(t)
	tests := []struct {
		name        string
		opts        []TransportOption
		demandNonce bool
		body        func() io.Reader // nil: a GET
		wantStatus  []int            // of each request in turn
		wantCalls   int              // requests the server saw
	}{
		{"proof", []TransportOption{WithDPoP(d)}, false, nil, []int{200, 200}, 2},
		{"bearer refused", nil, false, nil, []int{401, 401}, 2},
		{"another key refused", []TransportOption{WithDPoP(newTestDPoP(t))}, false, nil, []int{401}, 1},
		{"nonce learned by a retry, then kept", []TransportOption{WithDPoP(d)}, true, nil, []int{200, 200}, 3},
		{"retry resends the body", []TransportOption{WithDPoP(d)}, true,
			func() io.Reader { return strings.NewReader("order 66") }, []int{200, 200}, 3},
		{"body it can't resend: no retry", []TransportOption{WithDPoP(d)}, true,
			func() io.Reader { return io.MultiReader(strings.NewReader("order 66")) }, []int{401, 200}, 2},
		{"bearer gets no retry", nil, true, nil, []int{401}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.nonces.Clear()
			p := newProofCheck(t, d.signer.Thumbprint(), tt.demandNonce)
			srv := httpProofServer(t, p)
			client := &http.Client{Transport: RoundTripper(Static("the-token"), nil, tt.opts...)}
			for i, want := range tt.wantStatus {
				method, body := http.MethodGet, io.Reader(nil)
				if tt.body != nil {
					method, body = http.MethodPost, tt.body()
				}
				req, err := http.NewRequest(method, srv.URL+"/orders?page=2", body)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("request %d: status %d (%s), want %d", i, resp.StatusCode, got, want)
				}
				if want == 200 && tt.body != nil && string(got) != "order 66" {
					t.Errorf("request %d: server got body %q, want the request's", i, got)
				}
			}
			if calls, _ := p.counts(); calls != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", calls, tt.wantCalls)
			}
		})
	}
}

// TestRoundTripperDPoPNonceByHost: a nonce is kept for the host that gave
// it, and not sent to another.
func TestRoundTripperDPoPNonceByHost(t *testing.T) {
	d := newTestDPoP(t)
	a := newProofCheck(t, d.signer.Thumbprint(), true)
	b := newProofCheck(t, d.signer.Thumbprint(), true)
	srvA, srvB := httpProofServer(t, a), httpProofServer(t, b)
	client := &http.Client{Transport: RoundTripper(Static("the-token"), nil, WithDPoP(d))}
	for _, url := range []string{srvA.URL, srvB.URL, srvA.URL, srvB.URL} {
		resp, err := client.Get(url + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
	}
	for name, p := range map[string]*proofCheck{"A": a, "B": b} {
		if calls, accepted := p.counts(); calls != 3 || accepted != 2 {
			t.Errorf("server %s: %d calls, %d accepted; want 3 and 2 (one retry each)", name, calls, accepted)
		}
	}
}

// startGRPCProofServer serves the health service on bufconn to calls whose
// proof passes, answering others Unauthenticated (with dpop-nonce when one
// is wanted), and returns a client connection with opts.
func startGRPCProofServer(t *testing.T, p *proofCheck, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	check := func(ctx context.Context, method string) error {
		md, _ := metadata.FromIncomingContext(ctx)
		var authz string
		if v := md.Get("authorization"); len(v) == 1 {
			authz = v[0]
		}
		nonce, err := p.check(ctx, authz, md.Get("dpop"), "POST", dpop.MethodURL("http", md.Get(":authority")[0], method))
		if err != nil {
			if nonce != "" {
				grpc.SetHeader(ctx, metadata.Pairs("dpop-nonce", nonce))
			}
			return status.Error(codes.Unauthenticated, err.Error())
		}
		return nil
	}
	s := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			if err := check(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return next(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
			if err := check(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return next(srv, ss)
		}))
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///orders.internal:8443",
		append([]grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
		}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestPerRPCCredentialsDPoP(t *testing.T) {
	d := newTestDPoP(t)
	creds := func(opts ...TransportOption) grpc.DialOption {
		return grpc.WithPerRPCCredentials(PerRPCCredentials(Static("the-token"), append(opts, WithInsecureTransport())...))
	}
	retry := grpc.WithUnaryInterceptor(d.UnaryClientInterceptor())
	tests := []struct {
		name        string
		opts        []grpc.DialOption
		demandNonce bool
		want        []codes.Code // of each call in turn
		wantCalls   int
	}{
		{"proof", []grpc.DialOption{creds(WithDPoP(d))}, false, []codes.Code{codes.OK, codes.OK}, 2},
		{"bearer refused", []grpc.DialOption{creds()}, false, []codes.Code{codes.Unauthenticated}, 1},
		{"another key refused", []grpc.DialOption{creds(WithDPoP(newTestDPoP(t)))}, false, []codes.Code{codes.Unauthenticated}, 1},
		{"base URL that is not the server's refused", []grpc.DialOption{creds(WithDPoP(d), WithBaseURL("https://api.example"))}, false,
			[]codes.Code{codes.Unauthenticated}, 1},
		{"nonce: retried by the interceptor, then kept", []grpc.DialOption{creds(WithDPoP(d)), retry}, true,
			[]codes.Code{codes.OK, codes.OK}, 3},
		{"nonce without the interceptor: refused", []grpc.DialOption{creds(WithDPoP(d))}, true,
			[]codes.Code{codes.Unauthenticated, codes.Unauthenticated}, 2},
		{"interceptor does not retry bearer", []grpc.DialOption{creds(), retry}, true, []codes.Code{codes.Unauthenticated}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.nonces.Clear()
			p := newProofCheck(t, d.signer.Thumbprint(), tt.demandNonce)
			conn := startGRPCProofServer(t, p, tt.opts...)
			for i, want := range tt.want {
				_, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
				if got := status.Code(err); got != want {
					t.Fatalf("call %d: code %v (%v), want %v", i, got, err, want)
				}
			}
			if calls, _ := p.counts(); calls != tt.wantCalls {
				t.Errorf("server saw %d calls, want %d", calls, tt.wantCalls)
			}
		})
	}

	for _, tt := range []struct {
		name string
		opts []grpc.DialOption
		want []codes.Code
	}{
		{"stream keeps a refusal's nonce", []grpc.DialOption{creds(WithDPoP(d)), grpc.WithStreamInterceptor(d.StreamClientInterceptor())},
			[]codes.Code{codes.Unauthenticated, codes.OK, codes.OK}},
		{"stream without the interceptor", []grpc.DialOption{creds(WithDPoP(d))},
			[]codes.Code{codes.Unauthenticated, codes.Unauthenticated}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d.nonces.Clear()
			conn := startGRPCProofServer(t, newProofCheck(t, d.signer.Thumbprint(), true), tt.opts...)
			for i, want := range tt.want {
				ctx, cancel := context.WithCancel(context.Background())
				stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
				if err == nil {
					_, err = stream.Recv()
				}
				cancel()
				if got := status.Code(err); got != want {
					t.Fatalf("stream %d: %v (%v), want %v", i, got, err, want)
				}
			}
		})
	}

	t.Run("stream", func(t *testing.T) {
		p := newProofCheck(t, d.signer.Thumbprint(), false)
		conn := startGRPCProofServer(t, p, creds(WithDPoP(d)))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("stream with a proof: %v", err)
		}
	})
}

func TestConnectInterceptorDPoP(t *testing.T) {
	d := newTestDPoP(t)
	const procedure = "/greet.v1.GreetService/Greet"
	p := newProofCheck(t, d.signer.Thumbprint(), true)
	var base string
	srv := httptest.NewUnstartedServer(connect.NewUnaryHandler(procedure,
		func(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			nonce, err := p.check(ctx, req.Header().Get("Authorization"), req.Header().Values("DPoP"), "POST", base+procedure)
			if err != nil {
				ce := connect.NewError(connect.CodeUnauthenticated, err)
				if nonce != "" {
					ce.Meta().Set("DPoP-Nonce", nonce)
				}
				return nil, ce
			}
			return connect.NewResponse(wrapperspb.String("hello " + req.Msg.GetValue())), nil
		}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	base = srv.URL

	protocols := map[string]connect.ClientOption{
		"connect": connect.WithProtoJSON(), "grpc": connect.WithGRPC(), "grpc-web": connect.WithGRPCWeb(),
	}
	tests := []struct {
		name     string
		opts     []TransportOption
		wantCode connect.Code // 0: success
	}{
		{"proof, nonce learned by a retry", []TransportOption{WithDPoP(d), WithBaseURL(base)}, 0},
		{"bearer refused", []TransportOption{WithBaseURL(base)}, connect.CodeUnauthenticated},
		{"another key refused", []TransportOption{WithDPoP(newTestDPoP(t)), WithBaseURL(base)}, connect.CodeUnauthenticated},
		{"without WithBaseURL: not sent", []TransportOption{WithDPoP(d)}, connect.CodeUnauthenticated},
	}
	for _, tt := range tests {
		for pname, protocol := range protocols {
			t.Run(tt.name+"/"+pname, func(t *testing.T) {
				d.nonces.Clear()
				client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), base+procedure, protocol,
					connect.WithInterceptors(ConnectInterceptor(Static("the-token"), tt.opts...)))
				for i := range 2 {
					callsBefore, _ := p.counts()
					resp, err := client.CallUnary(context.Background(), connect.NewRequest(wrapperspb.String("alice")))
					if tt.wantCode != 0 {
						if connect.CodeOf(err) != tt.wantCode {
							t.Fatalf("call %d: %v, want code %v", i, err, tt.wantCode)
						}
						return
					}
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					if resp.Msg.GetValue() != "hello alice" {
						t.Errorf("call %d: answer %q", i, resp.Msg.GetValue())
					}
					// The first call learns the nonce by one retry; the next
					// sends it at once.
					if calls, _ := p.counts(); calls-callsBefore != 2-i {
						t.Errorf("call %d: server saw %d requests, want %d", i, calls-callsBefore, 2-i)
					}
				}
			})
		}
	}
}

func TestNewDPoPNeedsSigner(t *testing.T) {
	if d, err := NewDPoP(nil); err == nil {
		t.Fatalf("NewDPoP(nil) = %v, want an error", d)
	}
}
