package interceptor_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
)

// healthRules is a rule set file for grpc.health.v1.Health, whose .proto
// declares no protojwt option, and for the test's OpenService.
const healthRules = `
services {
  key: "grpc.health.v1.Health"
  value { scopes: "health:read" }
}
methods {
  key: "/grpc.health.v1.Health/Watch"
  value { public: true }
}
methods {
  key: "/protojwt.test.v1.OpenService/Ping"
  value { claims { key: "role" value { string_value: "admin" } } }
}
`

// readRules writes text to a file and reads it with
// annotations.ReadRuleSet, as a program reads its rule set.
func readRules(t *testing.T, text string) *annotations.RuleSet {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.txtpb")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := annotations.ReadRuleSet(path)
	if err != nil {
		t.Fatalf("ReadRuleSet: %v", err)
	}
	return set
}

// TestRuleSetHealth checks that the rules of a rule set file guard grpc-go's
// own health server, which no protojwt option annotates, and a generated
// service without annotations, over a real connection, and that
// CheckServer then finds every registered method ruled.
func TestRuleSetHealth(t *testing.T) {
	m := newManager(t)
	auth, err := interceptor.New(m, interceptor.WithRuleSet(readRules(t, healthRules)))
	if err != nil {
		t.Fatalf("interceptor.New: %v", err)
	}
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(auth.ServerOptions()...)
	healthpb.RegisterHealthServer(s, health.NewServer())
	testpb.RegisterOpenServiceServer(s, open{})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := auth.CheckServer(s); err != nil {
		t.Errorf("CheckServer: %v", err)
	}

	reader := authToken(t, m, "alice", "health:read", nil)
	other := authToken(t, m, "alice", "orders:read", map[string]any{"role": "user"})
	admin := authToken(t, m, "root", nil, map[string]any{"role": "admin"})
	hc := healthpb.NewHealthClient(conn)
	for _, tt := range []struct {
		name   string
		token  string
		code   codes.Code
		reason string
	}{
		{"Check with the scope", reader, codes.OK, ""},
		{"Check without a token", "", codes.Unauthenticated, protojwt.ReasonTokenMissing},
		{"Check without the scope", other, codes.PermissionDenied, protojwt.ReasonScopeMissing},
		{"Check with a forged token", "x.y.z", codes.Unauthenticated, protojwt.ReasonTokenInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var auth []string
			if tt.token != "" {
				auth = []string{bearer(tt.token)}
			}
			resp, err := hc.Check(withToken(t, auth...), &healthpb.HealthCheckRequest{})
			if tt.code != codes.OK {
				checkDenial(t, err, tt.code, tt.reason)
				return
			}
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("Check = %v, %v; want SERVING", resp, err)
			}
		})
	}
	t.Run("Watch is public", func(t *testing.T) {
		stream, err := hc.Watch(withToken(t), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := stream.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Watch = %v, %v; want SERVING", resp, err)
		}
	})
	oc := testpb.NewOpenServiceClient(conn)
	t.Run("Ping by the generated service's file rule", func(t *testing.T) {
		resp, err := oc.Ping(withToken(t, bearer(admin)), &testpb.PingRequest{})
		checkReply(t, resp.GetReply(), err, "root")
		_, err = oc.Ping(withToken(t, bearer(other)), &testpb.PingRequest{})
		checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
	})
}

// TestRuleSetErrors checks that New refuses a rule set as it refuses bad
// annotations: unknown names (with the nearest real one), bad rules and
// field paths, and a method ruled both by its options and by the set.
func TestRuleSetErrors(t *testing.T) {
	m := newManager(t)
	rule := func(text string) *annotations.Rule {
		set := readRules(t, `methods { key: "/protojwt.test.v1.OpenService/Ping" value { `+text+` } }`)
		return set.GetMethods()["/protojwt.test.v1.OpenService/Ping"]
	}
	methods := func(name string, r *annotations.Rule) *annotations.RuleSet {
		return &annotations.RuleSet{Methods: map[string]*annotations.Rule{name: r}}
	}
	services := func(name string, r *annotations.Rule) *annotations.RuleSet {
		return &annotations.RuleSet{Services: map[string]*annotations.Rule{name: r}}
	}
	scopes := &annotations.Rule{Scopes: []string{"x"}}
	for _, tt := range []struct {
		name      string
		set       *annotations.RuleSet
		opts      []interceptor.Option
		want      error
		wantText  string
		wantWhere string // the Procedure of the *protojwt.RuleError; "" for none
		wantField string
	}{
		{name: "misspelled method", set: methods("/grpc.health.v1.Health/Chek", scopes), want: protojwt.ErrInvalidOption,
			wantText: `WithRuleSet: methods: /grpc.health.v1.Health/Chek is no method of the resolver; did you mean "/grpc.health.v1.Health/Check"?`},
		{name: "misspelled service", set: services("grpc.health.v1.Helth", scopes), want: protojwt.ErrInvalidOption,
			wantText: `WithRuleSet: services: grpc.health.v1.Helth is no service of the resolver; did you mean "grpc.health.v1.Health"?`},
		{name: "unknown method", set: methods("/a.b.Nope/Nope", scopes), want: protojwt.ErrInvalidOption, wantText: "/a.b.Nope/Nope is no method of the resolver"},
		{name: "malformed method", set: methods("grpc.health.v1.Health/Check", scopes), want: protojwt.ErrInvalidOption, wantText: "is not a full method name"},
		{name: "malformed service", set: services("/grpc.health.v1.Health", scopes), want: protojwt.ErrInvalidOption, wantText: "is not a full service name"},
		{name: "nil rule", set: methods(testpb.OpenService_Ping_FullMethodName, nil), want: protojwt.ErrInvalidOption, wantText: "has no rule"},
		{name: "public with scopes", set: methods(testpb.OpenService_Ping_FullMethodName, rule(`public: true scopes: "x"`)), want: protojwt.ErrInvalidRule,
			wantWhere: testpb.OpenService_Ping_FullMethodName, wantText: "rule set: "},
		{name: "unknown field", set: methods(testpb.OpenService_Ping_FullMethodName, rule(`claims { key: "sub" value { field: "nosuch" } }`)), want: protojwt.ErrInvalidRule,
			wantWhere: testpb.OpenService_Ping_FullMethodName, wantField: "nosuch"},
		{name: "expr without an engine", set: services("grpc.health.v1.Health", &annotations.Rule{Expr: "true"}), want: protojwt.ErrInvalidRule,
			wantWhere: "/grpc.health.v1.Health/Check", wantText: "WithExpressions"},
		{name: "annotated method", set: methods(testpb.GuardedService_Scopes_FullMethodName, scopes), want: protojwt.ErrInvalidRule,
			wantWhere: testpb.GuardedService_Scopes_FullMethodName, wantText: "the rule set's methods entry and the method's (protojwt.v1.rule) option"},
		{name: "service of annotated methods", set: services("protojwt.test.v1.GuardedService", scopes), want: protojwt.ErrInvalidRule,
			wantWhere: testpb.GuardedService_Public_FullMethodName, wantText: "services entry of its service"},
		{name: "method of a defaulted service", set: methods(testpb.DefaultedService_Inherit_FullMethodName, scopes), want: protojwt.ErrInvalidRule,
			wantWhere: testpb.DefaultedService_Inherit_FullMethodName, wantText: "(protojwt.v1.default_rule)"},
		{name: "and opened by name", set: methods(testpb.OpenService_Ping_FullMethodName, scopes),
			opts: []interceptor.Option{interceptor.WithPublicMethods(testpb.OpenService_Ping_FullMethodName)}, want: protojwt.ErrInvalidOption, wantText: "which has a rule"},
		{name: "and opened as health", set: services("grpc.health.v1.Health", scopes),
			opts: []interceptor.Option{interceptor.WithHealthAndReflection()}, want: protojwt.ErrInvalidOption, wantText: "grpc.health.v1.Health"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := interceptor.New(m, append(tt.opts, interceptor.WithRuleSet(tt.set))...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, %v; want an error wrapping %v", auth, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			var re *protojwt.RuleError
			if tt.wantWhere != "" {
				if !errors.As(err, &re) || re.Procedure != tt.wantWhere || re.Field != tt.wantField {
					t.Errorf("RuleError = %+v; want Procedure %q, Field %q", re, tt.wantWhere, tt.wantField)
				}
			}
		})
	}
}
