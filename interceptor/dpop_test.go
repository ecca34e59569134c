package interceptor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/dpoptest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// tlsServer is the test services over TLS on loopback, with a connection
// per client certificate.
type tlsServer struct {
	addr  string
	conns map[dpoptest.Cert]*grpc.ClientConn
}

// startTLS starts the test services behind an interceptor of opts, over
// TLS with env's certificates, asking clients for a certificate.
func startTLS(t *testing.T, env *dpoptest.Env, opts ...interceptor.Option) *tlsServer {
	t.Helper()
	auth, err := interceptor.New(env.Manager, opts...)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(append(auth.ServerOptions(), grpc.Creds(credentials.NewTLS(env.ServerTLS())))...)
	testpb.RegisterGuardedServiceServer(s, &guarded{})
	go func() { _ = s.Serve(lis) }()
	ts := &tlsServer{addr: lis.Addr().String(), conns: map[dpoptest.Cert]*grpc.ClientConn{}}
	for _, c := range []dpoptest.Cert{dpoptest.NoCert, dpoptest.ClientA, dpoptest.ClientB} {
		conn, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(credentials.NewTLS(env.ClientTLS(c))))
		if err != nil {
			t.Fatal(err)
		}
		ts.conns[c] = conn
	}
	t.Cleanup(func() {
		for _, c := range ts.conns {
			_ = c.Close()
		}
		s.Stop()
	})
	return ts
}

// outgoing returns a context carrying r's authorization and dpop values.
func outgoing(t testing.TB, r dpoptest.Request) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	for _, v := range r.Authorization {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	for _, v := range r.DPoP {
		ctx = metadata.AppendToOutgoingContext(ctx, "dpop", v)
	}
	return ctx
}

// outcome reads how a call ended from its error and trailer.
func outcome(t testing.TB, err error, trailer metadata.MD) dpoptest.Outcome {
	t.Helper()
	var o dpoptest.Outcome
	if err != nil {
		reason, ok := protojwt.ReasonOf(err)
		if !ok {
			t.Fatalf("refusal without a protojwt reason: %v", err)
		}
		o.Reason = reason
		t.Logf("refused: %v", err)
	}
	if n := trailer.Get("dpop-nonce"); len(n) > 0 {
		o.Nonce = n[0]
	}
	return o
}

// unaryCaller calls LiteralString.
func (ts *tlsServer) unaryCaller(t testing.TB, r dpoptest.Request) dpoptest.Outcome {
	var trailer metadata.MD
	resp := new(testpb.LiteralStringResponse)
	err := ts.conns[r.Cert].Invoke(outgoing(t, r), testpb.GuardedService_LiteralString_FullMethodName, &testpb.LiteralStringRequest{}, resp, grpc.Trailer(&trailer))
	if err == nil && resp.GetReply().GetSubject() != "alice" {
		t.Fatalf("handler saw subject %q", resp.GetReply().GetSubject())
	}
	return outcome(t, err, trailer)
}

// streamCaller runs a Watch to its end.
func (ts *tlsServer) streamCaller(t testing.TB, r dpoptest.Request) dpoptest.Outcome {
	stream, err := testpb.NewGuardedServiceClient(ts.conns[r.Cert]).Watch(outgoing(t, r), &testpb.WatchRequest{User: &testpb.User{Id: "alice"}})
	if err != nil {
		return outcome(t, err, nil)
	}
	for {
		_, err = stream.Recv()
		if errors.Is(err, io.EOF) {
			return outcome(t, nil, stream.Trailer())
		}
		if err != nil {
			return outcome(t, err, stream.Trailer())
		}
	}
}

func (ts *tlsServer) target(method, other string) dpoptest.Target {
	return dpoptest.Target{Method: "POST", URL: "https://" + ts.addr + method, Other: "https://" + ts.addr + other}
}

// TestDPoPUnary runs the attack table of sender-constrained tokens over
// grpc-go with TLS, against LiteralString.
func TestDPoPUnary(t *testing.T) {
	env := dpoptest.New(t)
	plain := startTLS(t, env, interceptor.WithDPoP(env.Verifier))
	nonced := startTLS(t, env, interceptor.WithDPoP(env.NonceVerifier))
	const method, other = testpb.GuardedService_LiteralString_FullMethodName, testpb.GuardedService_LiteralNumber_FullMethodName
	dpoptest.Run(t, env,
		dpoptest.Server{Target: plain.target(method, other), Call: plain.unaryCaller},
		&dpoptest.Server{Target: nonced.target(method, other), Call: nonced.unaryCaller})
}

// TestDPoPStream runs the table against the Watch stream: the proof is
// checked when the stream opens, its htu naming the method.
func TestDPoPStream(t *testing.T) {
	env := dpoptest.New(t)
	plain := startTLS(t, env, interceptor.WithDPoP(env.Verifier))
	nonced := startTLS(t, env, interceptor.WithDPoP(env.NonceVerifier))
	const method, other = testpb.GuardedService_Watch_FullMethodName, testpb.GuardedService_LiteralString_FullMethodName
	dpoptest.Run(t, env,
		dpoptest.Server{Target: plain.target(method, other), Call: plain.streamCaller},
		&dpoptest.Server{Target: nonced.target(method, other), Call: nonced.streamCaller})
}

// TestDPoPWithoutOption: with no WithDPoP, bound tokens are checked all
// the same, by the default verifier; none is taken as a bearer token.
func TestDPoPWithoutOption(t *testing.T) {
	env := dpoptest.New(t)
	ts := startTLS(t, env)
	target := ts.target(testpb.GuardedService_LiteralString_FullMethodName, testpb.GuardedService_LiteralNumber_FullMethodName)
	for _, tt := range dpoptest.Cases() {
		if tt.Nonce {
			continue
		}
		t.Run(tt.Name, func(t *testing.T) {
			r := tt.Make(t, env, target, "")
			if tt.Twice {
				if got := ts.unaryCaller(t, r); got.Reason != "" {
					t.Fatalf("first call refused: %+v", got)
				}
			}
			dpoptest.Check(t, tt, ts.unaryCaller(t, r), "")
		})
	}
}

// TestDPoPPublicURL: with WithPublicURL, proofs name the method under the
// public URL, not under the authority the client sent.
func TestDPoPPublicURL(t *testing.T) {
	env := dpoptest.New(t)
	ts := startTLS(t, env, interceptor.WithDPoP(env.Verifier), interceptor.WithPublicURL("https://api.example.com/grpc"))
	const method = testpb.GuardedService_LiteralString_FullMethodName
	tests := []struct {
		name, url, want string
	}{
		{"public URL", "https://api.example.com/grpc" + method, ""},
		{"public URL, default port and case", "HTTPS://API.example.com:443/grpc" + method, ""},
		{"authority the client sent", "https://" + ts.addr + method, protojwt.ReasonProofInvalid},
		{"public host without the prefix", "https://api.example.com" + method, protojwt.ReasonProofInvalid},
		{"http", "http://api.example.com/grpc" + method, protojwt.ReasonProofInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := env.DPoPToken(t)
			p, err := env.Key.Proof(dpop.Call{Method: "POST", URL: tt.url, AccessToken: tok}, "")
			if err != nil {
				t.Fatal(err)
			}
			got := ts.unaryCaller(t, dpoptest.Request{Authorization: []string{"DPoP " + tok}, DPoP: []string{p}})
			if got.Reason != tt.want {
				t.Fatalf("reason %q, want %q", got.Reason, tt.want)
			}
		})
	}
}

// TestDPoPOptionErrors: a nil verifier and a public URL that is not one
// are errors of New.
func TestDPoPOptionErrors(t *testing.T) {
	m := newManager(t)
	for name, opt := range map[string]interceptor.Option{
		"nil verifier":        interceptor.WithDPoP(nil),
		"relative URL":        interceptor.WithPublicURL("/api"),
		"URL with a query":    interceptor.WithPublicURL("https://api.example.com/?a=b"),
		"URL of another kind": interceptor.WithPublicURL("ftp://api.example.com"),
	} {
		if _, err := interceptor.New(m, opt); !errors.Is(err, protojwt.ErrInvalidOption) {
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
}

// TestDPoPStreamRevoked: a stream opened with a DPoP-bound token and its
// proof is checked on every message as any stream is: the token revoked
// while it is open ends it at the next message, with no new proof asked.
func TestDPoPStreamRevoked(t *testing.T) {
	env := dpoptest.New(t)
	m, err := manager.New(manager.Config{Issuer: "dpoptest", Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef-dpop")},
		manager.WithRevocation(rpctest.RevocationStore(t)))
	if err != nil {
		t.Fatal(err)
	}
	env.Manager = m
	ts := startTLS(t, env, interceptor.WithDPoP(env.Verifier), interceptor.WithStreamRecheck(0))
	tok := env.DPoPToken(t)
	url := "https://" + ts.addr + testpb.GuardedService_Chat_FullMethodName
	p, err := env.Key.Proof(dpop.Call{Method: "POST", URL: url, AccessToken: tok}, "")
	if err != nil {
		t.Fatal(err)
	}
	stream, err := testpb.NewGuardedServiceClient(ts.conns[dpoptest.NoCert]).Chat(outgoing(t, dpoptest.Request{Authorization: []string{"DPoP " + tok}, DPoP: []string{p}}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := stream.Send(&testpb.ChatRequest{Sender: "alice"}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	verified, err := m.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), verified); err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&testpb.ChatRequest{Sender: "alice"})
	_, err = stream.Recv()
	if reason, _ := protojwt.ReasonOf(err); reason != protojwt.ReasonTokenRevoked {
		t.Fatalf("after revocation: %v, want %s", err, protojwt.ReasonTokenRevoked)
	}
}
