package otelprotojwt_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/otelprotojwt/internal/testpb"
	"github.com/protojwt/protojwt/otelprotojwt/internal/testpb/testpbconnect"
)

// connectGuarded implements the methods of GuardedService the tests call.
type connectGuarded struct {
	testpbconnect.UnimplementedGuardedServiceHandler
}

func (connectGuarded) FieldTop(context.Context, *connect.Request[testpb.FieldTopRequest]) (*connect.Response[testpb.FieldTopResponse], error) {
	return connect.NewResponse(&testpb.FieldTopResponse{}), nil
}

func (connectGuarded) Public(context.Context, *connect.Request[testpb.PublicRequest]) (*connect.Response[testpb.PublicResponse], error) {
	return connect.NewResponse(&testpb.PublicResponse{}), nil
}

func (connectGuarded) Watch(_ context.Context, _ *connect.Request[testpb.WatchRequest], stream *connect.ServerStream[testpb.WatchResponse]) error {
	return stream.Send(&testpb.WatchResponse{})
}

// TestConnect runs a scripted sequence of calls through connect-go and
// connectauth and checks every count and span event.
func TestConnect(t *testing.T) {
	h := newHarness(t)
	m := newManager(t)
	auth, err := connectauth.New(m, connectauth.WithDecisionHook(h.tel.DecisionHook()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(testpbconnect.NewGuardedServiceHandler(connectGuarded{}, connect.WithInterceptors(auth)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := h.tracer.Start(r.Context(), r.URL.Path)
		defer span.End()
		mux.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer srv.Close()
	client := testpbconnect.NewGuardedServiceClient(srv.Client(), srv.URL)

	alice := authToken(t, m, "alice", map[string]any{"role": "admin"})
	withToken := func(req connect.AnyRequest, token string) {
		if token != "" {
			req.Header().Set("Authorization", "Bearer "+token)
		}
	}
	wantReason := func(err error, reason string) {
		t.Helper()
		if reason == "" {
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			return
		}
		if got := connect.CodeOf(err); got != connect.CodePermissionDenied && got != connect.CodeUnauthenticated {
			t.Fatalf("call: %v, want a denial", err)
		}
	}
	for _, c := range []struct {
		user, token, reason string
	}{
		{"alice", alice, ""},
		{"alice", alice, ""},
		{"bob", alice, protojwt.ReasonClaimMismatch},
		{"alice", "", protojwt.ReasonTokenMissing},
	} {
		req := connect.NewRequest(&testpb.FieldTopRequest{Username: c.user})
		withToken(req, c.token)
		_, err := client.FieldTop(context.Background(), req)
		wantReason(err, c.reason)
	}
	_, err = client.Public(context.Background(), connect.NewRequest(&testpb.PublicRequest{}))
	wantReason(err, "")
	for _, c := range []struct{ user, reason string }{{"alice", ""}, {"bob", protojwt.ReasonClaimMismatch}} {
		req := connect.NewRequest(&testpb.WatchRequest{User: &testpb.User{Id: c.user}})
		withToken(req, alice)
		stream, err := client.Watch(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for stream.Receive() {
		}
		wantReason(stream.Err(), c.reason)
		stream.Close()
	}

	const (
		fieldTop = "protojwt.otel.test.v1.GuardedService/FieldTop"
		public   = "protojwt.otel.test.v1.GuardedService/Public"
		watch    = "protojwt.otel.test.v1.GuardedService/Watch"
	)
	want := map[string]int64{
		rpcDecision(fieldTop, "", "call"):                           2,
		rpcDecision(fieldTop, protojwt.ReasonClaimMismatch, "call"): 1,
		rpcDecision(fieldTop, protojwt.ReasonTokenMissing, "call"):  1,
		rpcDecision(public, "", "call"):                             1,
		rpcDecision(watch, "", "call"):                              2,
		rpcDecision(watch, "", "message"):                           1,
		rpcDecision(watch, protojwt.ReasonClaimMismatch, "message"): 1,
	}
	diffCounts(t, "protojwt.decisions", h.sums(t, "protojwt.decisions"), want)
	diffCounts(t, "protojwt.decision.duration", h.histogramCounts(t, "protojwt.decision.duration"), want)

	events := h.events(t)
	slices.Sort(events)
	wantEvents := []string{"allowed", "allowed", "allowed", "allowed", "allowed", "allowed",
		"denied " + protojwt.ReasonClaimMismatch, "denied " + protojwt.ReasonClaimMismatch,
		"denied " + protojwt.ReasonTokenMissing}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("span events\n got %q\nwant %q", events, wantEvents)
	}
}
