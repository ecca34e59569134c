// Package protojwttest runs policy test cases from a Go test: the case
// files of "protojwt test" (the text format of protojwt.v1.PolicyTest,
// protojwt/v1/policytest.proto), against the rules of the services linked
// into the test binary, with the adapters' own decision code. Each case
// that does not have its expected outcome fails the test with one line:
// what was expected, and what decided it.
//
//	import _ "example.com/shop/gen/shop/v1" // the services and their rules
//
//	func TestRules(t *testing.T) {
//		protojwttest.Run(t, "testdata/orders.textpb")
//	}
//
// A case on a gRPC method runs through an interceptor built by
// interceptor.New; a case on an HTTP route of the file's routes runs
// through an httpauth Guard serving the route.
package protojwttest

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/policytest"
)

// Runner runs case files with the options it was made with. It is
// immutable and safe for concurrent use.
type Runner struct {
	env policytest.Env
}

// Option configures a Runner.
type Option interface{ apply(*Runner) }

type optionFunc func(*Runner)

func (f optionFunc) apply(r *Runner) { f(r) }

// WithResolver reads the services and their rules from files, as
// interceptor.WithResolver does. By default, they are those of
// [protoregistry.GlobalFiles]: the generated packages linked into the test.
func WithResolver(files *protoregistry.Files) Option {
	return optionFunc(func(r *Runner) {
		if files != nil {
			r.env.Files = files
		}
	})
}

// WithExpressions compiles the rules' expr with x, as the servers'
// interceptor.WithExpressions(x) does: celexpr.New() for CEL. By default,
// a rule with an expr can't be compiled and every case of the API fails,
// saying so.
func WithExpressions(x protojwt.Expressions) Option {
	return optionFunc(func(r *Runner) { r.env.Expressions = x })
}

// WithRuleSet gives rules to methods whose options declare none, as the
// servers' interceptor.WithRuleSet(set) does ([annotations.ReadRuleSet] reads
// a rule set file). By default, rules come only from the options.
func WithRuleSet(set *annotations.RuleSet) Option {
	return optionFunc(func(r *Runner) { r.env.RuleSet = set })
}

// New returns a Runner with opts.
func New(opts ...Option) *Runner {
	r := &Runner{env: policytest.Env{Files: protoregistry.GlobalFiles}}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(r)
		}
	}
	return r
}

// Run runs the case files with the default options: the services linked
// into the test, no expression engine.
func Run(t *testing.T, files ...string) {
	t.Helper()
	New().Run(t, files...)
}

// Run runs the case files, failing t with a line per case that does not
// have its expected outcome, and per file that can't be read. With go
// test -v, each case that holds is logged too.
func (r *Runner) Run(t *testing.T, files ...string) {
	t.Helper()
	r.run(t, files)
}

// reporter is what run needs of a *[testing.T].
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

func (r *Runner) run(t reporter, files []string) {
	t.Helper()
	if len(files) == 0 {
		t.Errorf("protojwttest: no case files")
		return
	}
	for _, file := range files {
		s, err := policytest.Load(r.env, file)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, res := range s.Run() {
			if res.Passed() {
				if testing.Verbose() {
					t.Logf("%s", res.Line())
				}
				continue
			}
			t.Errorf("%s", res.Line())
		}
	}
}
