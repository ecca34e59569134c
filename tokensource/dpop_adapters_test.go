package tokensource

import (
	"context"
	"errors"
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
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

// adminServer answers the GuardedService methods the DPoP tests call,
// whose rule wants the claim role = "admin".
type adminServer struct {
	testpb.UnimplementedGuardedServiceServer
}

func (adminServer) LiteralString(context.Context, *testpb.LiteralStringRequest) (*testpb.LiteralStringResponse, error) {
	return &testpb.LiteralStringResponse{}, nil
}

func (adminServer) Watch(_ *testpb.WatchRequest, stream grpc.ServerStreamingServer[testpb.WatchResponse]) error {
	return stream.Send(&testpb.WatchResponse{})
}

type adminConnect struct {
	testpbconnect.UnimplementedGuardedServiceHandler
}

func (adminConnect) LiteralString(context.Context, *connect.Request[testpb.LiteralStringRequest]) (*connect.Response[testpb.LiteralStringResponse], error) {
	return connect.NewResponse(&testpb.LiteralStringResponse{}), nil
}

// dpopAdapters is every adapter guarding the same rule with one verifier
// of tokens and one of proofs: the client's calls through each.
type dpopAdapters struct {
	grpcLis    *bufconn.Listener
	connectSrv *httptest.Server
	httpURL    string
}

func startDPoPAdapters(t *testing.T, tokens manager.Verifier, proofs *dpop.Verifier) *dpopAdapters {
	t.Helper()
	a := &dpopAdapters{grpcLis: bufconn.Listen(1 << 20)}
	ic, err := interceptor.New(tokens, interceptor.WithDPoP(proofs))
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(ic.ServerOptions()...)
	testpb.RegisterGuardedServiceServer(gs, adminServer{})
	go gs.Serve(a.grpcLis)
	t.Cleanup(gs.Stop)

	ca, err := connectauth.New(tokens, connectauth.WithDPoP(proofs))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(adminConnect{}, connect.WithInterceptors(ca)))
	a.connectSrv = httptest.NewUnstartedServer(ca.Wrap(mux))
	a.connectSrv.EnableHTTP2 = true
	a.connectSrv.StartTLS()
	t.Cleanup(a.connectSrv.Close)

	guard := httpauth.New(tokens, httpauth.WithDPoP(proofs))
	hs := httptest.NewServer(guard.Require(httpauth.Claim("role", "admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin")
	})))
	t.Cleanup(hs.Close)
	a.httpURL = hs.URL + "/admin"
	return a
}

// reasonOf is "OK" for nil, else the protojwt reason of a refusal.
func reasonOf(err error) string {
	if err == nil {
		return "OK"
	}
	if r, ok := protojwt.ReasonOf(err); ok {
		return r
	}
	var re *ResponseError
	if errors.As(err, &re) && re.Reason != "" {
		return re.Reason
	}
	return err.Error()
}

// callEach calls the admin method through every adapter with src's
// tokens, proving with d when not nil (and retrying with the server's
// nonce through d's interceptor), and returns each outcome by transport.
func (a *dpopAdapters) callEach(t *testing.T, src Source, d *DPoP) map[string]string {
	t.Helper()
	var opts []TransportOption
	dialOpts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return a.grpcLis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	if d != nil {
		opts = append(opts, WithDPoP(d))
		dialOpts = append(dialOpts, grpc.WithUnaryInterceptor(d.UnaryClientInterceptor()))
	}
	dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(PerRPCCredentials(src, append(opts, WithInsecureTransport())...)))
	conn, err := grpc.NewClient("passthrough:///api.internal", dialOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := map[string]string{}

	client := testpb.NewGuardedServiceClient(conn)
	_, err = client.LiteralString(ctx, &testpb.LiteralStringRequest{})
	got["grpc unary"] = reasonOf(err)
	stream, err := client.Watch(ctx, &testpb.WatchRequest{User: &testpb.User{Id: "alice"}})
	if err == nil {
		_, err = stream.Recv()
	}
	got["grpc stream"] = reasonOf(err)

	for name, protocol := range map[string]connect.ClientOption{
		"connect": connect.WithProtoJSON(), "connect grpc": connect.WithGRPC(), "connect grpc-web": connect.WithGRPCWeb(),
	} {
		cc := testpbconnect.NewGuardedServiceClient(a.connectSrv.Client(), a.connectSrv.URL, protocol,
			connect.WithInterceptors(ConnectInterceptor(src, append(opts, WithBaseURL(a.connectSrv.URL))...)))
		_, err := cc.LiteralString(ctx, connect.NewRequest(&testpb.LiteralStringRequest{}))
		got[name] = reasonOf(err)
	}

	hc := &http.Client{Transport: RoundTripper(src, nil, opts...)}
	resp, err := hc.Get(a.httpURL)
	if err == nil {
		err = CheckResponse(resp)
		resp.Body.Close()
	}
	got["http"] = reasonOf(err)
	return got
}

// checkEach fails unless every transport's outcome is want.
func checkEach(t *testing.T, got map[string]string, want string) {
	t.Helper()
	if len(got) != 6 {
		t.Fatalf("outcomes of %d transports, want 6: %v", len(got), got)
	}
	for transport, g := range got {
		if g != want {
			t.Errorf("%s: %s, want %s", transport, g, want)
		}
	}
}

// TestDPoPThroughAdapters: the client's proofs pass the real adapters
// (grpc-go unary and stream, connect in its three protocols, net/http)
// for a token the Manager bound to its key; the same token sent as a
// bearer token is PROOF_MISSING, and proved by another key PROOF_INVALID.
// With server nonces, the first calls learn the nonce by one retry.
func TestDPoPThroughAdapters(t *testing.T) {
	m, err := manager.New(manager.Config{Issuer: "dpop-test", Algorithm: "HS256", Secret: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	owner, thief := newTestDPoP(t), newTestDPoP(t)
	claims := manager.DPoPBinding(owner.signer.Thumbprint())
	claims["role"] = "admin"
	bound, err := m.AuthToken("alice", nil, claims)
	if err != nil {
		t.Fatal(err)
	}
	bearer, err := m.AuthToken("alice", nil, map[string]any{"role": "admin"})
	if err != nil {
		t.Fatal(err)
	}
	for _, withNonces := range []bool{false, true} {
		name := "no nonce"
		var opts []dpop.Option
		if withNonces {
			name = "server nonces"
			n, err := dpop.NewNonceSource()
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, dpop.WithNonces(n))
		}
		t.Run(name, func(t *testing.T) {
			proofs, err := dpop.NewVerifier(opts...)
			if err != nil {
				t.Fatal(err)
			}
			a := startDPoPAdapters(t, m, proofs)
			owner.nonces.Clear()
			checkEach(t, a.callEach(t, Static(bound.Signed), owner), "OK")
			checkEach(t, a.callEach(t, Static(bound.Signed), owner), "OK") // nonces kept
			checkEach(t, a.callEach(t, Static(bound.Signed), nil), protojwt.ReasonProofMissing)
			thief.nonces.Clear()
			checkEach(t, a.callEach(t, Static(bound.Signed), thief), protojwt.ReasonProofInvalid)
			// A bearer token still passes, proved or not.
			checkEach(t, a.callEach(t, Static(bearer.Signed), nil), "OK")
		})
	}
}

// TestRefresherDPoP: a Refresher of a bound login refreshes with the same
// key through the login service's guard, whose new tokens stay bound and
// pass with the client's proofs; 100 callers at once share one refresh
// and the server's nonce, learned by the first refused call of each host.
func TestRefresherDPoP(t *testing.T) {
	store, err := revocation.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.New(manager.Config{Issuer: "dpop-test", Algorithm: "HS256", Secret: []byte(strings.Repeat("k", 32))},
		manager.WithRevocation(store))
	if err != nil {
		t.Fatal(err)
	}
	nonces, err := dpop.NewNonceSource()
	if err != nil {
		t.Fatal(err)
	}
	proofs, err := dpop.NewVerifier(dpop.WithNonces(nonces))
	if err != nil {
		t.Fatal(err)
	}
	guard := httpauth.New(m, httpauth.WithDPoP(proofs))
	mux := http.NewServeMux()
	var refreshes atomic.Int32
	guard.HandleFunc(mux, "POST /refresh", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context())
		auth, next, err := m.RotateRefreshToken(r.Context(), tok.Signed, func(context.Context, *manager.Token) (any, map[string]any, error) {
			return nil, map[string]any{"role": "admin"}, nil
		})
		if err != nil {
			guard.Deny(w, r, err)
			return
		}
		refreshes.Add(1)
		io.WriteString(w, auth.Signed+" "+next.Signed)
	}, httpauth.TokenType(manager.Refresh))
	guard.Handle(mux, "GET /admin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context())
		if b, _ := dpop.BindingOf(tok.Claims); b.JKT == "" {
			http.Error(w, "unbound token passed", http.StatusInternalServerError)
		}
	}), httpauth.Claim("role", "admin"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tt := range []struct {
		name          string
		refreshWith   func(owner *DPoP) *DPoP
		wantErr       string // "" for success
		wantRefreshes int32
	}{
		{"same key", func(owner *DPoP) *DPoP { return owner }, "", 1},
		{"another key", func(*DPoP) *DPoP { return newTestDPoP(t) }, protojwt.ReasonProofInvalid, 0},
		{"no key", func(*DPoP) *DPoP { return nil }, protojwt.ReasonProofMissing, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refreshes.Store(0)
			owner := newTestDPoP(t)
			login, err := m.RefreshToken("alice", manager.DPoPBinding(owner.signer.Thumbprint()))
			if err != nil {
				t.Fatal(err)
			}
			with := tt.refreshWith(owner)
			src, err := New("", login.Signed, func(ctx context.Context, refresh string) (string, string, error) {
				var opts []TransportOption
				if with != nil {
					opts = append(opts, WithDPoP(with))
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/refresh", nil)
				if err != nil {
					return "", "", err
				}
				resp, err := (&http.Client{Transport: RoundTripper(Static(refresh), nil, opts...)}).Do(req)
				if err != nil {
					return "", "", err
				}
				defer resp.Body.Close()
				if err := CheckResponse(resp); err != nil {
					return "", "", err
				}
				body, err := io.ReadAll(resp.Body)
				auth, next, _ := strings.Cut(string(body), " ")
				return auth, next, err
			})
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: RoundTripper(src, nil, WithDPoP(owner))}
			outcomes := make([]string, 100)
			var wg sync.WaitGroup
			for i := range outcomes {
				wg.Go(func() {
					resp, err := client.Get(srv.URL + "/admin")
					if err == nil {
						err = CheckResponse(resp)
						resp.Body.Close()
					}
					outcomes[i] = reasonOf(err)
				})
			}
			wg.Wait()
			for i, got := range outcomes {
				want := "OK"
				if tt.wantErr != "" {
					want = tt.wantErr
				}
				if !strings.Contains(got, want) {
					t.Fatalf("call %d: %s, want %s", i, got, want)
				}
			}
			if n := refreshes.Load(); n != tt.wantRefreshes {
				t.Errorf("%d refreshes, want %d", n, tt.wantRefreshes)
			}
			if tt.wantErr == "" {
				tok, _ := src.Token(context.Background())
				verified, err := m.Verify(context.Background(), tok)
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := dpop.BindingOf(verified.Claims); b.JKT != owner.signer.Thumbprint() {
					t.Errorf("refreshed token bound to %q, want the owner's key", b.JKT)
				}
			}
		})
	}
}
