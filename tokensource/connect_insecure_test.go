package tokensource

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
)

// TestConnectInterceptorRefusesPlainText: as RoundTripper and
// PerRPCCredentials, ConnectInterceptor sends no token over plain http://
// to a host that is not loopback. The clients dial real connect servers on
// loopback whatever host their URL names, so the host is the URL's alone.
func TestConnectInterceptorRefusesPlainText(t *testing.T) {
	w := &watcher{}
	_, h := testpbconnect.NewGuardedServiceHandler(w)
	plain := httptest.NewServer(h)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	// dialing returns an http.Client that reaches srv whatever the URL's host.
	dialing := func(srv *httptest.Server) *http.Client {
		tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}}
		if srv.TLS != nil {
			tr.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
		}
		return &http.Client{Transport: tr}
	}
	tests := []struct {
		name string
		srv  *httptest.Server
		url  string
		opts []TransportOption
		want error // nil: sent with the token
	}{
		{"http to a remote host", plain, "http://orders.internal", nil, errInsecure},
		{"http to a remote host with its port", plain, "http://orders.internal:8080", nil, errInsecure},
		{"http to a host named like loopback", plain, "http://127.0.0.1.example.com", nil, errInsecure},
		{"https without WithBaseURL", tlsSrv, "https://example.com", nil, errInsecure},
		{"http base URL to a remote host", plain, "http://orders.internal", []TransportOption{WithBaseURL("http://orders.internal")}, errInsecure},
		{"base URL of another host", tlsSrv, "https://example.com", []TransportOption{WithBaseURL("https://api.example.com")}, errOtherHost},
		{"base URL not absolute", tlsSrv, "https://example.com", []TransportOption{WithBaseURL("example.com")}, errBaseURL},
		{"https base URL", tlsSrv, "https://example.com", []TransportOption{WithBaseURL("https://example.com")}, nil},
		{"http base URL to loopback", plain, "http://localhost", []TransportOption{WithBaseURL("http://localhost")}, nil},
		{"http to loopback", plain, plain.URL, nil, nil},
		{"http to ::1", plain, "http://[::1]:9", nil, nil},
		{"http allowed", plain, "http://orders.internal", []TransportOption{WithInsecureTransport()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingSource{tok: "a.b.c"}
			client := testpbconnect.NewGuardedServiceClient(dialing(tt.srv), tt.url,
				connect.WithInterceptors(ConnectInterceptor(src, tt.opts...)))
			before := w.calls.Load()
			_, unaryErr := client.Public(context.Background(), connect.NewRequest(&testpb.PublicRequest{}))
			stream, streamErr := client.Watch(context.Background(), connect.NewRequest(&testpb.WatchRequest{}))
			if streamErr == nil {
				for stream.Receive() {
				}
				streamErr = stream.Err()
				stream.Close()
			}
			for _, err := range []error{unaryErr, streamErr} {
				if tt.want == nil {
					if err != nil {
						t.Fatalf("call: %v", err)
					}
					continue
				}
				if !errors.Is(err, tt.want) || connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Fatalf("call: %v (%v), want %v, unauthenticated", err, connect.CodeOf(err), tt.want)
				}
			}
			if tt.want == nil {
				if got := *w.seen.Load(); got != "Bearer a.b.c" {
					t.Fatalf("the server saw %q", got)
				}
				return
			}
			if w.calls.Load() != before || src.calls.Load() != 0 {
				t.Fatalf("a refused call reached the server (%d) or read the token (%d)", w.calls.Load()-before, src.calls.Load())
			}
		})
	}
}
