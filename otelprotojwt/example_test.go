package otelprotojwt_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/otelprotojwt"
)

// Example counts the decisions of an HTTP route: bob reads his account,
// then tries alice's, then someone calls without a token; and the
// Manager's verification cache, whose second look-up of bob's token is a
// hit. A production service gives New its meter provider (or sets the
// global one) with an exporter; here a manual reader prints the counts.
func Example() {
	reader := sdkmetric.NewManualReader()
	tel, err := otelprotojwt.New(
		otelprotojwt.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		otelprotojwt.WithRoutes("GET /accounts/{user}"),
	)
	if err != nil {
		log.Fatal(err)
	}
	m, err := manager.New(manager.Config{
		Issuer:    "https://idp.example",
		Algorithm: "HS256",
		Secret:    []byte("an example secret of at least 32 bytes"),
	}, manager.WithEvents(tel.ManagerEvents())) // JWK Set fetches, revocation store calls
	if err != nil {
		log.Fatal(err)
	}
	defer tel.ObserveCache(m)() // stop observing when m goes
	guard := httpauth.New(m, httpauth.WithDecisionHook(tel.DecisionHook()))
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{user}", guard.Require(httpauth.ClaimFromPath("sub", "user"))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))

	bob, err := m.AuthToken("bob", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, call := range []struct{ path, token string }{
		{"/accounts/bob", bob.Signed},
		{"/accounts/alice", bob.Signed},
		{"/accounts/alice", ""},
	} {
		req := httptest.NewRequest(http.MethodGet, call.path, nil)
		if call.token != "" {
			req.Header.Set("Authorization", "Bearer "+call.token)
		}
		mux.ServeHTTP(httptest.NewRecorder(), req)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			if sum, ok := metric.Data.(metricdata.Sum[int64]); ok && sum.IsMonotonic {
				for _, p := range sum.DataPoints {
					lines = append(lines, fmt.Sprintf("%s %d {%s}", metric.Name, p.Value, p.Attributes.Encoded(attribute.DefaultEncoder())))
				}
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// protojwt.cache.evictions 0 {}
	// protojwt.cache.hits 1 {}
	// protojwt.cache.misses 1 {}
	// protojwt.decisions 1 {http.request.method=GET,http.route=/accounts/{user},protojwt.outcome=allowed,protojwt.stage=call}
	// protojwt.decisions 1 {http.request.method=GET,http.route=/accounts/{user},protojwt.outcome=denied,protojwt.reason=CLAIM_MISMATCH,protojwt.stage=call}
	// protojwt.decisions 1 {http.request.method=GET,http.route=/accounts/{user},protojwt.outcome=denied,protojwt.reason=TOKEN_MISSING,protojwt.stage=call}
}
