package rules

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/protojwt/protojwt/manager"
)

// Step is one part of a rule as Trace found it, for a person reading why a
// call is allowed or denied ("protojwt explain"). Unlike Decision.Err, a
// Step shows the values compared: the claim, the request variable, the
// scopes granted. It is for the holder of the token, never for logs.
type Step struct {
	// Depth is 0 for a part of the rule, 1 for a part of one of its any_of
	// alternatives, and so on.
	Depth int
	// Part names the part as Decision.Err does: "token type", `claim
	// tier: in ["gold"]`, "scope orders:write", "expr", "any_of[1]".
	Part string
	// Held reports whether the part holds.
	Held bool
	// Why says why a part does not hold, as Decision.Err does; "" when it
	// holds.
	Why string
	// Values are the values compared: `claim "silver"`, `request field
	// id "42"`; "" for a part that compares none.
	Values string
	// Decides is true for the part whose failure decided the call: the
	// first part of the rule (depth 0) that does not hold.
	Decides bool
}

// maxValueText bounds a value written in a Step.
const maxValueText = 200

// Trace decides a call as Explain does and returns every part of the rule
// in the order Check evaluates them, each with its outcome and the values
// it compared, with Explain's error. Parts after the one that decides are
// evaluated too, so that a reader sees everything that would still have
// to hold. The verdict is Explain's own: err is what Explain returns, and
// the step that Decides is the first one of depth 0 that fails.
func (r *Rule) Trace(tok *manager.Token, vars Vars) ([]Step, error) {
	err := r.Explain(tok, vars)
	var steps []Step
	add := func(s Step) {
		steps = append(steps, s)
	}
	switch {
	case r.public:
		add(Step{Part: "public", Held: true})
		return steps, err
	case tok == nil && r.allowMissing:
		add(Step{Part: "token", Held: true, Values: "none sent, and the rule has allow_missing"})
		return steps, err
	case tok == nil:
		add(Step{Part: "token", Why: "none sent", Decides: true})
		return steps, err
	}
	in := inputOf(tok)
	add(Step{Part: "token", Held: true, Values: "sent and verified"})
	typeStep := Step{Part: "token type " + string(r.tokenType), Held: manager.TokenType(in.typ) == r.tokenType, Values: "type " + strconv.Quote(in.typ)}
	if !typeStep.Held {
		typeStep.Why = "want " + string(r.tokenType) + ", got " + typeText(in.typ)
	}
	add(typeStep)
	steps = append(steps, r.cond.trace(&in, vars, 0)...)
	for i := range steps {
		if steps[i].Depth == 0 && !steps[i].Held {
			steps[i].Decides = true
			return steps, err
		}
	}
	if err != nil {
		// A part of the rule that Trace does not walk denied: say so
		// rather than show a denial that no step explains.
		add(Step{Part: untracedPart, Why: strings.TrimPrefix(err.Error(), "protojwt: "), Decides: true})
	}
	return steps, err
}

// untracedPart names the step of a denial by a part of a rule that Trace
// does not walk; TestTrace and FuzzCheck fail when one appears.
const untracedPart = "another part of the rule"

// trace returns the steps of c at depth, in the order check evaluates them.
func (c *condition) trace(in *input, vars Vars, depth int) []Step {
	var steps []Step
	if len(c.issuers) > 0 {
		s := Step{Depth: depth, Part: "issuers " + namesText(c.issuers), Held: slices.Contains(c.issuers, in.issuer)}
		s.Values = "iss " + claimText(in.issuer, in.issuer != "")
		if !s.Held {
			s.Why = "not one of them"
		}
		steps = append(steps, s)
	}
	if len(c.audiences) > 0 {
		aud, found := in.claim("aud")
		s := Step{Depth: depth, Part: "audiences " + namesText(c.audiences), Held: namesAudience(aud, c.audiences)}
		s.Values = "aud " + claimText(aud, found)
		if !s.Held {
			s.Why = "names none of them"
		}
		steps = append(steps, s)
	}
	w := walk{owner: -1}
	for i := range c.tests {
		t := &c.tests[i]
		s := Step{Depth: depth, Part: t.label}
		why := t.why(in, vars, &w, i)
		s.Held, s.Why = why == "", why
		claim, found := t.lookup(in, &walk{owner: -1}, 0)
		values := []string{"claim " + claimText(claim, found)}
		if t.varIndex >= 0 {
			if v, ok := vars.Var(t.varIndex); ok {
				values = append(values, "request "+valueOf(v))
			} else {
				values = append(values, "request field unset")
			}
		}
		s.Values = strings.Join(values, ", ")
		steps = append(steps, s)
	}
	if c.scope != nil {
		s := Step{Depth: depth, Part: "scope " + compactJSON(c.scope), Held: contains(in.scope, c.scope, 0)}
		s.Values = "scope claim " + claimText(in.scope, in.scope != nil)
		if !s.Held {
			s.Why = "not contained in the scope claim"
		}
		steps = append(steps, s)
	}
	for _, name := range c.scopes {
		s := Step{Depth: depth, Part: "scope " + formatName(name), Held: in.granted(name)}
		s.Values = "granted " + grantedText(in)
		if !s.Held {
			s.Why = "not granted"
		}
		steps = append(steps, s)
	}
	if c.expr != nil {
		s := Step{Depth: depth, Part: "expr " + shorten(c.exprText)}
		err := evalExpr(c.expr, in, vars)
		s.Held = err == nil
		switch {
		case errors.Is(err, ErrExpressionFalse):
			s.Why = "false"
		case err != nil:
			s.Why = strings.TrimPrefix(err.Error(), "protojwt: ")
		}
		steps = append(steps, s)
	}
	if len(c.anyOf) == 0 {
		return steps
	}
	head := len(steps)
	steps = append(steps, Step{Depth: depth, Part: "any_of"})
	held := 0
	for i := range c.anyOf {
		alt := Step{Depth: depth + 1, Part: "any_of[" + strconv.Itoa(i) + "]", Held: c.anyOf[i].check(in, vars, false) == nil}
		if alt.Held {
			held++
		} else {
			alt.Why = "a part does not hold"
		}
		steps = append(steps, alt)
		steps = append(steps, c.anyOf[i].trace(in, vars, depth+2)...)
	}
	steps[head].Held = held > 0
	steps[head].Values = strconv.Itoa(held) + " of " + strconv.Itoa(len(c.anyOf)) + " alternatives hold"
	if held == 0 {
		steps[head].Why = "no alternative rule holds"
	}
	return steps
}

// claimText writes a claim's value for a Step, shortened when long.
func claimText(v any, found bool) string {
	if !found {
		return "absent"
	}
	return shorten(compactJSON(v))
}

// grantedText writes the scope names a token grants, as its scope claims
// hold them.
func grantedText(in *input) string {
	if in.view == nil {
		return claimText(in.scope, in.scope != nil)
	}
	parts := make([]string, 0, len(in.grants))
	for _, g := range in.grants {
		if g != nil {
			parts = append(parts, shorten(compactJSON(g)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// valueOf writes a request variable for a Step.
func valueOf(v Value) string {
	switch v.kind {
	case stringValue:
		return shorten(strconv.Quote(v.str))
	case numberValue:
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	case intValue:
		return strconv.FormatInt(v.i, 10)
	case uintValue:
		return strconv.FormatUint(v.u, 10)
	case boolValue:
		return strconv.FormatBool(v.b)
	}
	return "?"
}

// shorten cuts s to maxValueText bytes, on a rune boundary.
func shorten(s string) string {
	if len(s) <= maxValueText {
		return s
	}
	cut := maxValueText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
