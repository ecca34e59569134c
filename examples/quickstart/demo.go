package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
)

// runDemo starts both servers on free loopback ports and walks the example
// as a client would, over gRPC and over HTTP. It prints one table row per
// step and fails if any step's outcome is not the documented one.
func runDemo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := newServers(func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) })
	if err != nil {
		return err
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		grpcLis.Close()
		return err
	}
	errc := make(chan error, 2)
	s.start(grpcLis, httpLis, errc)
	defer s.shutdown()

	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	d := &demo{
		ctx:  ctx,
		grpc: pb.NewQuickstartServiceClient(conn),
		http: &http.Client{Timeout: 10 * time.Second},
		base: "http://" + httpLis.Addr().String(),
	}
	fmt.Fprintf(out, "gRPC on %s, HTTP on %s\n\n", grpcLis.Addr(), httpLis.Addr())
	failed := d.walk(out)
	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	default:
	}
	if failed > 0 {
		return fmt.Errorf("%d step(s) did not behave as documented", failed)
	}
	fmt.Fprintln(out, "\nevery step behaved as documented")
	return nil
}

// demo is the client side of the walk.
type demo struct {
	ctx  context.Context
	grpc pb.QuickstartServiceClient
	http *http.Client
	base string
}

// step is one call of the walk and its documented outcome: "OK" or "200",
// or the status and the protojwt reason of the denial.
type step struct {
	what, via, expect string
	call              func() string
}

// session holds the tokens a user got over each transport.
type session struct {
	auth, refresh map[string]string // by transport: "gRPC", "HTTP"
}

func newSession() *session {
	return &session{auth: map[string]string{}, refresh: map[string]string{}}
}

// walk runs every step in order and returns how many failed.
func (d *demo) walk(out io.Writer) int {
	alice, bob, refreshed := newSession(), newSession(), newSession()
	none := func(string) string { return "" }
	authOf := func(s *session) func(string) string { return func(via string) string { return s.auth[via] } }
	refreshOf := func(s *session) func(string) string { return func(via string) string { return s.refresh[via] } }
	tampered := func(via string) string {
		t := alice.auth[via]
		return t[:len(t)-4] + "AAAA"
	}
	protected := func(ctx context.Context) error {
		_, err := d.grpc.Protected(ctx, &pb.ProtectedRequest{})
		return err
	}
	userRoute := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := d.grpc.UserSpecific(ctx, &pb.UserSpecificRequest{Username: name})
			return err
		}
	}
	customClaim := func(ctx context.Context) error {
		_, err := d.grpc.CustomClaim(ctx, &pb.CustomClaimRequest{})
		return err
	}
	admin := func(ctx context.Context) error {
		_, err := d.grpc.AdminDashboard(ctx, &pb.AdminDashboardRequest{})
		return err
	}
	tokenInfo := func(ctx context.Context) error {
		info, err := d.grpc.TokenInfo(ctx, &pb.TokenInfoRequest{})
		if err == nil && info.GetSubject() != "alice" {
			return fmt.Errorf("token info names %q", info.GetSubject())
		}
		return err
	}
	refresh := func(into *session) func(context.Context) error {
		return func(ctx context.Context) error {
			resp, err := d.grpc.Refresh(ctx, &pb.RefreshRequest{})
			into.auth["gRPC"] = resp.GetAuthToken()
			return err
		}
	}

	var steps []step
	add := func(s ...step) { steps = append(steps, s...) }
	add(d.login("login alice, wrong password", "alice", "guess", nil, "Unauthenticated", "401")...)
	add(d.login("login alice", "alice", "wonderland", alice, "OK", "200")...)
	add(d.login("login bob", "bob", "builder", bob, "OK", "200")...)
	add(d.both("protected route, no token", none, protected, "GET /protected_route", "Unauthenticated TOKEN_MISSING", "401 TOKEN_MISSING")...)
	add(d.both("protected route, alice", authOf(alice), protected, "GET /protected_route", "OK", "200")...)
	add(d.both("protected route, tampered token", tampered, protected, "GET /protected_route", "Unauthenticated TOKEN_INVALID", "401 TOKEN_INVALID")...)
	add(d.both("protected route, refresh token", refreshOf(alice), protected, "GET /protected_route", "Unauthenticated TOKEN_TYPE", "401 TOKEN_TYPE")...)
	add(d.both("alice's user route, alice", authOf(alice), userRoute("alice"), "GET /user_specific_route/alice", "OK", "200")...)
	add(d.both("bob's user route, alice", authOf(alice), userRoute("bob"), "GET /user_specific_route/bob", "PermissionDenied CLAIM_MISMATCH", "403 CLAIM_MISMATCH")...)
	add(d.both("custom claim route, alice", authOf(alice), customClaim, "GET /custom_claim_route", "OK", "200")...)
	add(d.both("custom claim route, bob", authOf(bob), customClaim, "GET /custom_claim_route", "PermissionDenied CLAIM_MISMATCH", "403 CLAIM_MISMATCH")...)
	add(d.both("admin dashboard, alice", authOf(alice), admin, "GET /admin_dashboard", "OK", "200")...)
	add(d.both("admin dashboard, bob", authOf(bob), admin, "GET /admin_dashboard", "PermissionDenied SCOPE_MISSING", "403 SCOPE_MISSING")...)
	add(d.both("token info, alice", authOf(alice), tokenInfo, "GET /token/info", "OK", "200")...)
	add(d.both("refresh, auth token", authOf(alice), refresh(newSession()), "POST /refresh", "Unauthenticated TOKEN_TYPE", "401 TOKEN_TYPE")...)
	add(step{"refresh, refresh token", "gRPC", "OK", d.grpcCall(refreshOf(alice), refresh(refreshed))},
		step{"refresh, refresh token", "HTTP", "200", d.httpCall("POST /refresh", refreshOf(alice), func(body []byte) {
			var t tokens
			_ = json.Unmarshal(body, &t)
			refreshed.auth["HTTP"] = t.Auth
		})})
	add(d.both("protected route, refreshed token", authOf(refreshed), protected, "GET /protected_route", "OK", "200")...)
	add(d.both("refresh again, used refresh token", refreshOf(alice), refresh(newSession()), "POST /refresh", "Unauthenticated", "401")...)
	add(d.both("protected route, token of that login", authOf(refreshed), protected, "GET /protected_route", "Unauthenticated TOKEN_REVOKED", "401 TOKEN_REVOKED")...)
	add(d.both("protected route, bob unaffected", authOf(bob), protected, "GET /protected_route", "OK", "200")...)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTEP\tVIA\tEXPECTED\tGOT\tRESULT")
	failed := 0
	for i, s := range steps {
		got := s.call()
		mark := "ok"
		if got != s.expect {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i+1, s.what, s.via, s.expect, got, mark)
	}
	tw.Flush()
	return failed
}

// both is the same call over gRPC and over HTTP, with the token tok gives
// for each transport.
func (d *demo) both(what string, tok func(via string) string, rpc func(context.Context) error, route, grpcExpect, httpExpect string) []step {
	return []step{
		{what, "gRPC", grpcExpect, d.grpcCall(tok, rpc)},
		{what, "HTTP", httpExpect, d.httpCall(route, tok, nil)},
	}
}

// grpcCall returns a step's call of rpc with the gRPC token tok gives.
func (d *demo) grpcCall(tok func(via string) string, rpc func(context.Context) error) func() string {
	return func() string {
		ctx := d.ctx
		if t := tok("gRPC"); t != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+t)
		}
		return grpcOutcome(rpc(ctx))
	}
}

// login logs a user in over both transports, keeping the tokens in into.
func (d *demo) login(what, username, password string, into *session, grpcExpect, httpExpect string) []step {
	return []step{
		{what, "gRPC", grpcExpect, func() string {
			resp, err := d.grpc.Login(d.ctx, &pb.LoginRequest{Username: username, Password: password})
			if into != nil && err == nil {
				into.auth["gRPC"], into.refresh["gRPC"] = resp.GetAuthToken(), resp.GetRefreshToken()
			}
			return grpcOutcome(err)
		}},
		{what, "HTTP", httpExpect, func() string {
			form := url.Values{"username": {username}, "password": {password}}
			req, err := http.NewRequestWithContext(d.ctx, "POST", d.base+"/login", strings.NewReader(form.Encode()))
			if err != nil {
				return err.Error()
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return d.httpDo(req, func(body []byte) {
				var t tokens
				if into != nil && json.Unmarshal(body, &t) == nil {
					into.auth["HTTP"], into.refresh["HTTP"] = t.Auth, t.Refresh
				}
			})
		}},
	}
}

// httpCall returns a step's call of route ("GET /path") with the HTTP token
// tok gives; onOK sees the body of a 200 answer.
func (d *demo) httpCall(route string, tok func(via string) string, onOK func([]byte)) func() string {
	return func() string {
		method, path, _ := strings.Cut(route, " ")
		req, err := http.NewRequestWithContext(d.ctx, method, d.base+path, nil)
		if err != nil {
			return err.Error()
		}
		if t := tok("HTTP"); t != "" {
			req.Header.Set("Authorization", "Bearer "+t)
		}
		return d.httpDo(req, onOK)
	}
}

// httpDo sends req and returns its outcome: the status code, and the
// protojwt reason of a denial.
func (d *demo) httpDo(req *http.Request, onOK func([]byte)) string {
	resp, err := d.http.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "error: " + err.Error()
	}
	if resp.StatusCode == http.StatusOK {
		if onOK != nil {
			onOK(body)
		}
		return "200"
	}
	var denial struct{ Reason string }
	if json.Unmarshal(body, &denial) == nil && denial.Reason != "" {
		return fmt.Sprintf("%d %s", resp.StatusCode, denial.Reason)
	}
	return fmt.Sprint(resp.StatusCode)
}

// grpcOutcome is "OK", or the status code and the protojwt reason of a
// denial.
func grpcOutcome(err error) string {
	if err == nil {
		return "OK"
	}
	st, ok := status.FromError(err)
	if !ok {
		return "error: " + err.Error()
	}
	for _, detail := range st.Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok && info.GetDomain() == "protojwt" {
			return st.Code().String() + " " + info.GetReason()
		}
	}
	return st.Code().String()
}
