package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRulesRuleSet checks that --rule-set shows a rule set file's rules,
// marked as from it, checked as interceptor.WithRuleSet checks them, and
// that dry-run rules are shown and counted, failing --no-dry-run.
func TestRulesRuleSet(t *testing.T) {
	const (
		svc  = "/protojwt.test.v1.GuardedService/"
		ping = "/protojwt.test.v1.OpenService/Ping"
	)
	api := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	set := func(text string) string { return writeFile(t, "rules.txtpb", []byte(text)) }
	pingRule := set(`methods { key: "` + ping + `" value { scopes: "ping" } }`)
	openService := set(`services { key: "protojwt.test.v1.OpenService" value { scopes: "ping" dry_run: true } }`)

	t.Run("methods entry", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--rule-set", pingRule, api)
		checkResult(t, r, exitOK, []string{"1 DENIED (no rule), 0 invalid"}, nil)
		if got, want := row(r.stdout, ping), ping+" rule set auth scopes=ping"; got != want {
			t.Errorf("row\n got %s\nwant %s", got, want)
		}
		if strings.Contains(r.stdout, "dry_run") {
			t.Errorf("no dry-run rule, yet:\n%s", r.stdout)
		}
	})
	t.Run("strict passes once every method is ruled", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--strict", "--public-method", svc+"Undeclared", "--rule-set", pingRule, api)
		checkResult(t, r, exitOK, []string{"0 DENIED (no rule), 0 invalid"}, nil)
	})
	t.Run("services entry, dry run", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--rule-set", openService, api)
		checkResult(t, r, exitOK, []string{"1 dry_run: decided and reported, NOT ENFORCED"}, nil)
		if got, want := row(r.stdout, ping), ping+" rule set service auth dry_run scopes=ping"; got != want {
			t.Errorf("row\n got %s\nwant %s", got, want)
		}
	})
	t.Run("no-dry-run fails while a dry-run rule is left", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--strict", "--no-dry-run", "--public-method", svc+"Undeclared", "--rule-set", openService, api)
		checkResult(t, r, exitFailure, nil, []string{"--no-dry-run: 1 method(s) with a dry_run rule, not enforced: " + ping})
		if strings.Contains(r.stderr, "--strict:") {
			t.Errorf("--strict failed too, yet every method is ruled:\n%s", r.stderr)
		}
		r = cmd{}.run(t, "rules", "--strict", "--public-method", svc+"Undeclared", "--rule-set", openService, api)
		checkResult(t, r, exitOK, nil, nil)
		r = cmd{}.run(t, "rules", "--strict", "--no-dry-run", "--public-method", svc+"Undeclared", "--rule-set", pingRule, api)
		checkResult(t, r, exitOK, nil, nil)
	})
	t.Run("json", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--json", "--rule-set", openService, api)
		checkResult(t, r, exitOK, nil, nil)
		var audit rulesAudit
		if err := json.Unmarshal([]byte(r.stdout), &audit); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, m := range audit.Methods {
			if m.Method == ping {
				found = true
				if m.Source != "rule_set_service" || !m.DryRun || m.Rule != "auth dry_run scopes=ping" {
					t.Errorf("Ping = %+v; want from the rule set's services, dry run", m)
				}
			} else if m.DryRun {
				t.Errorf("%s is dry run", m.Method)
			}
		}
		if !found || audit.Summary.DryRun != 1 {
			t.Errorf("Ping found %v, summary dry_run %d; want it and 1", found, audit.Summary.DryRun)
		}
	})
	t.Run("annotated method in the file", func(t *testing.T) {
		path := set(`methods { key: "` + svc + `Scopes" value { scopes: "x" } }`)
		r := cmd{}.run(t, "rules", "--strict", "--rule-set", path, api)
		checkResult(t, r, exitFailure, []string{"INVALID: invalid rule: the rule set's methods entry and the method's (protojwt.v1.rule) option both give it a rule"}, nil)
		if got := row(r.stdout, svc+"Scopes"); !strings.HasPrefix(got, svc+"Scopes rule set ") {
			t.Errorf("row %s; want the file named as its source", got)
		}
	})
	t.Run("misspelled name", func(t *testing.T) {
		path := set(`methods { key: "/protojwt.test.v1.OpenService/Pnig" value { scopes: "x" } }`)
		r := cmd{}.run(t, "rules", "--strict", "--rule-set", path, api)
		checkResult(t, r, exitFailure, []string{`ERROR: WithRuleSet: methods: /protojwt.test.v1.OpenService/Pnig is no method of the resolver; did you mean "` + ping + `"?`}, nil)
		if strings.Contains(r.stdout, "ERROR: invalid adapter option\n") {
			t.Errorf("the sentinel's text is a line of its own:\n%s", r.stdout)
		}
	})
	t.Run("bad file", func(t *testing.T) {
		path := set("methods { key: \"" + ping + "\"\n value { scopes: 7 } }")
		r := cmd{}.run(t, "rules", "--rule-set", path, api)
		checkResult(t, r, exitFailure, nil, []string{path, "rule set: not a protojwt.v1.RuleSet in text format", "line 2"})
	})
	t.Run("missing file", func(t *testing.T) {
		r := cmd{}.run(t, "rules", "--rule-set", "/nonexistent/rules.txtpb", api)
		checkResult(t, r, exitFailure, nil, []string{"/nonexistent/rules.txtpb"})
	})
}
