package connectauth_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/manager"
)

// A hostile body: a FieldTop request whose JSON is large and compresses
// to almost nothing, sent without a token. connect decompresses and
// decodes a message before any interceptor runs; Wrap refuses it first.

// hostileJSON returns a FieldTop request of about n bytes of JSON.
func hostileJSON(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 16)
	b.WriteString(`{"username":"`)
	b.Write(bytes.Repeat([]byte{'a'}, n))
	b.WriteString(`"}`)
	return b.Bytes()
}

// gzipped returns b compressed with gzip.
func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// A hostileProtocol sends a gzipped JSON message as one protocol does and
// reads the denial of its answer.
type hostileProtocol struct {
	name        string
	contentType string
	encoding    string // the header that names the compression
	envelope    bool   // gRPC and gRPC-Web frame each message
	h2          bool
	// denial returns the error a client of the protocol would see.
	denial func(t testing.TB, resp *http.Response, body []byte) error
}

var hostileProtocols = []hostileProtocol{
	{name: "connect", contentType: "application/json", encoding: "Content-Encoding", denial: connectDenial},
	{name: "grpc", contentType: "application/grpc+json", encoding: "Grpc-Encoding", envelope: true, h2: true,
		denial: func(t testing.TB, resp *http.Response, _ []byte) error { return grpcDenial(t, resp.Trailer) }},
	{name: "grpc-web", contentType: "application/grpc-web+json", encoding: "Grpc-Encoding", envelope: true,
		denial: func(t testing.TB, resp *http.Response, _ []byte) error { return grpcDenial(t, resp.Header) }},
}

// payload returns the body of a request carrying the compressed message z.
func (hp hostileProtocol) payload(z []byte) []byte {
	if !hp.envelope {
		return z
	}
	out := make([]byte, 5, 5+len(z))
	out[0] = 1 // compressed
	binary.BigEndian.PutUint32(out[1:], uint32(len(z)))
	return append(out, z...)
}

// request returns a request of FieldTop at base carrying payload, with
// the Authorization values auth.
func (hp hostileProtocol) request(ctx context.Context, base string, payload []byte, auth []string) *http.Request {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, base+methodFieldTop, bytes.NewReader(payload))
	req.RequestURI = ""
	req.Header.Set("Content-Type", hp.contentType)
	req.Header.Set(hp.encoding, "gzip")
	addAuth(req.Header, auth)
	return req
}

// connectDenial reads the Connect protocol's error body as a client does.
func connectDenial(t testing.TB, resp *http.Response, body []byte) error {
	t.Helper()
	var e connectErrorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("HTTP %d, error body %q: %v", resp.StatusCode, body, err)
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(e.Code)); err != nil {
		t.Fatalf("code %q: %v", e.Code, err)
	}
	ce := connect.NewError(code, errors.New(e.Message))
	for _, d := range e.Details {
		value, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(d.Value, "="))
		if err != nil {
			t.Fatalf("detail %q: %v", d.Value, err)
		}
		info := new(errdetails.ErrorInfo)
		if d.Type != "google.rpc.ErrorInfo" || proto.Unmarshal(value, info) != nil {
			t.Fatalf("detail of type %q", d.Type)
		}
		detail, err := connect.NewErrorDetail(info)
		if err != nil {
			t.Fatal(err)
		}
		ce.AddDetail(detail)
	}
	return ce
}

// grpcDenial reads the status of a gRPC or gRPC-Web answer from h, its
// trailers or (trailers-only) headers, as a client does.
func grpcDenial(t testing.TB, h http.Header) error {
	t.Helper()
	if h.Get("Grpc-Status") == "" {
		t.Fatalf("no grpc-status in %v", h)
	}
	bin, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(h.Get("Grpc-Status-Details-Bin"), "="))
	if err != nil {
		t.Fatalf("grpc-status-details-bin: %v", err)
	}
	st := new(spb.Status)
	if err := proto.Unmarshal(bin, st); err != nil {
		t.Fatalf("grpc-status-details-bin: %v", err)
	}
	if strconv.Itoa(int(st.GetCode())) != h.Get("Grpc-Status") {
		t.Errorf("grpc-status %s, details say %d", h.Get("Grpc-Status"), st.GetCode())
	}
	return status.FromProto(st).Err()
}

// TestWrapHostileBody sends 16 MiB of JSON in 16 KiB of gzip, without a
// token, under every protocol over loopback: Wrap refuses it as the
// interceptor would, TOKEN_MISSING, and connect never reads it.
func TestWrapHostileBody(t *testing.T) {
	ws := startWrapped(t, newManager(t))
	z := gzipped(t, hostileJSON(16<<20))
	for _, hp := range hostileProtocols {
		t.Run(hp.name, func(t *testing.T) {
			before := ws.reached.Load()
			resp, err := ws.client(hp.h2).Do(hp.request(ctxFor(t), ws.url, hp.payload(z), nil))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			rpctest.CheckDenial(t, hp.denial(t, resp, body), codes.Unauthenticated, protojwt.ReasonTokenMissing)
			if n := ws.reached.Load() - before; n != 0 {
				t.Errorf("the hostile body reached connect %d times", n)
			}
		})
	}
}

// hostileMux returns the test services' mux guarded by the interceptor of
// m, and the interceptor: a server without a network, whose allocations
// are the server's alone.
func hostileMux(t testing.TB, m manager.Verifier) (http.Handler, *connectauth.Interceptor) {
	t.Helper()
	auth, err := connectauth.New(m)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{guarded: &guarded{}}
	return ts.mux(upload{}, connect.WithInterceptors(auth)), auth
}

// serveHostile serves one request carrying payload under hp through h, in
// process, and returns the recorded answer.
func serveHostile(h http.Handler, hp hostileProtocol, payload []byte, auth []string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := hp.request(context.Background(), "", payload, auth)
	if hp.h2 {
		req.ProtoMajor, req.ProtoMinor, req.Proto = 2, 0, "HTTP/2.0"
	}
	h.ServeHTTP(rec, req)
	return rec
}

// TestWrapHostileBodyCost pins what refusing a hostile body costs the
// server: through Wrap, a few KiB whatever the body decodes to; through the
// interceptor alone, the decoded message and more. The second bound shows
// that the first measures something.
func TestWrapHostileBodyCost(t *testing.T) {
	const decoded = 16 << 20
	mux, auth := hostileMux(t, newManager(t))
	wrapped := auth.Wrap(mux)
	z := gzipped(t, hostileJSON(decoded))
	for _, hp := range hostileProtocols {
		t.Run(hp.name, func(t *testing.T) {
			payload := hp.payload(z)
			for name, h := range map[string]http.Handler{"wrap": wrapped, "interceptor": mux} {
				t.Run(name, func(t *testing.T) {
					rec := serveHostile(h, hp, payload, nil)
					rpctest.CheckDenial(t, hp.denial(t, rec.Result(), rec.Body.Bytes()), codes.Unauthenticated, protojwt.ReasonTokenMissing)
				})
			}
			perCall := hostiletest.BytesPerCall(20, func() { serveHostile(wrapped, hp, payload, nil) })
			if perCall > 32<<10 {
				t.Errorf("refusing %d KiB of gzip through Wrap allocates %d bytes, want at most 32 KiB", len(z)>>10, perCall)
			}
			alone := hostiletest.BytesPerCall(1, func() { serveHostile(mux, hp, payload, nil) })
			if alone < decoded {
				t.Errorf("the interceptor alone allocates %d bytes refusing it, want at least the %d decoded: the body is not hostile", alone, decoded)
			}
			t.Logf("bytes allocated refusing %d KiB of gzip (%d MiB of JSON): %d through Wrap, %d through the interceptor alone", len(z)>>10, decoded>>20, perCall, alone)
		})
	}
}

// BenchmarkHostileBody is the server's cost of refusing 64 MiB of JSON in
// 64 KiB of gzip without a token, in process: through the interceptor
// alone and through Wrap; and, for scale, of a valid call (a small gzipped
// message, a token) through each. Compare bytes/op in one run:
//
//	go test -run '^$' -bench HostileBody -count 6 ./connectauth
func BenchmarkHostileBody(b *testing.B) {
	m := newManager(b)
	mux, auth := hostileMux(b, m)
	wrapped := auth.Wrap(mux)
	z := gzipped(b, hostileJSON(64<<20))
	alice := []string{bearer(authToken(b, m, "alice", nil, nil))}
	valid := gzipped(b, []byte(`{"username":"alice"}`))
	for _, hp := range hostileProtocols {
		payload := hp.payload(z)
		for _, bm := range []struct {
			name    string
			h       http.Handler
			payload []byte
			auth    []string
		}{
			{"interceptor", mux, payload, nil},
			{"wrap", wrapped, payload, nil},
			{"interceptor-valid", mux, hp.payload(valid), alice},
			{"wrap-valid", wrapped, hp.payload(valid), alice},
		} {
			b.Run(hp.name+"/"+bm.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rec := serveHostile(bm.h, hp, bm.payload, bm.auth)
					if rec.Code != http.StatusOK && rec.Code != http.StatusUnauthorized {
						b.Fatalf("HTTP %d", rec.Code)
					}
				}
			})
		}
	}
}
