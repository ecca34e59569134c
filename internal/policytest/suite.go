// Package policytest runs policy test cases (protojwt.v1.PolicyTest, the
// case files of "protojwt test" and package protojwttest) through the
// adapters themselves: a gRPC method's case through an [interceptor.New]
// built from the API's descriptors, a route's case through an httpauth
// Guard serving its pattern. The outcome is what the adapter's decision
// hook reports, so a case tests the rules exactly as a server enforces
// them.
//
//	suite, err := policytest.Load(env, "orders.textpb")
//	for _, r := range suite.Run() {
//		if !r.Passed() {
//			fmt.Println(r.Line())
//		}
//	}
package policytest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/denial"
)

// maxFileSize bounds a case file.
const maxFileSize = 16 << 20

// Env is what the cases run against.
type Env struct {
	// Files holds the API's services and their rules;
	// [protoregistry.GlobalFiles] when nil.
	Files *protoregistry.Files
	// Expressions compiles the rules' expr, as the servers'
	// WithExpressions does; nil refuses rules with one.
	Expressions protojwt.Expressions
	// RuleSet gives rules to methods whose options declare none, as the
	// servers' WithRuleSet does; nil for none.
	RuleSet *annotations.RuleSet
}

// Suite is one case file, loaded and checked.
type Suite struct {
	// Name is the file's name, for failure lines.
	Name string
	test *annotations.PolicyTest
	env  Env
	now  time.Time // the clock of the cases; zero means time.Now
	// secret signs the tokens made from claims; it is random per suite
	// and never leaves it.
	secret []byte
}

// Load reads the case file at path, the text format of
// protojwt.v1.PolicyTest.
func Load(env Env, path string) (*Suite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is over %d bytes", path, maxFileSize)
	}
	return Parse(env, path, data)
}

// Parse reads a case file's text, name naming it in errors.
func Parse(env Env, name string, data []byte) (*Suite, error) {
	pt := new(annotations.PolicyTest)
	if err := prototext.Unmarshal(data, pt); err != nil {
		return nil, fmt.Errorf("%s is not a protojwt.v1.PolicyTest in the text format: %v", name, err)
	}
	return New(env, name, pt)
}

// New checks pt and returns its suite.
func New(env Env, name string, pt *annotations.PolicyTest) (*Suite, error) {
	return newSuite(env, name, pt, true)
}

// ForExplain returns the suite of pt, whose cases need not say what they
// expect: for Explain.
func ForExplain(env Env, name string, pt *annotations.PolicyTest) (*Suite, error) {
	return newSuite(env, name, pt, false)
}

func newSuite(env Env, name string, pt *annotations.PolicyTest, expect bool) (*Suite, error) {
	if env.Files == nil {
		env.Files = protoregistry.GlobalFiles
	}
	s := &Suite{Name: name, test: pt, env: env, secret: make([]byte, 32)}
	rand.Read(s.secret)
	if t := pt.GetTime(); t != "" {
		now, err := time.Parse(time.RFC3339, t)
		if err != nil {
			return nil, fmt.Errorf("%s: time %q is not RFC 3339 (2026-01-02T15:04:05Z)", name, t)
		}
		s.now = now
	}
	var errs []error
	for i, c := range pt.GetCases() {
		if err := checkCase(c, expect); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", name, caseName(i, c), err))
		}
	}
	if len(pt.GetCases()) == 0 {
		errs = append(errs, fmt.Errorf("%s: no cases", name))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// checkCase returns what makes c unrunnable as written.
func checkCase(c *annotations.PolicyCase, expect bool) error {
	switch {
	case c.GetProcedure() == "":
		return errors.New("no procedure: a full method (/pkg.Service/Method) or a route pattern of routes")
	case !expect && c.GetExpect().GetOutcome() == nil:
	case c.GetExpect().GetOutcome() == nil:
		return errors.New("expect says neither allowed nor reason")
	case c.GetExpect().GetReason() == "" && !c.GetExpect().GetAllowed():
		if _, ok := c.GetExpect().GetOutcome().(*annotations.Expect_Allowed); ok {
			return errors.New("expect { allowed: false }: name the reason instead (reason: \"CLAIM_MISMATCH\")")
		}
		return errors.New("expect has an empty reason")
	case c.GetExpect().GetReason() != "" && !denial.Known(c.GetExpect().GetReason()):
		return fmt.Errorf("expect: unknown reason %q (the reasons are the Reason constants of package protojwt, such as CLAIM_MISMATCH)", c.GetExpect().GetReason())
	case c.GetExpect().GetAllowed() && c.GetExpect().GetExplanation() != "":
		return errors.New("expect: an explanation is for a denial, not allowed")
	}
	if t := c.GetToken(); t != nil && t.GetSource() == nil {
		return errors.New("token has neither claims nor jwt (leave token out for a call without one)")
	}
	return nil
}

// caseName names case i for messages: its name, or its position.
func caseName(i int, c *annotations.PolicyCase) string {
	if c.GetName() != "" {
		return fmt.Sprintf("%q", c.GetName())
	}
	return fmt.Sprintf("case %d", i+1)
}

// clock returns the time of the cases.
func (s *Suite) clock() time.Time {
	if s.now.IsZero() {
		return time.Now()
	}
	return s.now
}
