package connectauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
)

const healthCheck = "/grpc.health.v1.Health/Check"

// healthRules rules grpc.health.v1.Health, whose .proto declares no
// protojwt option, and the test's OpenService.
const healthRules = `
services {
  key: "grpc.health.v1.Health"
  value { scopes: "health:read" }
}
methods {
  key: "/protojwt.test.v1.OpenService/Ping"
  value { claims { key: "role" value { string_value: "admin" } } }
}
`

// checkHealth calls Health/Check of ts under the protocol named.
func checkHealth(t *testing.T, ts *testServer, protocol, token string) (*healthpb.HealthCheckResponse, error) {
	t.Helper()
	ctx := ctxFor(t)
	if protocol == "grpc" {
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", bearer(token))
		}
		return healthpb.NewHealthClient(ts.grpc).Check(ctx, &healthpb.HealthCheckRequest{})
	}
	opts := []connect.ClientOption{connect.WithProtoJSON()}
	if protocol == "grpc-web" {
		opts = []connect.ClientOption{connect.WithGRPCWeb()}
	}
	client := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](ts.http1, ts.url+healthCheck, opts...)
	req := connect.NewRequest(&healthpb.HealthCheckRequest{})
	if token != "" {
		req.Header().Set("Authorization", bearer(token))
	}
	resp, err := client.CallUnary(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// TestRuleSet checks under every protocol, with and without Wrap, that a
// rule set file's rules guard a connect handler of grpc.health.v1.Health
// and the generated OpenService, neither of which declares a rule.
func TestRuleSet(t *testing.T) {
	m := newManager(t)
	set, err := annotations.ParseRuleSet([]byte(healthRules))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := connectauth.New(m, connectauth.WithRuleSet(set))
	if err != nil {
		t.Fatalf("connectauth.New: %v", err)
	}
	withHealth := func(wrap bool) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle(healthCheck, connect.NewUnaryHandler(healthCheck,
				func(context.Context, *connect.Request[healthpb.HealthCheckRequest]) (*connect.Response[healthpb.HealthCheckResponse], error) {
					return connect.NewResponse(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}), nil
				}, connect.WithInterceptors(auth)))
			mux.Handle("/", h)
			if wrap {
				return auth.Wrap(mux)
			}
			return mux
		}
	}
	servers := map[string]*testServer{
		"interceptor": serveThrough(t, withHealth(false), upload{}, connect.WithInterceptors(auth)),
		"wrap":        serveThrough(t, withHealth(true), upload{}, connect.WithInterceptors(auth)),
	}
	reader := authToken(t, m, "alice", "health:read", nil)
	other := authToken(t, m, "bob", "orders:read", map[string]any{"role": "user"})
	admin := authToken(t, m, "root", nil, map[string]any{"role": "admin"})
	for name, ts := range servers {
		for _, p := range protocols {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				for _, tt := range []struct {
					token  string
					code   codes.Code
					reason string
				}{
					{reader, codes.OK, ""},
					{"", codes.Unauthenticated, protojwt.ReasonTokenMissing},
					{other, codes.PermissionDenied, protojwt.ReasonScopeMissing},
					{"x.y.z", codes.Unauthenticated, protojwt.ReasonTokenInvalid},
				} {
					resp, err := checkHealth(t, ts, p.name, tt.token)
					if tt.code != codes.OK {
						rpctest.CheckDenial(t, err, tt.code, tt.reason)
						continue
					}
					if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
						t.Errorf("Check = %v, %v; want SERVING", resp, err)
					}
				}
				r, err := p.unary(t, ts, testpb.OpenService_Ping_FullMethodName, &testpb.PingRequest{}, []string{bearer(admin)})
				checkReply(t, r, err, "root")
				_, err = p.unary(t, ts, testpb.OpenService_Ping_FullMethodName, &testpb.PingRequest{}, []string{bearer(other)})
				checkDenial(t, err, connect.CodePermissionDenied, protojwt.ReasonClaimMismatch)
			})
		}
	}
	if err := auth.CheckHandlers("/protojwt.test.v1.OpenService/", healthCheck); err != nil {
		t.Errorf("CheckHandlers: %v", err)
	}
}

// TestRuleSetErrors checks that New refuses what the interceptor refuses:
// a misspelled name, with the nearest real one, and a procedure ruled by
// both its options and the set.
func TestRuleSetErrors(t *testing.T) {
	m := newManager(t)
	scopes := &annotations.Rule{Scopes: []string{"x"}}
	for _, tt := range []struct {
		name     string
		set      *annotations.RuleSet
		want     error
		wantText string
	}{
		{"misspelled procedure", &annotations.RuleSet{Methods: map[string]*annotations.Rule{"/protojwt.test.v1.OpenService/Pong": scopes}},
			protojwt.ErrInvalidOption, `WithRuleSet: methods: /protojwt.test.v1.OpenService/Pong is no procedure of the resolver; did you mean "/protojwt.test.v1.OpenService/Ping"?`},
		{"misspelled service", &annotations.RuleSet{Services: map[string]*annotations.Rule{"protojwt.test.v1.OpenServic": scopes}},
			protojwt.ErrInvalidOption, `did you mean "protojwt.test.v1.OpenService"?`},
		{"annotated procedure", &annotations.RuleSet{Methods: map[string]*annotations.Rule{testpb.GuardedService_Scopes_FullMethodName: scopes}},
			protojwt.ErrInvalidRule, "keep one"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := connectauth.New(m, connectauth.WithRuleSet(tt.set))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("New = %v; want an error wrapping %v saying %q", err, tt.want, tt.wantText)
			}
		})
	}
}
