package tokensource

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/dpoptest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// TestBoundTokensOverTLS: over TLS, the proofs' htu is https (grpc-go:
// from the connection's security; net/http: the URL), with server nonces;
// a certificate-bound token goes as Bearer and passes over a connection
// with its certificate only.
func TestBoundTokensOverTLS(t *testing.T) {
	e := dpoptest.New(t)
	d, err := NewDPoP(e.Key)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewDPoP(e.Other)
	if err != nil {
		t.Fatal(err)
	}

	ic, err := interceptor.New(e.Manager, interceptor.WithDPoP(e.NonceVerifier))
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(append(ic.ServerOptions(), grpc.Creds(credentials.NewTLS(e.ServerTLS())))...)
	testpb.RegisterGuardedServiceServer(gs, adminServer{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	defer gs.Stop()

	guard := httpauth.New(e.Manager, httpauth.WithDPoP(e.NonceVerifier))
	hs := httptest.NewUnstartedServer(guard.Require(httpauth.Claim("role", "admin"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "admin")
	})))
	hs.TLS = e.ServerTLS()
	hs.StartTLS()
	defer hs.Close()

	grpcCall := func(tok string, cert dpoptest.Cert, dp *DPoP) string {
		var opts []TransportOption
		dial := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(e.ClientTLS(cert)))}
		if dp != nil {
			opts = append(opts, WithDPoP(dp))
			dial = append(dial, grpc.WithUnaryInterceptor(dp.UnaryClientInterceptor()))
		}
		conn, err := grpc.NewClient(lis.Addr().String(), append(dial, grpc.WithPerRPCCredentials(PerRPCCredentials(Static(tok), opts...)))...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = testpb.NewGuardedServiceClient(conn).LiteralString(ctx, &testpb.LiteralStringRequest{})
		return reasonOf(err)
	}
	httpCall := func(tok string, cert dpoptest.Cert, dp *DPoP) string {
		var opts []TransportOption
		if dp != nil {
			opts = append(opts, WithDPoP(dp))
		}
		base := &http.Transport{TLSClientConfig: e.ClientTLS(cert)}
		defer base.CloseIdleConnections()
		resp, err := (&http.Client{Transport: RoundTripper(Static(tok), base, opts...)}).Get(hs.URL + "/admin")
		if err == nil {
			err = CheckResponse(resp)
			resp.Body.Close()
		}
		return reasonOf(err)
	}

	dpopToken, certToken := e.DPoPToken(t), e.CertToken(t)
	for _, tt := range []struct {
		name string
		tok  string
		cert dpoptest.Cert
		dp   *DPoP
		want string
	}{
		{"DPoP, the key's proofs", dpopToken, dpoptest.NoCert, d, "OK"},
		{"DPoP, as Bearer", dpopToken, dpoptest.NoCert, nil, protojwt.ReasonProofMissing},
		{"DPoP, another key's proofs", dpopToken, dpoptest.NoCert, other, protojwt.ReasonProofInvalid},
		{"certificate, its certificate", certToken, dpoptest.ClientA, nil, "OK"},
		{"certificate, another certificate", certToken, dpoptest.ClientB, nil, protojwt.ReasonProofInvalid},
		{"certificate, none", certToken, dpoptest.NoCert, nil, protojwt.ReasonProofMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := grpcCall(tt.tok, tt.cert, tt.dp); got != tt.want {
				t.Errorf("gRPC: %s, want %s", got, tt.want)
			}
			if got := httpCall(tt.tok, tt.cert, tt.dp); got != tt.want {
				t.Errorf("HTTP: %s, want %s", got, tt.want)
			}
		})
	}
}
