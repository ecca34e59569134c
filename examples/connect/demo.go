package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
	"github.com/protojwt/protojwt/examples/quickstart/quickstartpb/quickstartpbconnect"
)

// runDemo serves on a free loopback port and walks the quickstart's flow
// as a client would, under each protocol connect serves: Connect (JSON
// over HTTP/1.1), gRPC (a grpc-go client) and gRPC-Web, then with a plain
// JSON POST as curl sends it. It prints one row per step and fails if any
// outcome is not the documented one.
func runDemo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	srv, err := newServer(func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) })
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	defer srv.Close()
	base := "http://" + lis.Addr().String()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	http1 := &http.Client{Timeout: 10 * time.Second}
	clients := []struct {
		via string
		c   client
	}{
		{"connect", connectClient{quickstartpbconnect.NewQuickstartServiceClient(http1, base, connect.WithProtoJSON())}},
		{"grpc", grpcClient{pb.NewQuickstartServiceClient(conn)}},
		{"grpc-web", connectClient{quickstartpbconnect.NewQuickstartServiceClient(http1, base, connect.WithGRPCWeb())}},
	}
	fmt.Fprintf(out, "Connect, gRPC and gRPC-Web on %s\n\n", lis.Addr())

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTEP\tVIA\tEXPECTED\tGOT\tRESULT")
	n, failed := 0, 0
	record := func(what, via, expect, got string) {
		n++
		mark := "ok"
		if got != expect {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", n, what, via, expect, got, mark)
	}
	for _, c := range clients {
		for _, s := range walk(ctx, c.c) {
			record(s.what, c.via, s.expect, s.got)
		}
	}
	for _, s := range curlSteps(ctx, http1, base, clients[0].c) {
		record(s.what, "curl", s.expect, s.got)
	}
	tw.Flush()

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

// client is the quickstart's service as the walk calls it: each call sends
// the token given ("" for none) as "Authorization: Bearer <token>".
type client interface {
	login(ctx context.Context, username, password string) (auth, refresh string, err error)
	refresh(ctx context.Context, token string) (auth, refresh string, err error)
	protected(ctx context.Context, token string) error
	userSpecific(ctx context.Context, token, username string) error
	customClaim(ctx context.Context, token string) error
	adminDashboard(ctx context.Context, token string) error
	tokenInfo(ctx context.Context, token string) (subject string, err error)
	orders(ctx context.Context, token string) error
	catalog(ctx context.Context, token string) (message string, err error)
}

// result is one step's documented outcome and what happened.
type result struct{ what, expect, got string }

// walk runs the quickstart's flow with c: every rule of quickstart.proto,
// allowed and denied, and a refresh token's rotation and reuse.
func walk(ctx context.Context, c client) []result {
	var rs []result
	step := func(what, expect string, err error) { rs = append(rs, result{what, expect, outcome(err)}) }

	_, _, err := c.login(ctx, "alice", "guess")
	step("login alice, wrong password", "unauthenticated", err)
	aliceAuth, aliceRefresh, err := c.login(ctx, "alice", "wonderland")
	step("login alice", "OK", err)
	bobAuth, _, err := c.login(ctx, "bob", "builder")
	step("login bob", "OK", err)
	tampered := aliceAuth
	if len(tampered) > 4 {
		tampered = tampered[:len(tampered)-4] + "AAAA"
	}

	step("protected, no token", "unauthenticated TOKEN_MISSING", c.protected(ctx, ""))
	step("protected, alice", "OK", c.protected(ctx, aliceAuth))
	step("protected, tampered token", "unauthenticated TOKEN_INVALID", c.protected(ctx, tampered))
	step("protected, refresh token", "unauthenticated TOKEN_TYPE", c.protected(ctx, aliceRefresh))
	step("alice's user route, alice", "OK", c.userSpecific(ctx, aliceAuth, "alice"))
	step("bob's user route, alice", "permission_denied CLAIM_MISMATCH", c.userSpecific(ctx, aliceAuth, "bob"))
	step("custom claim, alice", "OK", c.customClaim(ctx, aliceAuth))
	step("custom claim, bob", "permission_denied CLAIM_MISMATCH", c.customClaim(ctx, bobAuth))
	step("admin dashboard, alice", "OK", c.adminDashboard(ctx, aliceAuth))
	step("admin dashboard, bob", "permission_denied SCOPE_MISSING", c.adminDashboard(ctx, bobAuth))
	subject, err := c.tokenInfo(ctx, aliceAuth)
	if err == nil && subject != "alice" {
		err = fmt.Errorf("token info names %q", subject)
	}
	step("token info, alice", "OK", err)
	// Claim checks: a role in a nested list (contains), a tier of a set
	// (in); the catalog also lets callers without a token in (allow_missing).
	step("orders, alice (orders-admin)", "OK", c.orders(ctx, aliceAuth))
	step("orders, bob (reader)", "permission_denied CLAIM_MISMATCH", c.orders(ctx, bobAuth))
	catalog := func(token, want string) error {
		msg, err := c.catalog(ctx, token)
		if err == nil && msg != want {
			err = fmt.Errorf("catalog says %q, want %q", msg, want)
		}
		return err
	}
	step("catalog, no token", "OK", catalog("", "The public catalog."))
	step("catalog, alice (gold)", "OK", catalog(aliceAuth, "The members' catalog, for alice."))
	step("catalog, bob (silver)", "permission_denied CLAIM_MISMATCH", catalog(bobAuth, ""))
	step("catalog, tampered token", "unauthenticated TOKEN_INVALID", catalog(tampered, ""))

	_, _, err = c.refresh(ctx, aliceAuth)
	step("refresh, auth token", "unauthenticated TOKEN_TYPE", err)
	newAuth, _, err := c.refresh(ctx, aliceRefresh)
	step("refresh, refresh token", "OK", err)
	step("protected, refreshed token", "OK", c.protected(ctx, newAuth))
	_, _, err = c.refresh(ctx, aliceRefresh)
	step("refresh again, used refresh token", "unauthenticated", err)
	step("protected, token of that login", "unauthenticated TOKEN_REVOKED", c.protected(ctx, newAuth))
	step("protected, bob unaffected", "OK", c.protected(ctx, bobAuth))
	return rs
}

// curlSteps are the README's curl lines: a plain JSON POST of the Connect
// protocol, with and without a token, and the JSON error body of a denial.
func curlSteps(ctx context.Context, hc *http.Client, base string, c client) []result {
	auth, _, err := c.login(ctx, "bob", "builder")
	if err != nil {
		return []result{{"login for curl", "OK", outcome(err)}}
	}
	post := func(procedure, token, body string) string {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+procedure, strings.NewReader(body))
		if err != nil {
			return err.Error()
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		got := fmt.Sprint(resp.StatusCode)
		for _, want := range []string{`"code":"unauthenticated"`, `"code":"permission_denied"`, `"reason":"TOKEN_MISSING"`, `"reason":"SCOPE_MISSING"`, `"Hello admin!"`, `"You've reached the protected route!"`} {
			if strings.Contains(string(b), want) {
				got += " " + want
			}
		}
		return got
	}
	const (
		protectedProc = quickstartpbconnect.QuickstartServiceProtectedProcedure
		adminProc     = quickstartpbconnect.QuickstartServiceAdminDashboardProcedure
	)
	return []result{
		{"POST protected, bob", `200 "You've reached the protected route!"`, post(protectedProc, auth, "{}")},
		{"POST protected, no token", `401 "code":"unauthenticated" "reason":"TOKEN_MISSING"`, post(protectedProc, "", "{}")},
		{"POST admin dashboard, bob", `403 "code":"permission_denied" "reason":"SCOPE_MISSING"`, post(adminProc, auth, "{}")},
	}
}

// outcome is "OK", or the code of err (connect's names, whichever the
// protocol) and the protojwt reason of a denial.
func outcome(err error) string {
	if err == nil {
		return "OK"
	}
	code := connect.CodeOf(err)
	if st, ok := status.FromError(err); ok {
		code = connect.Code(st.Code())
	}
	if reason, ok := protojwt.ReasonOf(err); ok {
		return code.String() + " " + reason
	}
	return code.String()
}

// connectClient calls with a connect client (Connect or gRPC-Web).
type connectClient struct {
	c quickstartpbconnect.QuickstartServiceClient
}

// request returns msg as a request carrying token.
func request[T any](msg *T, token string) *connect.Request[T] {
	r := connect.NewRequest(msg)
	if token != "" {
		r.Header().Set("Authorization", "Bearer "+token)
	}
	return r
}

func (c connectClient) login(ctx context.Context, username, password string) (string, string, error) {
	resp, err := c.c.Login(ctx, request(&pb.LoginRequest{Username: username, Password: password}, ""))
	if err != nil {
		return "", "", err
	}
	return resp.Msg.GetAuthToken(), resp.Msg.GetRefreshToken(), nil
}

func (c connectClient) refresh(ctx context.Context, token string) (string, string, error) {
	resp, err := c.c.Refresh(ctx, request(&pb.RefreshRequest{}, token))
	if err != nil {
		return "", "", err
	}
	return resp.Msg.GetAuthToken(), resp.Msg.GetRefreshToken(), nil
}

func (c connectClient) protected(ctx context.Context, token string) error {
	_, err := c.c.Protected(ctx, request(&pb.ProtectedRequest{}, token))
	return err
}

func (c connectClient) userSpecific(ctx context.Context, token, username string) error {
	_, err := c.c.UserSpecific(ctx, request(&pb.UserSpecificRequest{Username: username}, token))
	return err
}

func (c connectClient) customClaim(ctx context.Context, token string) error {
	_, err := c.c.CustomClaim(ctx, request(&pb.CustomClaimRequest{}, token))
	return err
}

func (c connectClient) adminDashboard(ctx context.Context, token string) error {
	_, err := c.c.AdminDashboard(ctx, request(&pb.AdminDashboardRequest{}, token))
	return err
}

func (c connectClient) tokenInfo(ctx context.Context, token string) (string, error) {
	resp, err := c.c.TokenInfo(ctx, request(&pb.TokenInfoRequest{}, token))
	if err != nil {
		return "", err
	}
	return resp.Msg.GetSubject(), nil
}

func (c connectClient) orders(ctx context.Context, token string) error {
	_, err := c.c.Orders(ctx, request(&pb.OrdersRequest{}, token))
	return err
}

func (c connectClient) catalog(ctx context.Context, token string) (string, error) {
	resp, err := c.c.Catalog(ctx, request(&pb.CatalogRequest{}, token))
	if err != nil {
		return "", err
	}
	return resp.Msg.GetMessage(), nil
}

// grpcClient calls with a grpc-go client: the connect handler serves the
// gRPC protocol to it.
type grpcClient struct {
	c pb.QuickstartServiceClient
}

// withToken returns ctx carrying token in its outgoing metadata.
func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func (c grpcClient) login(ctx context.Context, username, password string) (string, string, error) {
	resp, err := c.c.Login(ctx, &pb.LoginRequest{Username: username, Password: password})
	return resp.GetAuthToken(), resp.GetRefreshToken(), err
}

func (c grpcClient) refresh(ctx context.Context, token string) (string, string, error) {
	resp, err := c.c.Refresh(withToken(ctx, token), &pb.RefreshRequest{})
	return resp.GetAuthToken(), resp.GetRefreshToken(), err
}

func (c grpcClient) protected(ctx context.Context, token string) error {
	_, err := c.c.Protected(withToken(ctx, token), &pb.ProtectedRequest{})
	return err
}

func (c grpcClient) userSpecific(ctx context.Context, token, username string) error {
	_, err := c.c.UserSpecific(withToken(ctx, token), &pb.UserSpecificRequest{Username: username})
	return err
}

func (c grpcClient) customClaim(ctx context.Context, token string) error {
	_, err := c.c.CustomClaim(withToken(ctx, token), &pb.CustomClaimRequest{})
	return err
}

func (c grpcClient) adminDashboard(ctx context.Context, token string) error {
	_, err := c.c.AdminDashboard(withToken(ctx, token), &pb.AdminDashboardRequest{})
	return err
}

func (c grpcClient) tokenInfo(ctx context.Context, token string) (string, error) {
	resp, err := c.c.TokenInfo(withToken(ctx, token), &pb.TokenInfoRequest{})
	return resp.GetSubject(), err
}

func (c grpcClient) orders(ctx context.Context, token string) error {
	_, err := c.c.Orders(withToken(ctx, token), &pb.OrdersRequest{})
	return err
}

func (c grpcClient) catalog(ctx context.Context, token string) (string, error) {
	resp, err := c.c.Catalog(withToken(ctx, token), &pb.CatalogRequest{})
	return resp.GetMessage(), err
}
