package main

import (
	"bytes"
	"context"
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
