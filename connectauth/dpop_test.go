package connectauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/dpoptest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
)

// dpopProtocols are the client options of connect's three protocols.
var dpopProtocols = map[string][]connect.ClientOption{
	"connect":  nil,
	"grpc":     {connect.WithGRPC()},
	"grpc-web": {connect.WithGRPCWeb()},
}

// tlsServer is the test services behind Wrap over HTTPS (HTTP/2), with a
// client per client certificate.
type tlsServer struct {
	url     string
	clients map[dpoptest.Cert]*http.Client
}

// startTLS serves the test services through auth.Wrap, and auth as their
// interceptor, over TLS with env's certificates; wrap false leaves Wrap out.
func startTLS(t *testing.T, env *dpoptest.Env, wrap bool, opts ...connectauth.Option) *tlsServer {
	t.Helper()
	auth, err := connectauth.New(env.Manager, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(&guarded{}, connect.WithInterceptors(auth)))
	var h http.Handler = mux
	if wrap {
		h = auth.Wrap(mux)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = env.ServerTLS()
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ts := &tlsServer{url: srv.URL, clients: map[dpoptest.Cert]*http.Client{}}
	for _, c := range []dpoptest.Cert{dpoptest.NoCert, dpoptest.ClientA, dpoptest.ClientB} {
		tr := &http.Transport{TLSClientConfig: env.ClientTLS(c), ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		ts.clients[c] = &http.Client{Transport: tr}
	}
	return ts
}

// outcome reads how a call ended from its error.
func dpopOutcome(t testing.TB, err error) dpoptest.Outcome {
	t.Helper()
	var o dpoptest.Outcome
	if err == nil {
		return o
	}
	reason, ok := protojwt.ReasonOf(err)
	if !ok {
		t.Fatalf("refusal without a protojwt reason: %v", err)
	}
	o.Reason = reason
	if ce := new(connect.Error); errors.As(err, &ce) {
		o.Nonce = ce.Meta().Get("DPoP-Nonce")
	}
	return o
}

// setHeaders puts r's authorization and DPoP values on h.
func setHeaders(h http.Header, r dpoptest.Request) {
	for _, v := range r.Authorization {
		h.Add("Authorization", v)
	}
	for _, v := range r.DPoP {
		h.Add("DPoP", v)
	}
}

func ctx10(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// unaryCaller calls LiteralString under the protocol of opts.
func (ts *tlsServer) unaryCaller(opts []connect.ClientOption) dpoptest.Caller {
	return func(t testing.TB, r dpoptest.Request) dpoptest.Outcome {
		client := testpbconnect.NewGuardedServiceClient(ts.clients[r.Cert], ts.url, opts...)
		req := connect.NewRequest(&testpb.LiteralStringRequest{})
		setHeaders(req.Header(), r)
		resp, err := client.LiteralString(ctx10(t), req)
		if err == nil && resp.Msg.GetReply().GetSubject() != "alice" {
			t.Fatalf("handler saw subject %q", resp.Msg.GetReply().GetSubject())
		}
		return dpopOutcome(t, err)
	}
}

// streamCaller runs a Watch to its end under the protocol of opts.
func (ts *tlsServer) streamCaller(opts []connect.ClientOption) dpoptest.Caller {
	return func(t testing.TB, r dpoptest.Request) dpoptest.Outcome {
		client := testpbconnect.NewGuardedServiceClient(ts.clients[r.Cert], ts.url, opts...)
		req := connect.NewRequest(&testpb.WatchRequest{User: &testpb.User{Id: "alice"}})
		setHeaders(req.Header(), r)
		stream, err := client.Watch(ctx10(t), req)
		if err != nil {
			return dpopOutcome(t, err)
		}
		defer stream.Close()
		for stream.Receive() {
		}
		return dpopOutcome(t, stream.Err())
	}
}

func (ts *tlsServer) target(method, other string) dpoptest.Target {
	return dpoptest.Target{Method: http.MethodPost, URL: ts.url + method, Other: ts.url + other}
}

// TestDPoPWrap runs the attack table of sender-constrained tokens through
// Wrap over HTTPS, under the three protocols, on unary calls and streams.
func TestDPoPWrap(t *testing.T) {
	env := dpoptest.New(t)
	plain := startTLS(t, env, true, connectauth.WithDPoP(env.Verifier))
	nonced := startTLS(t, env, true, connectauth.WithDPoP(env.NonceVerifier))
	for name, opts := range dpopProtocols {
		t.Run(name, func(t *testing.T) {
			t.Run("unary", func(t *testing.T) {
				const method, other = testpbconnect.GuardedServiceLiteralStringProcedure, testpbconnect.GuardedServiceLiteralNumberProcedure
				dpoptest.Run(t, env,
					dpoptest.Server{Target: plain.target(method, other), Call: plain.unaryCaller(opts)},
					&dpoptest.Server{Target: nonced.target(method, other), Call: nonced.unaryCaller(opts)})
			})
			t.Run("stream", func(t *testing.T) {
				const method, other = testpbconnect.GuardedServiceWatchProcedure, testpbconnect.GuardedServiceLiteralStringProcedure
				dpoptest.Run(t, env,
					dpoptest.Server{Target: plain.target(method, other), Call: plain.streamCaller(opts)},
					&dpoptest.Server{Target: nonced.target(method, other), Call: nonced.streamCaller(opts)})
			})
		})
	}
}

// TestDPoPWithoutWrap: the interceptor alone can't check a proof or a
// certificate, so it refuses every bound token with PROOF_MISSING, even
// one with a good proof over the right certificate; bearer tokens pass.
func TestDPoPWithoutWrap(t *testing.T) {
	env := dpoptest.New(t)
	ts := startTLS(t, env, false, connectauth.WithDPoP(env.Verifier))
	target := ts.target(testpbconnect.GuardedServiceLiteralStringProcedure, testpbconnect.GuardedServiceLiteralNumberProcedure)
	for name, opts := range dpopProtocols {
		t.Run(name, func(t *testing.T) {
			call := ts.unaryCaller(opts)
			for _, tt := range dpoptest.Cases() {
				if tt.Nonce || tt.Twice {
					continue
				}
				t.Run(tt.Name, func(t *testing.T) {
					got := call(t, tt.Make(t, env, target, ""))
					// Every bound token is one the interceptor can't check.
					want := protojwt.ReasonProofMissing
					switch tt.Name {
					case "bearer token as Bearer":
						want = ""
					case "bearer token with the DPoP scheme", "cnf of an unsupported method":
						want = protojwt.ReasonProofInvalid
					}
					if got.Reason != want {
						t.Fatalf("reason %q, want %q", got.Reason, want)
					}
				})
			}
		})
	}
}

// TestDPoPOptionErrors: a nil verifier and a public URL that is not one
// are errors of New; with a public URL, proofs name it.
func TestDPoPOptionErrors(t *testing.T) {
	env := dpoptest.New(t)
	for name, opt := range map[string]connectauth.Option{
		"nil verifier":     connectauth.WithDPoP(nil),
		"relative URL":     connectauth.WithPublicURL("/api"),
		"URL with a query": connectauth.WithPublicURL("https://api.example.com/?a=b"),
	} {
		if _, err := connectauth.New(env.Manager, opt); !errors.Is(err, protojwt.ErrInvalidOption) {
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
	ts := startTLS(t, env, true, connectauth.WithPublicURL("https://api.example.com"))
	call := ts.unaryCaller(nil)
	for url, want := range map[string]string{
		"https://api.example.com" + testpbconnect.GuardedServiceLiteralStringProcedure: "",
		ts.url + testpbconnect.GuardedServiceLiteralStringProcedure:                    protojwt.ReasonProofInvalid,
	} {
		tok := env.DPoPToken(t)
		p, err := env.Key.Proof(dpop.Call{Method: http.MethodPost, URL: url, AccessToken: tok}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := call(t, dpoptest.Request{Authorization: []string{"DPoP " + tok}, DPoP: []string{p}}); got.Reason != want {
			t.Errorf("proof for %s: reason %q, want %q", url, got.Reason, want)
		}
	}
}
