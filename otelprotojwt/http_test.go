package otelprotojwt_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/otelprotojwt"
)

// httpDecision is the encoded attribute set of an HTTP decision; route ""
// for a route recorded without its name.
func httpDecision(method, route, reason string) string {
	if route == "" {
		return decisionAttrs(attribute.KeyValue{}, reason, "call")
	}
	kvs := []attribute.KeyValue{
		attribute.String("http.route", route),
		attribute.String("protojwt.stage", "call"),
	}
	if method != "" {
		kvs = append(kvs, attribute.String("http.request.method", method))
	}
	if reason == "" {
		kvs = append(kvs, attribute.String("protojwt.outcome", "allowed"))
	} else {
		kvs = append(kvs, attribute.String("protojwt.outcome", "denied"), attribute.String("protojwt.reason", reason))
	}
	return attrs(kvs...)
}

// TestHTTP runs a scripted sequence of requests through httpauth: routes
// named by WithRoutes are recorded by route, a route not named and a
// handler served without a pattern are recorded without one, so that no
// request path becomes an attribute.
func TestHTTP(t *testing.T) {
	h := newHarness(t, otelprotojwt.WithRoutes("GET /users/{username}", "/health"))
	m := newManager(t)
	guard := httpauth.New(m, httpauth.WithDecisionHook(h.tel.DecisionHook()))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("GET /users/{username}", guard.Require(httpauth.ClaimFromPath("sub", "username"))(ok))
	mux.Handle("/health", guard.Require(httpauth.Public())(ok))
	mux.Handle("GET /unlisted/{id}", guard.Require()(ok))
	// A handler served without a ServeMux: its decisions name the request's
	// path, which must not be recorded.
	raw := guard.Require()(ok)
	spanned := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := h.tracer.Start(r.Context(), "HTTP "+r.Method)
		defer span.End()
		if strings.HasPrefix(r.URL.Path, "/raw/") {
			raw.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
	srv := httptest.NewServer(spanned)
	defer srv.Close()

	alice := authToken(t, m, "alice", nil)
	steps := []struct {
		path, token string
		status      int
	}{
		{"/users/alice", alice, http.StatusNoContent},
		{"/users/alice", alice, http.StatusNoContent},
		{"/users/bob", alice, http.StatusForbidden},
		{"/users/carol", alice, http.StatusForbidden},
		{"/users/alice", "", http.StatusUnauthorized},
		{"/users/alice", expiredToken(t, "alice"), http.StatusUnauthorized},
		{"/users/alice", "not.a.token", http.StatusUnauthorized},
		{"/health", "", http.StatusNoContent},
		{"/unlisted/1", alice, http.StatusNoContent},
		{"/unlisted/2", "", http.StatusUnauthorized},
		{"/raw/accounts/12345", alice, http.StatusNoContent},
		{"/raw/accounts/67890", "", http.StatusUnauthorized},
	}
	for _, s := range steps {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+s.path, nil)
		if s.token != "" {
			req.Header.Set("Authorization", "Bearer "+s.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != s.status {
			t.Fatalf("GET %s: %d, want %d", s.path, resp.StatusCode, s.status)
		}
	}

	want := map[string]int64{
		httpDecision("GET", "/users/{username}", ""):                           2,
		httpDecision("GET", "/users/{username}", protojwt.ReasonClaimMismatch): 2,
		httpDecision("GET", "/users/{username}", protojwt.ReasonTokenMissing):  1,
		httpDecision("GET", "/users/{username}", protojwt.ReasonTokenExpired):  1,
		httpDecision("GET", "/users/{username}", protojwt.ReasonTokenInvalid):  1,
		httpDecision("", "/health", ""):                                        1,
		httpDecision("", "", ""):                                               2, // unlisted and raw
		httpDecision("", "", protojwt.ReasonTokenMissing):                      2,
	}
	diffCounts(t, "protojwt.decisions", h.sums(t, "protojwt.decisions"), want)
	diffCounts(t, "protojwt.decision.duration", h.histogramCounts(t, "protojwt.decision.duration"), want)

	events := h.events(t)
	slices.Sort(events)
	wantEvents := []string{"allowed", "allowed", "allowed", "allowed", "allowed",
		"denied " + protojwt.ReasonClaimMismatch, "denied " + protojwt.ReasonClaimMismatch,
		"denied " + protojwt.ReasonTokenExpired, "denied " + protojwt.ReasonTokenInvalid,
		"denied " + protojwt.ReasonTokenMissing, "denied " + protojwt.ReasonTokenMissing, "denied " + protojwt.ReasonTokenMissing}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("span events\n got %q\nwant %q", events, wantEvents)
	}
}
