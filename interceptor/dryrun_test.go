package interceptor_test

import (
	"testing"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
)

// TestDryRun checks over a real server, unary and stream, that under
// WithDryRun every call goes on to its handler, which sees a token only
// when it verified, and that the hook is told what enforcing would have
// done.
func TestDryRun(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	ts := startServer(t, m, interceptor.WithDryRun(), interceptor.WithDecisionHook(rec.Hook))
	rpctest.RunDryRun(t, rpctest.GRPC(ts.conn), &rec, rpctest.DryRunCases(t, m))
}

// TestDryRunRule checks that a rule's dry_run (here from a rule set) is
// reported and not enforced, while the other rules are.
func TestDryRunRule(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	ts := startServer(t, m, interceptor.WithRuleSet(rpctest.DryRunRuleSet()), interceptor.WithDecisionHook(rec.Hook))
	rpctest.RunDryRun(t, rpctest.GRPC(ts.conn), &rec, rpctest.DryRuleCases(t, m))
}

// TestDryRunWithoutHook checks that dry run needs no hook: the calls go on.
func TestDryRunWithoutHook(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m, interceptor.WithDryRun())
	var rec rpctest.Decisions // told nothing
	cases := rpctest.DryRunCases(t, m)
	for i := range cases {
		cases[i].Wants = nil
	}
	rpctest.RunDryRun(t, rpctest.GRPC(ts.conn), &rec, cases)
}
