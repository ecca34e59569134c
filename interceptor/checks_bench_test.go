package interceptor_test

import (
	"testing"

	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/testpb"
)

// checkTableClaims are claims that hold every check of Checks' rule.
func checkTableClaims() map[string]any {
	return map[string]any{
		"realm_access":                  map[string]any{"roles": []any{"reader", "orders-admin"}},
		"https://acme.example/accounts": []any{7, hostiletest.Account},
		"tier":                          "gold",
		"email":                         "alice@acme.example",
		"tenant":                        "acme-eu",
		"perms":                         map[string]any{"orders": []any{"read", "write"}},
		"tid":                           "9188040d-6c67-4c5b-b112-36a304b66dad",
	}
}

// BenchmarkChecksCall is the unary interceptor on Checks (nine claim
// checks, two of them bound to request fields, one an integer beyond 2^53)
// next to Inherit, whose rule needs a scope and no claim, and FieldTop,
// whose one claim is bound to a request field: the differences are what
// the checks and the request fields cost a call, the token's verification
// included in each.
func BenchmarkChecksCall(b *testing.B) {
	m := newManager(b)
	signed := authToken(b, m, "alice", "read", checkTableClaims())
	for _, c := range []struct {
		name, method string
		req          any
	}{
		{"Inherit", testpb.DefaultedService_Inherit_FullMethodName, &testpb.InheritRequest{}},
		{"FieldTop", methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}},
		{"Checks", testpb.GuardedService_Checks_FullMethodName, &testpb.ChecksRequest{Username: "alice", AccountId: hostiletest.Account}},
	} {
		b.Run(c.name, func(b *testing.B) {
			call := directCall(b, m, signed, c.method, c.req)
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
}

// TestChecksCallAllocs pins that nine checks cost the interceptor no
// allocation over a rule with one claim bound to a request field (FieldTop):
// reading the request's fields is the only cost of a rule that reads them.
func TestChecksCallAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := newManager(t)
	signed := authToken(t, m, "alice", "read", checkTableClaims())
	field := testing.AllocsPerRun(100, directCall(t, m, signed, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}))
	checks := testing.AllocsPerRun(100, directCall(t, m, signed, testpb.GuardedService_Checks_FullMethodName,
		&testpb.ChecksRequest{Username: "alice", AccountId: hostiletest.Account}))
	if checks > field {
		t.Errorf("a call of Checks allocates %.0f times, one of FieldTop %.0f: the checks allocate", checks, field)
	}
}
