package hostiletest_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/rules"
)

// TestCasesAgainstTheEngine decides every case with what both adapters
// share, the bearer parser and the rule engine, without a server: the
// outcomes the adapters' tests then require of their real servers.
func TestCasesAgainstTheEngine(t *testing.T) {
	rule, err := rules.FromProto(hostiletest.Rule())
	if err != nil {
		t.Fatal(err)
	}
	if len(rule.Vars()) != 1 || rule.Vars()[0] != hostiletest.Variable {
		t.Fatalf("Rule binds %q, want [%s]", rule.Vars(), hostiletest.Variable)
	}
	vars := rules.VarFunc(func(int) (rules.Value, bool) { return rules.String(hostiletest.Subject), true })
	decideCases(t, rule, hostiletest.Cases(), vars)
}

// TestCheckCasesAgainstTheEngine decides the check table with the engine,
// its request variables as a gRPC request has them (the account an int64)
// and as an HTTP path has them (text): both decide alike.
func TestCheckCasesAgainstTheEngine(t *testing.T) {
	rule, err := rules.FromProto(hostiletest.CheckRule())
	if err != nil {
		t.Fatal(err)
	}
	if !rule.AllowMissing() {
		t.Fatal("CheckRule does not allow a missing token")
	}
	values := map[string][]rules.Value{
		"grpc": {rules.String(hostiletest.Subject), rules.Int(hostiletest.Account)},
		"http": {rules.String(hostiletest.Subject), rules.String(strconv.FormatInt(hostiletest.Account, 10))},
	}
	for name, vs := range values {
		t.Run(name, func(t *testing.T) {
			byName := map[string]rules.Value{hostiletest.Variable: vs[0], hostiletest.AccountVariable: vs[1]}
			if len(rule.Vars()) != 2 {
				t.Fatalf("CheckRule binds %q, want %s and %s", rule.Vars(), hostiletest.Variable, hostiletest.AccountVariable)
			}
			vars := rules.VarFunc(func(i int) (rules.Value, bool) {
				v, ok := byName[rule.Vars()[i]]
				return v, ok
			})
			decideCases(t, rule, hostiletest.CheckCases(), vars)
		})
	}
}

// decideCases decides every case with rule and vars through the flow the
// adapters share.
func decideCases(t *testing.T, rule *rules.Rule, cases []hostiletest.Case, vars rules.Vars) {
	env := hostiletest.New(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			values := c.Authorization(env)
			raw, readErr := decide.Sent(bearer.Token(values, bearer.Limit(env.Manager)))
			d := decide.Decider{Verifier: env.Manager}
			tok, err := d.Decide(context.Background(), "/test", rule, raw, readErr, nil, vars)
			if c.Reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(values) == 0 {
					if tok != nil {
						t.Fatalf("token = %+v, want none", tok)
					}
					return
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
	for _, c := range append(hostiletest.Cases(), hostiletest.CheckCases()...) {
		if seen[c.Name] {
			t.Errorf("two cases named %q", c.Name)
		}
		seen[c.Name] = true
		if c.Reason == "" {
			allowed++
		} else if !denial.Known(c.Reason) {
			t.Errorf("case %q: unknown reason %q", c.Name, c.Reason)
		}
	}
	if refused := len(seen) - allowed; refused <= 2*allowed {
		t.Errorf("%d refusals for %d acceptances: the table should be mostly refusals", refused, allowed)
	}
}
