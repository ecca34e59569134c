package policytest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// Explanation is a case decided by its adapter, with every part of its
// rule as the engine evaluated it ([rules.Rule.Trace]).
type Explanation struct {
	Result
	// Steps are the parts of the rule in order, with the values compared;
	// one step when the token did not verify or the procedure has no rule.
	Steps []rules.Step
}

// Explain decides case i of s as Run does and traces its rule. The
// trace's verdict is the engine's own; an Explanation whose verdict
// differs from the adapter's is an error, which would be a defect.
func (s *Suite) Explain(i int) (*Explanation, error) {
	cases := s.test.GetCases()
	if i < 0 || i >= len(cases) {
		return nil, fmt.Errorf("no case %d", i+1)
	}
	c := cases[i]
	a := s.build()
	e := &Explanation{Result: Result{File: s.Name, Name: caseName(i, c), Procedure: c.GetProcedure(), Want: wantText(c.GetExpect())}}
	e.Decision, e.Err = s.decide(a, c)
	if e.Err != nil {
		return e, nil
	}
	e.pass = outcomeMatches(c.GetExpect(), e.Decision)
	rule, vars, err := s.compiled(c)
	if err != nil {
		return nil, err
	}
	if rule == nil {
		e.Steps = []rules.Step{{Part: "rule", Why: "none declared, and no option opens the method", Decides: true}}
		if !Denied(e.Decision) {
			e.Steps[0] = rules.Step{Part: "rule", Held: true, Values: "none declared; opened by an option"}
		}
		return e, nil
	}
	var tok *manager.Token
	if !rule.Public() {
		raw, m, err := s.token(c.GetToken())
		if err != nil {
			return nil, err
		}
		if m != nil {
			defer m.Close()
			if tok, err = m.Verify(context.Background(), raw); err != nil {
				e.Steps = []rules.Step{{Part: "token", Why: "does not verify: " + strings.TrimPrefix(err.Error(), "protojwt: "), Decides: true}}
				return e, e.agree(err)
			}
		}
	}
	var traceErr error
	e.Steps, traceErr = rule.Trace(tok, vars)
	return e, e.agree(traceErr)
}

// agree checks that the engine's verdict err is the adapter's decision.
func (e *Explanation) agree(err error) error {
	if (err != nil) != Denied(e.Decision) {
		return fmt.Errorf("the engine says %v, the adapter decided denied=%v: a defect, please report it", err, Denied(e.Decision))
	}
	if err != nil {
		if _, reason := rules.Classify(err); reason != e.Decision.Reason {
			return fmt.Errorf("the engine's reason %s differs from the adapter's %s: a defect, please report it", reason, e.Decision.Reason)
		}
	}
	return nil
}

// compiled returns the compiled rule of c's procedure, as its adapter
// compiles it, and c's request variables; a nil rule when the procedure
// has none.
func (s *Suite) compiled(c *annotations.PolicyCase) (*rules.Rule, rules.Vars, error) {
	if route, ok := s.test.GetRoutes()[c.GetProcedure()]; ok {
		rule, err := rules.FromProtoEnv(route, rules.Env{Expressions: s.env.Expressions})
		if err != nil {
			return nil, rules.Vars{}, err
		}
		r, err := routeRequest(c.GetProcedure(), c.GetPath())
		if err != nil {
			return nil, rules.Vars{}, err
		}
		src, err := pathValues(c.GetProcedure(), r, rule)
		if err != nil {
			return nil, rules.Vars{}, err
		}
		return rule, rules.VarsOf(src, nil), nil
	}
	table, err := methodrules.Build(methodrules.Options{Files: s.env.Files, Expressions: s.env.Expressions, RuleSet: s.env.RuleSet})
	if err != nil {
		return nil, rules.Vars{}, err
	}
	entry := table.Lookup(c.GetProcedure())
	if entry.Rule == nil {
		return nil, rules.Vars{}, nil
	}
	md, err := s.method(c.GetProcedure())
	if err != nil {
		return nil, rules.Vars{}, err
	}
	req, err := s.request(md, c.GetRequest())
	if err != nil {
		return nil, rules.Vars{}, err
	}
	return entry.Rule, entry.Vars(req), nil
}

// pathSource is the request variables of a route's request: its path
// wildcards, as ServeMux matched them.
type pathSource struct {
	names  []string          // the rule's variables, by index
	values map[string]string // every wildcard of the pattern
}

var _ rules.RequestSource = (*pathSource)(nil)

func (p *pathSource) Var(_ any, i int) (rules.Value, bool) {
	if v := p.values[p.names[i]]; v != "" {
		return rules.String(v), true
	}
	return rules.Value{}, false
}

func (p *pathSource) Message(any) proto.Message { return nil }

func (p *pathSource) Path(any) map[string]string { return p.values }

// pathValues matches r against the route pattern alone, as the Guard's
// ServeMux does, and returns its wildcard values for rule.
func pathValues(pattern string, r *http.Request, rule *rules.Rule) (*pathSource, error) {
	src := &pathSource{names: rule.Vars(), values: map[string]string{}}
	mux := http.NewServeMux()
	matched := false
	if err := register(mux, pattern, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		matched = true
		for _, name := range wildcards(pattern) {
			if v := r.PathValue(name); v != "" {
				src.values[name] = v
			}
		}
	})); err != nil {
		return nil, err
	}
	mux.ServeHTTP(discard{}, r)
	if !matched {
		return nil, errors.New("the path does not match the route")
	}
	return src, nil
}

// wildcards returns the wildcard names of a ServeMux pattern.
func wildcards(pattern string) []string {
	var names []string
	for {
		open := strings.IndexByte(pattern, '{')
		if open < 0 {
			return names
		}
		end := strings.IndexByte(pattern[open:], '}')
		if end < 0 {
			return names
		}
		if name := strings.TrimSuffix(pattern[open+1:open+end], "..."); name != "" && name != "$" {
			names = append(names, name)
		}
		pattern = pattern[open+end+1:]
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
