package connectauth_test

import (
	"net/http"
	"testing"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/manager"
)

// dryServers are a server of the interceptor alone and one behind its
// Wrap, both built with opts and reporting to rec.
func dryServers(t *testing.T, m manager.Verifier, rec *rpctest.Decisions, opts ...connectauth.Option) map[string]*testServer {
	t.Helper()
	auth, err := connectauth.New(m, append(opts, connectauth.WithDecisionHook(rec.Hook))...)
	if err != nil {
		t.Fatalf("connectauth.New: %v", err)
	}
	return map[string]*testServer{
		"interceptor": serve(t, upload{}, connect.WithInterceptors(auth)),
		"wrap":        serveThrough(t, func(h http.Handler) http.Handler { return auth.Wrap(h) }, upload{}, connect.WithInterceptors(auth)),
	}
}

// TestDryRun checks under every protocol, with and without Wrap (which
// must refuse nothing from the headers), that under WithDryRun every call
// and stream message goes on to its handler, which sees a token only when
// it verified, and that the hook is told each decision once, with what
// enforcing would have done.
func TestDryRun(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	for name, ts := range dryServers(t, m, &rec, connectauth.WithDryRun()) {
		for _, p := range protocols {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				rpctest.RunDryRun(t, p.client(ts), &rec, rpctest.DryRunCases(t, m))
			})
		}
	}
}

// TestDryRunRule checks under every protocol, with and without Wrap, that
// a rule's dry_run (here from a rule set) is reported and not enforced,
// while the other rules are.
func TestDryRunRule(t *testing.T) {
	m := newManager(t)
	var rec rpctest.Decisions
	for name, ts := range dryServers(t, m, &rec, connectauth.WithRuleSet(rpctest.DryRunRuleSet())) {
		for _, p := range protocols {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				rpctest.RunDryRun(t, p.client(ts), &rec, rpctest.DryRuleCases(t, m))
			})
		}
	}
}
