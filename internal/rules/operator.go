package rules

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt/annotations"
)

// operator is the one definition of a claim-check test, a field of the
// test oneof of the ClaimCheck message: how a ClaimCheck reads it, how it
// compiles and checks, how it is written (the CLI, Decision.Err), and what
// docs/rules.md says of it. Adding a test is a field of the proto, one
// entry of operators and its tests (TestOperatorsComplete fails on a part
// left out).
type operator struct {
	// name is the ClaimCheck field, Op.String, and the word written
	// after the claim path.
	name string
	// doc is what docs/rules.md says, in its table of tests, of a claim
	// that passes.
	doc string
	// fromProto reads c's test into ch.
	fromProto func(c *annotations.ClaimCheck, ch *Check) error
	// compile checks ch and sets t's operand; where names the claim for
	// messages.
	compile func(r *Rule, t *claimTest, ch Check, where string) error
	// test returns "" when the claim passes, else why it does not: a
	// constant that names no claim value. found is false for a claim that
	// is absent or null; v is the request variable of a test bound to one.
	test func(t *claimTest, claim any, found bool, v Value) string
	// text writes the test after the claim path, as the CLI prints it and
	// Decision.Err names it: `contains "orders-admin"`, `present`.
	text func(ch Check) string
}

// operators holds the definition of every Op, indexed by it.
var operators = [...]operator{
	OpEquals: {
		name: "equals",
		doc:  "equals a literal or a request variable (JSON equality)",
		fromProto: func(c *annotations.ClaimCheck, ch *Check) (err error) {
			ch.Match, err = matchFromProto(c.GetEquals())
			return err
		},
		compile: compileMatch,
		test: func(t *claimTest, claim any, found bool, v Value) string {
			switch {
			case !found:
				return whyAbsent
			case t.varIndex >= 0 && equalsVar(claim, v), t.varIndex < 0 && jsonEqual(claim, t.literal):
				return ""
			}
			return "not equal"
		},
		text: func(ch Check) string { return "equals " + matchText(ch.Match) },
	},
	OpContains: {
		name: "contains",
		doc:  "is a list with an element equal to it (never a substring)",
		fromProto: func(c *annotations.ClaimCheck, ch *Check) (err error) {
			ch.Match, err = matchFromProto(c.GetContains())
			return err
		},
		compile: compileMatch,
		test: func(t *claimTest, claim any, found bool, v Value) string {
			if !found {
				return whyAbsent
			}
			list, ok := claim.([]any)
			if !ok {
				return "not a list"
			}
			for _, e := range list {
				if t.varIndex >= 0 && equalsVar(e, v) || t.varIndex < 0 && jsonEqual(e, t.literal) {
					return ""
				}
			}
			return "no element equal"
		},
		text: func(ch Check) string { return "contains " + matchText(ch.Match) },
	},
	OpIn: {
		name: "in",
		doc:  "equals one of the literals",
		fromProto: func(c *annotations.ClaimCheck, ch *Check) error {
			for _, s := range c.GetIn().GetStrings() {
				ch.Values = append(ch.Values, s)
			}
			for _, n := range c.GetIn().GetNumbers() {
				ch.Values = append(ch.Values, n)
			}
			return nil
		},
		compile: func(_ *Rule, t *claimTest, ch Check, where string) error {
			if len(ch.Values) == 0 {
				return fmt.Errorf("%w: claim %s: in needs at least one value", ErrInvalidRule, where)
			}
			for _, value := range ch.Values {
				v, err := literal(value)
				if err != nil {
					return fmt.Errorf("%w: claim %s: in: %v", ErrInvalidRule, where, err)
				}
				t.set = append(t.set, v)
			}
			return nil
		},
		test: func(t *claimTest, claim any, found bool, _ Value) string {
			if !found {
				return whyAbsent
			}
			for _, want := range t.set {
				if jsonEqual(claim, want) {
					return ""
				}
			}
			return "equal to none of them"
		},
		text: func(ch Check) string {
			values := make([]string, len(ch.Values))
			for i, v := range ch.Values {
				values[i] = valueText(v)
			}
			return "in [" + strings.Join(values, ",") + "]"
		},
	},
	OpPrefix: textOperator("prefix", "is a string that starts with it", (*annotations.ClaimCheck).GetPrefix,
		strings.HasPrefix, "does not start with it"),
	OpSuffix: textOperator("suffix", "is a string that ends with it", (*annotations.ClaimCheck).GetSuffix,
		strings.HasSuffix, "does not end with it"),
	OpIncludes: {
		name: "includes",
		doc:  "contains the value as JSON, as `scope` does",
		fromProto: func(c *annotations.ClaimCheck, ch *Check) error {
			v := c.GetIncludes()
			if v.GetKind() == nil {
				return errNoValue
			}
			if _, null := v.GetKind().(*structpb.Value_NullValue); null {
				return errors.New("includes null, which no claim holds")
			}
			ch.Value = v.AsInterface()
			return nil
		},
		compile: func(_ *Rule, t *claimTest, ch Check, where string) error {
			if ch.Value == nil {
				return fmt.Errorf("%w: claim %s: includes has no value", ErrInvalidRule, where)
			}
			v, err := literal(ch.Value)
			if err != nil {
				return fmt.Errorf("%w: claim %s: includes: %v", ErrInvalidRule, where, err)
			}
			t.literal = v
			return nil
		},
		test: func(t *claimTest, claim any, found bool, _ Value) string {
			switch {
			case !found:
				return whyAbsent
			case !contains(claim, t.literal, 0):
				return "does not include it"
			}
			return ""
		},
		text: func(ch Check) string {
			if ch.Value == nil {
				return "includes " + noValue
			}
			return "includes " + compactJSON(ch.Value)
		},
	},
	OpPresent: {
		name: "present",
		doc:  "`true`: exists and is not null; `false`: is absent or null",
		fromProto: func(c *annotations.ClaimCheck, ch *Check) error {
			ch.Present = c.GetPresent()
			return nil
		},
		compile: func(_ *Rule, t *claimTest, ch Check, _ string) error {
			t.present = ch.Present
			return nil
		},
		test: func(t *claimTest, _ any, found bool, _ Value) string {
			switch {
			case found == t.present:
				return ""
			case t.present:
				return whyAbsent
			}
			return "present and not null"
		},
		text: func(ch Check) string {
			if ch.Present {
				return "present"
			}
			return "absent"
		},
	},
}

// Why a test fails, when the reason is not the operator's own.
const (
	whyAbsent   = "absent or null"
	whyVarUnset = "the request field is unset"
)

// noValue is written for a test or match with nothing to compare with.
const noValue = "<no value>"

// operatorOf returns the definition of op, ok false for an Op that has none.
func operatorOf(op Op) (*operator, bool) {
	if op == 0 || int(op) >= len(operators) {
		return nil, false
	}
	return &operators[op], true
}

// operatorNamed returns the Op whose ClaimCheck field is name.
func operatorNamed(name string) (Op, bool) {
	for op := range operators {
		if op > 0 && operators[op].name == name {
			return Op(op), true
		}
	}
	return 0, false
}

// operatorNames lists the tests a ClaimCheck may set: "equals, contains, ...".
func operatorNames() string {
	names := make([]string, 0, len(operators))
	for _, o := range operators[1:] {
		names = append(names, o.name)
	}
	return strings.Join(names, ", ")
}

// compileMatch compiles the Match of equals and contains: a request
// variable, or a literal.
func compileMatch(r *Rule, t *claimTest, ch Check, where string) error {
	m := ch.Match
	if m.Var != "" {
		if m.Value != nil {
			return fmt.Errorf("%w: claim %s has both a variable and a literal", ErrInvalidRule, where)
		}
		t.varIndex = r.varIndex(m.Var)
		return nil
	}
	if m.Value == nil {
		return fmt.Errorf("%w: claim %s has no value to match", ErrInvalidRule, where)
	}
	v, err := literal(m.Value)
	if err != nil {
		return fmt.Errorf("%w: claim %s: %v", ErrInvalidRule, where, err)
	}
	t.literal = v
	return nil
}

// textOperator is an operator that tests a string claim against the text
// of the check with holds, failing with why.
func textOperator(name, doc string, text func(*annotations.ClaimCheck) string, holds func(claim, text string) bool, why string) operator {
	return operator{
		name: name,
		doc:  doc,
		fromProto: func(c *annotations.ClaimCheck, ch *Check) error {
			ch.Text = text(c)
			return nil
		},
		compile: compileText,
		test: func(t *claimTest, claim any, found bool, _ Value) string {
			s, ok := claim.(string)
			switch {
			case !found:
				return whyAbsent
			case !ok:
				return "not a string"
			case !holds(s, t.text):
				return why
			}
			return ""
		},
		text: func(ch Check) string { return name + " " + compactJSON(ch.Text) },
	}
}

// compileText compiles the text of prefix and suffix.
func compileText(_ *Rule, t *claimTest, ch Check, where string) error {
	if ch.Text == "" {
		return fmt.Errorf("%w: claim %s: an empty %s holds for every string", ErrInvalidRule, where, ch.Op)
	}
	t.text = ch.Text
	return nil
}
