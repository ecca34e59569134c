package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
)

// TestDemo runs the walk: every step under every protocol, and curl's.
func TestDemo(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	if strings.Contains(text, "FAIL") || !strings.Contains(text, "every step behaved as documented") {
		t.Fatalf("demo output:\n%s", text)
	}
	if rows := strings.Count(text, "  ok\n"); rows != 81 {
		t.Fatalf("demo ran %d steps, want 81:\n%s", rows, text)
	}
	for _, via := range []string{"connect", "grpc", "grpc-web", "curl"} {
		if !strings.Contains(text, "  "+via+"  ") {
			t.Errorf("no step over %s", via)
		}
	}
}

// TestDemoCommand runs the command as a user does, and checks that it
// exits zero after the walk.
func TestDemoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "connect")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-demo")
	cmd.Env = append(cmd.Environ(), "JWT_SECRET=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "every step behaved as documented") {
		t.Fatalf("connect -demo: %v\n%s", err, out)
	}
}

// TestOutcome checks how the walk names results, whichever the protocol:
// a surprise shows as a different string, and fails the step.
func TestOutcome(t *testing.T) {
	info := func(c connect.Code, reason string) error {
		e := connect.NewError(c, errors.New("refused"))
		if reason != "" {
			d, err := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: reason, Domain: protojwt.Domain})
			if err != nil {
				t.Fatal(err)
			}
			e.AddDetail(d)
		}
		return e
	}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "OK"},
		{info(connect.CodeUnauthenticated, protojwt.ReasonTokenMissing), "unauthenticated TOKEN_MISSING"},
		{info(connect.CodePermissionDenied, ""), "permission_denied"},
		{status.Error(codes.PermissionDenied, "no"), "permission_denied"},
		{errors.New("connection refused"), "unknown"},
	} {
		if got := outcome(tt.err); got != tt.want {
			t.Errorf("outcome(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestLogin checks the handler's credentials check: only the right
// password of a known user gets tokens.
func TestLogin(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	m, err := newManager(func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	s := &quickstartService{m: m}
	for _, c := range []struct{ user, password string }{
		{"alice", "builder"}, {"mallory", "builder"}, {"alice", ""}, {"", ""},
	} {
		_, err := s.Login(context.Background(), connect.NewRequest(&pb.LoginRequest{Username: c.user, Password: c.password}))
		if connect.CodeOf(err) != connect.CodeUnauthenticated || !errors.Is(err, errLogin) {
			t.Errorf("Login(%q, %q) error = %v, want errLogin", c.user, c.password, err)
		}
	}
	resp, err := s.Login(context.Background(), connect.NewRequest(&pb.LoginRequest{Username: "alice", Password: "wonderland"}))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Verify(context.Background(), resp.Msg.GetAuthToken())
	if err != nil || tok.Claims["custom_claim"] != "Arbitrary Required Value" {
		t.Fatalf("alice's token: %v, %v", tok, err)
	}
}

// TestEveryProcedureServed: the example implements every procedure of the
// quickstart's service, so that a method added to quickstart.proto is not
// left answering Unimplemented here.
func TestEveryProcedureServed(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	srv, err := newServer(func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler)
	defer ts.Close()
	methods := pb.File_quickstart_v1_quickstart_proto.Services().ByName("QuickstartService").Methods()
	for i := range methods.Len() {
		name := string(methods.Get(i).Name())
		resp, err := http.Post(ts.URL+"/quickstart.v1.QuickstartService/"+name, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || strings.Contains(string(body), `"code":"unimplemented"`) {
			t.Errorf("%s: HTTP %d %s", name, resp.StatusCode, body)
		}
	}
}

// TestHostileBody: a small gzip body that decodes to megabytes is refused
// by Wrap, from the headers, when it comes without a token, and by the
// read limit when it comes with one; a message under the limit is served.
func TestHostileBody(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	srv, err := newServer(func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler)
	defer ts.Close()
	token := loginToken(t, ts.URL)
	// "{", spaces, "}" is an empty message in JSON, of any size.
	padded := func(n int) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte("{"))
		zw.Write(bytes.Repeat([]byte{' '}, n))
		zw.Write([]byte("}"))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	tests := []struct {
		name  string
		body  []byte
		token string
		want  string // the Connect error code, "" for served
	}{
		{"no token, 16 MiB decoded", padded(16 << 20), "", "unauthenticated"},
		{"token, 16 MiB decoded", padded(16 << 20), token, "resource_exhausted"},
		{"token, under the limit", padded(maxMessage / 2), token, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/quickstart.v1.QuickstartService/Protected", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", "gzip")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Code string }
			if resp.StatusCode != http.StatusOK {
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("HTTP %d %q: %v", resp.StatusCode, body, err)
				}
			}
			if e.Code != tt.want {
				t.Errorf("HTTP %d, code %q, want %q: %s", resp.StatusCode, e.Code, tt.want, body)
			}
		})
	}
}

// loginToken logs alice in at the server at base, as the README's curl
// line does, and returns her auth token.
func loginToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/quickstart.v1.QuickstartService/Login", "application/json",
		strings.NewReader(`{"username":"alice","password":"wonderland"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var login struct{ AuthToken string }
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil || login.AuthToken == "" {
		t.Fatalf("Login: HTTP %d, %v", resp.StatusCode, err)
	}
	return login.AuthToken
}
