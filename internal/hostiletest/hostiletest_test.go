package hostiletest_test

import (
	"context"
	"testing"

	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rules"
)

// TestCasesAgainstTheEngine decides every case with what both adapters
// share, the bearer parser and the rule engine, without a server: the
// outcomes the adapters' tests then require of their real servers.
func TestCasesAgainstTheEngine(t *testing.T) {
	env := hostiletest.New(t)
	rule, err := rules.FromProto(hostiletest.Rule())
	if err != nil {
		t.Fatal(err)
	}
	if len(rule.Vars()) != 1 || rule.Vars()[0] != hostiletest.Variable {
		t.Fatalf("Rule binds %q, want [%s]", rule.Vars(), hostiletest.Variable)
	}
	vars := rules.VarFunc(func(int) (rules.Value, bool) { return rules.String(hostiletest.Subject), true })
	for _, c := range hostiletest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			values := c.Authorization(env)
			raw, readErr := decide.Sent(bearer.Token(values))
			d := decide.Decider{Verifier: env.Manager}
			tok, err := d.Decide(context.Background(), "/test", rule, raw, readErr, vars)
			if c.Reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tok == nil || tok.Subject != hostiletest.Subject {
					t.Fatalf("token = %+v, want one of %s", tok, hostiletest.Subject)
				}
				return
			}
			if err == nil {
				t.Fatalf("allowed, want %s", c.Reason)
			}
			if _, reason := rules.Classify(err); reason != c.Reason {
				t.Fatalf("reason %s (%v), want %s", reason, err, c.Reason)
			}
		})
	}
	if hits := env.TrapHits(); hits != 0 {
		t.Errorf("the trap URL was fetched %d times", hits)
	}
}

// TestCasesAreDistinct keeps the table readable: one name per case, and
// more refusals than acceptances.
func TestCasesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	allowed := 0
	for _, c := range hostiletest.Cases() {
		if seen[c.Name] {
			t.Errorf("two cases named %q", c.Name)
		}
		seen[c.Name] = true
		if c.Reason == "" {
			allowed++
		} else if rules.Describe(c.Reason) == "" {
			t.Errorf("case %q: unknown reason %q", c.Name, c.Reason)
		}
	}
	if refused := len(seen) - allowed; refused <= 2*allowed {
		t.Errorf("%d refusals for %d acceptances: the table should be mostly refusals", refused, allowed)
	}
}
