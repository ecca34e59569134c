package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
	"github.com/protojwt/protojwt/tokensource"
)

// runDemo starts both servers on free loopback ports and walks the example
// as a client would, over gRPC and over HTTP. It prints one table row per
// step and fails if any step's outcome is not the documented one. With
// counts (-metrics), it then prints the servers' decisions.
func runDemo(ctx context.Context, out io.Writer, counts *decisionCounts) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := newServers(func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }, counts)
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
		ctx:      ctx,
		grpc:     pb.NewQuickstartServiceClient(conn),
		grpcAddr: grpcLis.Addr().String(),
		base:     "http://" + httpLis.Addr().String(),
	}
	fmt.Fprintf(out, "gRPC on %s, HTTP on %s\n\n", grpcLis.Addr(), httpLis.Addr())
	failed := d.walk(out)
	if counts != nil {
		fmt.Fprintln(out, "\ndecisions of the servers (-metrics):")
		counts.print(out)
	}
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

// demo is the client side of the walk. Tokens go with calls through
// tokensource: gRPC call credentials and an HTTP RoundTripper.
type demo struct {
	ctx      context.Context
	grpc     pb.QuickstartServiceClient
	grpcAddr string // the authority of gRPC calls: the htu of their proofs
	base     string
}

// withToken returns the gRPC call option that sends the tokens of src.
// The demo's servers listen on loopback without TLS, so the credentials
// are told that plain text is fine.
func withToken(src tokensource.Source) grpc.CallOption {
	return grpc.PerRPCCredentials(tokensource.PerRPCCredentials(src, tokensource.WithInsecureTransport()))
}

// httpClient returns an HTTP client that sends the tokens of src
// (http:// is allowed to a loopback host).
func httpClient(src tokensource.Source) *http.Client {
	return &http.Client{Transport: tokensource.RoundTripper(src, nil), Timeout: 10 * time.Second}
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

// rpc is one gRPC call of the walk, with the call options that carry its
// token.
type rpc func(ctx context.Context, opts ...grpc.CallOption) error

// walk runs every step in order and returns how many failed.
func (d *demo) walk(out io.Writer) int {
	alice, bob, refreshed, device := newSession(), newSession(), newSession(), newSession()
	none := func(string) string { return "" }
	authOf := func(s *session) func(string) string { return func(via string) string { return s.auth[via] } }
	refreshOf := func(s *session) func(string) string { return func(via string) string { return s.refresh[via] } }
	tampered := func(via string) string {
		t := alice.auth[via]
		return t[:len(t)-4] + "AAAA"
	}
	protected := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := d.grpc.Protected(ctx, &pb.ProtectedRequest{}, opts...)
		return err
	}
	userRoute := func(name string) rpc {
		return func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := d.grpc.UserSpecific(ctx, &pb.UserSpecificRequest{Username: name}, opts...)
			return err
		}
	}
	customClaim := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := d.grpc.CustomClaim(ctx, &pb.CustomClaimRequest{}, opts...)
		return err
	}
	admin := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := d.grpc.AdminDashboard(ctx, &pb.AdminDashboardRequest{}, opts...)
		return err
	}
	orders := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := d.grpc.Orders(ctx, &pb.OrdersRequest{}, opts...)
		return err
	}
	catalog := func(want string) rpc {
		return func(ctx context.Context, opts ...grpc.CallOption) error {
			resp, err := d.grpc.Catalog(ctx, &pb.CatalogRequest{}, opts...)
			if err == nil && resp.GetMessage() != want {
				return fmt.Errorf("catalog says %q, want %q", resp.GetMessage(), want)
			}
			return err
		}
	}
	tokenInfo := func(ctx context.Context, opts ...grpc.CallOption) error {
		info, err := d.grpc.TokenInfo(ctx, &pb.TokenInfoRequest{}, opts...)
		if err == nil && info.GetSubject() != "alice" {
			return fmt.Errorf("token info names %q", info.GetSubject())
		}
		return err
	}
	refresh := func(into *session) rpc {
		return func(ctx context.Context, opts ...grpc.CallOption) error {
			resp, err := d.grpc.Refresh(ctx, &pb.RefreshRequest{}, opts...)
			into.auth["gRPC"], into.refresh["gRPC"] = resp.GetAuthToken(), resp.GetRefreshToken()
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
	// Claim checks: a role in a nested list (contains), a tier of a set
	// (in); the catalog also lets callers without a token in (allow_missing).
	add(d.both("orders, alice (orders-admin)", authOf(alice), orders, "GET /orders", "OK", "200")...)
	add(d.both("orders, bob (reader)", authOf(bob), orders, "GET /orders", "PermissionDenied CLAIM_MISMATCH", "403 CLAIM_MISMATCH")...)
	add(d.both("catalog, no token", none, catalog("The public catalog."), "GET /catalog", "OK", "200")...)
	add(d.both("catalog, alice (gold)", authOf(alice), catalog("The members' catalog, for alice."), "GET /catalog", "OK", "200")...)
	add(d.both("catalog, bob (silver)", authOf(bob), catalog(""), "GET /catalog", "PermissionDenied CLAIM_MISMATCH", "403 CLAIM_MISMATCH")...)
	add(d.both("catalog, tampered token", tampered, catalog(""), "GET /catalog", "Unauthenticated TOKEN_INVALID", "401 TOKEN_INVALID")...)
	add(d.both("token info, alice", authOf(alice), tokenInfo, "GET /token/info", "OK", "200")...)
	add(d.both("refresh, auth token", authOf(alice), refresh(newSession()), "POST /refresh", "Unauthenticated TOKEN_TYPE", "401 TOKEN_TYPE")...)
	add(step{"refresh, refresh token", "gRPC", "OK", d.grpcCall(refreshOf(alice), refresh(refreshed))},
		step{"refresh, refresh token", "HTTP", "200", d.httpCall("POST /refresh", refreshOf(alice), func(body []byte) {
			var t tokens
			_ = json.Unmarshal(body, &t)
			refreshed.auth["HTTP"], refreshed.refresh["HTTP"] = t.Auth, t.Refresh
		})})
	add(d.both("protected route, refreshed token", authOf(refreshed), protected, "GET /protected_route", "OK", "200")...)
	// A client that keeps only its refresh token (saved at its last run)
	// resumes its login: 20 calls at once share one refresh, and the
	// rotated refresh token is saved for the next run.
	add(d.login("login alice, second device", "alice", "wonderland", device, "OK", "200")...)
	add(step{"resume login, 20 calls at once", "gRPC", "OK x20, 1 refresh, saved", d.resume(device, "gRPC", protected)},
		step{"resume login, 20 calls at once", "HTTP", "200 x20, 1 refresh, saved", d.resume(device, "HTTP", nil)})
	add(d.both("refresh again, used refresh token", refreshOf(alice), refresh(newSession()), "POST /refresh", "Unauthenticated TOKEN_REVOKED", "401 TOKEN_REVOKED")...)
	add(d.both("protected route, token of that login", authOf(refreshed), protected, "GET /protected_route", "Unauthenticated TOKEN_REVOKED", "401 TOKEN_REVOKED")...)
	// The token source of the revoked login stops at its next refresh,
	// without retrying: the user must sign in again.
	add(step{"token source of that login", "gRPC", "login ended TOKEN_REVOKED", d.ended(refreshed, "gRPC", protected)},
		step{"token source of that login", "HTTP", "login ended TOKEN_REVOKED", d.ended(refreshed, "HTTP", nil)})
	add(d.both("protected route, bob unaffected", authOf(bob), protected, "GET /protected_route", "OK", "200")...)
	add(d.both("protected route, second device unaffected", authOf(device), protected, "GET /protected_route", "OK", "200")...)
	add(d.dpopSteps()...)

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
func (d *demo) both(what string, tok func(via string) string, call rpc, route, grpcExpect, httpExpect string) []step {
	return []step{
		{what, "gRPC", grpcExpect, d.grpcCall(tok, call)},
		{what, "HTTP", httpExpect, d.httpCall(route, tok, nil)},
	}
}

// grpcCall returns a step's call of rpc with the gRPC token tok gives,
// sent as it is: the walk sends tampered and wrong tokens on purpose.
func (d *demo) grpcCall(tok func(via string) string, call rpc) func() string {
	return func() string {
		return grpcOutcome(call(d.ctx, withToken(tokensource.Static(tok("gRPC")))))
	}
}

// refresher returns a token source for the login of s over via, holding
// only its refresh token as a restarted client does: its first call
// refreshes. It counts refreshes in n and keeps the last rotated refresh
// token in saved. Both are atomic: a refresh runs on a goroutine of the
// source, which may outlive a caller that gave up.
func (d *demo) refresher(s *session, via string, n *atomic.Int32, saved *atomic.Pointer[string]) (*tokensource.Refresher, error) {
	var refresh tokensource.RefreshFunc = func(ctx context.Context, refreshToken string) (string, string, error) {
		n.Add(1)
		resp, err := d.grpc.Refresh(ctx, &pb.RefreshRequest{}, withToken(tokensource.Static(refreshToken)))
		return resp.GetAuthToken(), resp.GetRefreshToken(), err
	}
	if via == "HTTP" {
		refresh = func(ctx context.Context, refreshToken string) (string, string, error) {
			n.Add(1)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/refresh", nil)
			if err != nil {
				return "", "", err
			}
			resp, err := httpClient(tokensource.Static(refreshToken)).Do(req)
			if err != nil {
				return "", "", err
			}
			defer resp.Body.Close()
			if err := tokensource.CheckResponse(resp); err != nil {
				return "", "", err
			}
			var t tokens
			err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&t)
			return t.Auth, t.Refresh, err
		}
	}
	return tokensource.New("", s.refresh[via], refresh,
		tokensource.WithSaveRefreshToken(func(_ context.Context, rotated string) error {
			saved.Store(&rotated) // a real client writes it to its keychain or a file
			return nil
		}))
}

// resume returns the step that resumes the login of s over via from its
// refresh token and makes 20 concurrent calls (call over gRPC, GET
// /protected_route over HTTP). It says how many passed, how many refreshes
// there were, and whether the rotated refresh token was saved.
func (d *demo) resume(s *session, via string, call rpc) func() string {
	return func() string {
		var refreshes atomic.Int32
		var saved atomic.Pointer[string]
		src, err := d.refresher(s, via, &refreshes, &saved)
		if err != nil {
			return "error: " + err.Error()
		}
		outcomes := make([]string, 20)
		var wg sync.WaitGroup
		for i := range outcomes {
			wg.Go(func() {
				if via == "gRPC" {
					outcomes[i] = grpcOutcome(call(d.ctx, withToken(src)))
				} else {
					outcomes[i] = d.get(httpClient(src), "/protected_route")
				}
			})
		}
		wg.Wait()
		for _, o := range outcomes[1:] {
			if o != outcomes[0] {
				return fmt.Sprintf("mixed outcomes: %q", outcomes)
			}
		}
		got := fmt.Sprintf("%s x%d, %d refresh", outcomes[0], len(outcomes), refreshes.Load())
		if rotated := saved.Load(); rotated != nil && *rotated != s.refresh[via] {
			s.refresh[via] = *rotated
			got += ", saved"
			// The login went on: the second device's auth token is the
			// one the source got.
			if tok, err := src.Token(d.ctx); err == nil {
				s.auth[via] = tok
			}
		}
		return got
	}
}

// ended returns the step that builds a token source for the login of s
// over via, whose refresh token has been revoked, and calls once: "login
// ended" and the reason of the refusal when it stops as it must.
func (d *demo) ended(s *session, via string, call rpc) func() string {
	return func() string {
		var refreshes atomic.Int32
		src, err := d.refresher(s, via, &refreshes, new(atomic.Pointer[string]))
		if err != nil {
			return "error: " + err.Error()
		}
		if via == "gRPC" {
			err = call(d.ctx, withToken(src))
		} else {
			req, rerr := http.NewRequestWithContext(d.ctx, http.MethodGet, d.base+"/protected_route", nil)
			if rerr != nil {
				return "error: " + rerr.Error()
			}
			var resp *http.Response
			if resp, err = httpClient(src).Do(req); err == nil {
				resp.Body.Close()
			}
		}
		// A second call must not refresh again.
		if _, again := src.Token(d.ctx); !errors.Is(again, tokensource.ErrLoginEnded) || refreshes.Load() != 1 {
			return fmt.Sprintf("not ended: %d refreshes, %v", refreshes.Load(), again)
		}
		if !errors.Is(err, tokensource.ErrLoginEnded) {
			return fmt.Sprintf("call error %v", err)
		}
		reason, _ := protojwt.ReasonOf(err)
		var denial *tokensource.ResponseError
		if errors.As(err, &denial) {
			reason = denial.Reason
		}
		return "login ended " + reason
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
			return d.httpDo(httpClient(tokensource.Static("")), req, func(body []byte) {
				var t tokens
				if into != nil && json.Unmarshal(body, &t) == nil {
					into.auth["HTTP"], into.refresh["HTTP"] = t.Auth, t.Refresh
				}
			})
		}},
	}
}

// httpCall returns a step's call of route ("GET /path") with the HTTP token
// tok gives, sent as it is; onOK sees the body of a 200 answer.
func (d *demo) httpCall(route string, tok func(via string) string, onOK func([]byte)) func() string {
	return func() string {
		method, path, _ := strings.Cut(route, " ")
		req, err := http.NewRequestWithContext(d.ctx, method, d.base+path, nil)
		if err != nil {
			return err.Error()
		}
		return d.httpDo(httpClient(tokensource.Static(tok("HTTP"))), req, onOK)
	}
}

// get sends GET path with client and returns its outcome.
func (d *demo) get(client *http.Client, path string) string {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodGet, d.base+path, nil)
	if err != nil {
		return err.Error()
	}
	return d.httpDo(client, req, nil)
}

// httpDo sends req with client and returns its outcome: the status code,
// and the protojwt reason of a denial.
func (d *demo) httpDo(client *http.Client, req *http.Request, onOK func([]byte)) string {
	resp, err := client.Do(req)
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
	if reason, ok := protojwt.ReasonOf(err); ok {
		return st.Code().String() + " " + reason
	}
	return st.Code().String()
}
