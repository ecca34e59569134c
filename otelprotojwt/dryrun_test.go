package otelprotojwt_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/otelprotojwt"
	"github.com/protojwt/protojwt/otelprotojwt/internal/testpb"
	"github.com/protojwt/protojwt/otelprotojwt/internal/testpb/testpbconnect"
)

// wouldDeny is the encoded attribute set of a dry-run decision that
// enforcing would have denied for reason, with the procedure's
// attributes proc.
func wouldDeny(reason, stage string, proc ...attribute.KeyValue) string {
	kvs := []attribute.KeyValue{
		attribute.String("protojwt.stage", stage),
		attribute.String("protojwt.outcome", "would_deny"),
		attribute.String("protojwt.reason", reason),
	}
	return attrs(append(kvs, proc...)...)
}

// TestGRPCDryRun checks that under WithDryRun the would-be denials of
// unary calls and stream messages are counted apart, with their reason,
// and neither as allowed nor as denied.
func TestGRPCDryRun(t *testing.T) {
	h := newHarness(t)
	m := newManager(t)
	auth, err := interceptor.New(m, interceptor.WithDryRun(), interceptor.WithDecisionHook(h.tel.DecisionHook()))
	if err != nil {
		t.Fatal(err)
	}
	conn := startGRPC(t, h, auth)
	client := testpb.NewGuardedServiceClient(conn)
	alice := authToken(t, m, "alice", nil)
	for _, c := range []struct{ token, user string }{
		{alice, "alice"}, {alice, "bob"}, {alice, "bob"}, {"", "alice"}, {expiredToken(t, "alice"), "alice"},
	} {
		if _, err := client.FieldTop(withBearer(c.token), &testpb.FieldTopRequest{Username: c.user}); err != nil {
			t.Fatalf("FieldTop under dry run: %v", err)
		}
	}
	// The test server does not implement Undeclared: Unimplemented says
	// the call reached it.
	if _, err := client.Undeclared(withBearer(alice), &testpb.UndeclaredRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("Undeclared under dry run: %v, want it to reach the server", err)
	}
	stream, err := client.Chat(withBearer(alice))
	if err != nil {
		t.Fatal(err)
	}
	for _, sender := range []string{"alice", "mallory"} {
		if err := stream.Send(&testpb.ChatRequest{Sender: sender}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("Chat message of %s under dry run: %v", sender, err)
		}
	}
	stream.CloseSend()

	method := func(name string) attribute.KeyValue {
		return attribute.String("rpc.method", "protojwt.otel.test.v1.GuardedService/"+name)
	}
	want := map[string]int64{
		rpcDecision("protojwt.otel.test.v1.GuardedService/FieldTop", "", "call"):  1,
		wouldDeny(protojwt.ReasonClaimMismatch, "call", method("FieldTop")):       2,
		wouldDeny(protojwt.ReasonTokenMissing, "call", method("FieldTop")):        1,
		wouldDeny(protojwt.ReasonTokenExpired, "call", method("FieldTop")):        1,
		wouldDeny(protojwt.ReasonMethodNotDeclared, "call", method("Undeclared")): 1,
		rpcDecision("protojwt.otel.test.v1.GuardedService/Chat", "", "call"):      1,
		rpcDecision("protojwt.otel.test.v1.GuardedService/Chat", "", "message"):   1,
		wouldDeny(protojwt.ReasonClaimMismatch, "message", method("Chat")):        1,
	}
	diffCounts(t, "protojwt.decisions", h.sums(t, "protojwt.decisions"), want)
	diffCounts(t, "protojwt.decision.duration", h.histogramCounts(t, "protojwt.decision.duration"), want)
}

// TestConnectDryRun checks the would-be denials of connect calls, counted
// apart.
func TestConnectDryRun(t *testing.T) {
	h := newHarness(t)
	m := newManager(t)
	auth, err := connectauth.New(m, connectauth.WithDryRun(), connectauth.WithDecisionHook(h.tel.DecisionHook()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(connectGuarded{}, connect.WithInterceptors(auth)))
	srv := httptest.NewServer(auth.Wrap(mux))
	defer srv.Close()
	client := testpbconnect.NewGuardedServiceClient(srv.Client(), srv.URL)
	alice := authToken(t, m, "alice", nil)
	for _, c := range []struct{ token, user string }{{alice, "alice"}, {alice, "bob"}, {"", "alice"}} {
		req := connect.NewRequest(&testpb.FieldTopRequest{Username: c.user})
		if c.token != "" {
			req.Header().Set("Authorization", "Bearer "+c.token)
		}
		if _, err := client.FieldTop(context.Background(), req); err != nil {
			t.Fatalf("FieldTop under dry run: %v", err)
		}
	}
	fieldTop := attribute.String("rpc.method", "protojwt.otel.test.v1.GuardedService/FieldTop")
	want := map[string]int64{
		rpcDecision("protojwt.otel.test.v1.GuardedService/FieldTop", "", "call"): 1,
		wouldDeny(protojwt.ReasonClaimMismatch, "call", fieldTop):                1,
		wouldDeny(protojwt.ReasonTokenMissing, "call", fieldTop):                 1,
	}
	diffCounts(t, "protojwt.decisions", h.sums(t, "protojwt.decisions"), want)
}

// TestHTTPDryRun checks the would-be refusals of HTTP routes, counted
// apart, and their span events.
func TestHTTPDryRun(t *testing.T) {
	h := newHarness(t, otelprotojwt.WithRoutes("GET /users/{username}"))
	m := newManager(t)
	guard := httpauth.New(m, httpauth.WithDryRun(), httpauth.WithDecisionHook(h.tel.DecisionHook()))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("GET /users/{username}", guard.Require(httpauth.ClaimFromPath("sub", "username"))(ok))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := h.tracer.Start(r.Context(), "HTTP "+r.Method)
		defer span.End()
		mux.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer srv.Close()
	alice := authToken(t, m, "alice", nil)
	for _, c := range []struct{ path, token string }{{"/users/alice", alice}, {"/users/bob", alice}, {"/users/alice", "not.a.token"}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: status %d under dry run, want 204", c.path, resp.StatusCode)
		}
	}
	route := attribute.String("http.route", "/users/{username}")
	get := attribute.String("http.request.method", "GET")
	want := map[string]int64{
		attrs(route, get, attribute.String("protojwt.stage", "call"), attribute.String("protojwt.outcome", "allowed")): 1,
		wouldDeny(protojwt.ReasonClaimMismatch, "call", route, get):                                                    1,
		wouldDeny(protojwt.ReasonTokenInvalid, "call", route, get):                                                     1,
	}
	diffCounts(t, "protojwt.decisions", h.sums(t, "protojwt.decisions"), want)
	events := h.events(t)
	slices.Sort(events)
	wantEvents := []string{"allowed", "would_deny " + protojwt.ReasonClaimMismatch, "would_deny " + protojwt.ReasonTokenInvalid}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("span events\n got %q\nwant %q", events, wantEvents)
	}
}
