package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/manager"
)

// Limits on what a rule may hold, so that compiling and evaluating one is
// bounded whatever its source.
const (
	maxScopeDepth = 32 // nesting of a required scope value
	maxAnyOfDepth = 8  // nesting of any_of alternatives
	maxPathLength = 32 // names in a claim check's path
)

// ErrInvalidRule means a rule can't be compiled; the message says why. It
// is [protojwt.ErrInvalidRule].
var ErrInvalidRule = protojwt.ErrInvalidRule

// Spec is a rule in Go form, as the HTTP guard's requirements build it.
type Spec struct {
	// Public needs no token; nothing else may be set with it.
	Public bool
	// AllowMissing lets a call with no token through; a token sent must
	// satisfy the rest. It can't be set with Public nor in an alternative.
	AllowMissing bool
	// TokenType is the required token type; "" means [manager.Auth].
	TokenType manager.TokenType
	// Claims maps a claim name to what it must equal.
	Claims map[string]Match
	// Checks are tests on claims at any depth.
	Checks []Check
	// Scope must be contained in the token's scope claim; nil for none. It
	// is any value that encodes to JSON.
	Scope any
	// Scopes are OAuth-style scope names that must all be granted.
	Scopes []string
	// Expr is an expression that must be true, compiled by the Env's
	// Expressions.
	Expr string
	// Issuers, when not empty, needs the token's "iss" to be one of them.
	Issuers []string
	// Audiences, when not empty, needs the token's "aud" (a string or a
	// list of strings) to name one of them.
	Audiences []string
	// AnyOf, when not empty, needs one alternative to hold as well. An
	// alternative may not set Public, AllowMissing, TokenType or
	// RequireBinding; it may set Issuers and Audiences, so that each
	// alternative trusts its own issuer.
	AnyOf []Spec
	// DryRun decides and reports the rule but never enforces it
	// ([protojwt.Decision.DryRun]). It can't be set with Public, which denies
	// nothing, nor in an alternative.
	DryRun bool
	// RequireBinding lets only sender-constrained tokens through: a token
	// whose cnf claim binds it to a DPoP key or a client certificate. The
	// adapters check the proof of possession before the rule.
	RequireBinding bool
}

// Match is what a claim must equal: the request variable Var when it is not
// "", else the literal Value (any value that encodes to JSON).
type Match struct {
	Var   string
	Value any
}

// Op is the test of a Check. Each is defined once, by its entry in
// operators (operator.go): how it is read, compiled, checked and written.
type Op uint8

// The tests of a Check, as the ClaimCheck message names them.
const (
	OpEquals   Op = iota + 1 // Match: equal to a literal or a request variable
	OpContains               // Match: a list with an element equal to it
	OpIn                     // Values: equal to one of them
	OpPrefix                 // Text: a string that starts with it
	OpSuffix                 // Text: a string that ends with it
	OpIncludes               // Value: contains it as JSON, as Scope does
	OpPresent                // Present: exists and not null (true) or absent (false)
)

// String returns the op's name in the ClaimCheck message.
func (o Op) String() string {
	if def, ok := operatorOf(o); ok {
		return def.name
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Check is a test of the claim at Path: its name, then member names of
// nested objects, each taken whole.
type Check struct {
	Path    []string
	Op      Op
	Match   Match // OpEquals, OpContains
	Values  []any // OpIn
	Text    string
	Value   any  // OpIncludes
	Present bool // OpPresent
}

// Env is what compiling a rule may need besides the rule.
type Env struct {
	// Expressions compiles Spec.Expr; nil refuses rules with one.
	Expressions protojwt.Expressions
	// Request describes the request message that Expr may read; nil for
	// HTTP routes.
	Request protoreflect.MessageDescriptor
}

// Rule is a compiled rule. It is immutable and safe for concurrent use.
type Rule struct {
	public         bool
	allowMissing   bool
	requireBinding bool
	tokenType      manager.TokenType
	cond           condition
	vars           []string
	readsRequest   bool
	dryRun         bool
	// exprWildcards are the path wildcards the expressions read.
	exprWildcards []string
}

// condition is the part of a rule checked against a verified token:
// issuers, audiences, claim tests, scope, scopes, the expression and
// alternatives, in that order. Alternatives are conditions too.
type condition struct {
	issuers   []string
	audiences []string
	tests     []claimTest
	scope     any // normalized JSON; nil for none
	scopes    []string
	expr      protojwt.Expression
	anyOf     []condition
	// exprText is the expression's source, for Trace.
	exprText string
}

// claimTest is one compiled test of the claim at path: against literal, or
// the request variable numbered varIndex when varIndex >= 0.
type claimTest struct {
	path     []string
	op       Op
	literal  any   // OpEquals, OpContains, OpIncludes
	set      []any // OpIn
	text     string
	present  bool
	varIndex int
	// shared is how many leading names of path the test before it in its
	// condition also has, short of either's last name: the objects they
	// lead to are looked up once.
	shared int
	// test is the operator's test.
	test func(t *claimTest, claim any, found bool, v Value) string
	// label names the check in Decision.Err: `claim tier: in ["gold"]`.
	label string
}

// Compile checks s and compiles it into a Rule, with no expression engine
// and no request message.
func Compile(s Spec) (*Rule, error) { return CompileEnv(s, Env{}) }

// CompileEnv checks s and compiles it into a Rule in env.
func CompileEnv(s Spec, env Env) (*Rule, error) {
	r := &Rule{public: s.Public, allowMissing: s.AllowMissing, tokenType: s.TokenType, requireBinding: s.RequireBinding}
	r.dryRun = s.DryRun
	if s.Public {
		if s.DryRun {
			return nil, fmt.Errorf("%w: a public rule denies nothing: dry_run can't be set with it", ErrInvalidRule)
		}
		if s.AllowMissing || s.RequireBinding || s.TokenType != "" || len(s.Claims) > 0 || len(s.Checks) > 0 || s.Scope != nil ||
			len(s.Scopes) > 0 || s.Expr != "" || len(s.AnyOf) > 0 || len(s.Issuers) > 0 || len(s.Audiences) > 0 {
			return nil, fmt.Errorf("%w: a public rule can't have other requirements", ErrInvalidRule)
		}
		return r, nil
	}
	switch s.TokenType {
	case "":
		r.tokenType = manager.Auth
	case manager.Auth, manager.Refresh:
	default:
		return nil, fmt.Errorf("%w: unknown token type %q", ErrInvalidRule, s.TokenType)
	}
	c, err := r.compileCondition(s, env, 0)
	if err != nil {
		return nil, err
	}
	r.cond = c
	return r, nil
}

func (r *Rule) compileCondition(s Spec, env Env, depth int) (condition, error) {
	var c condition
	var err error
	if c.issuers, err = names("issuers", s.Issuers); err != nil {
		return c, err
	}
	if c.audiences, err = names("audiences", s.Audiences); err != nil {
		return c, err
	}
	names := make([]string, 0, len(s.Claims))
	for name := range s.Claims {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "" {
			return c, fmt.Errorf("%w: empty claim name", ErrInvalidRule)
		}
		test, err := r.compileTest(Check{Path: []string{name}, Op: OpEquals, Match: s.Claims[name]})
		if err != nil {
			return c, err
		}
		c.tests = append(c.tests, test)
	}
	for i, check := range s.Checks {
		test, err := r.compileTest(check)
		if err != nil {
			return c, within(fmt.Sprintf("check[%d]", i), err)
		}
		c.tests = append(c.tests, test)
	}
	for i := 1; i < len(c.tests); i++ {
		c.tests[i].shared = sharedNames(c.tests[i-1].path, c.tests[i].path)
	}
	if s.Scope != nil {
		scope, err := literal(s.Scope)
		if err != nil {
			return c, fmt.Errorf("%w: scope: %v", ErrInvalidRule, err)
		}
		c.scope = scope
	}
	for _, name := range s.Scopes {
		if name == "" || strings.ContainsAny(name, " \t\r\n") {
			return c, fmt.Errorf("%w: scope name %q is empty or has spaces", ErrInvalidRule, name)
		}
	}
	c.scopes = append([]string(nil), s.Scopes...)
	if s.Expr != "" {
		if env.Expressions == nil {
			return c, fmt.Errorf("%w: the rule has an expr, and the adapter has no expression engine: add WithExpressions(celexpr.New())", ErrInvalidRule)
		}
		x, err := env.Expressions.Compile(s.Expr, env.Request)
		if err != nil {
			return c, fmt.Errorf("%w: expr: %v", ErrInvalidRule, err)
		}
		if x == nil {
			return c, fmt.Errorf("%w: expr: the expression engine returned no expression", ErrInvalidRule)
		}
		c.expr, c.exprText = x, s.Expr
		r.readsRequest = r.readsRequest || x.ReadsRequest()
		if w, ok := x.(protojwt.WildcardReader); ok {
			for _, name := range w.Wildcards() {
				if !slices.Contains(r.exprWildcards, name) {
					r.exprWildcards = append(r.exprWildcards, name)
				}
			}
		}
	}
	if len(s.AnyOf) > 0 && depth >= maxAnyOfDepth {
		return c, fmt.Errorf("%w: any_of nested deeper than %d", ErrInvalidRule, maxAnyOfDepth)
	}
	for i, alt := range s.AnyOf {
		if alt.DryRun {
			return c, fmt.Errorf("%w: any_of[%d]: an alternative can't set dry_run: the whole rule is enforced or not", ErrInvalidRule, i)
		}
		if alt.Public || alt.TokenType != "" || alt.AllowMissing || alt.RequireBinding {
			return c, fmt.Errorf("%w: any_of[%d]: an alternative can't set public, allow_missing, token type or require_binding", ErrInvalidRule, i)
		}
		if len(alt.Claims) == 0 && len(alt.Checks) == 0 && alt.Scope == nil && len(alt.Scopes) == 0 && alt.Expr == "" &&
			len(alt.AnyOf) == 0 && len(alt.Issuers) == 0 && len(alt.Audiences) == 0 {
			return c, fmt.Errorf("%w: any_of[%d]: an empty alternative would always hold", ErrInvalidRule, i)
		}
		ac, err := r.compileCondition(alt, env, depth+1)
		if err != nil {
			return c, within(fmt.Sprintf("any_of[%d]", i), err)
		}
		c.anyOf = append(c.anyOf, ac)
	}
	return c, nil
}

// names checks the issuers or audiences of a rule, the part named: none
// may be empty, which no token's iss or aud names. It returns a copy.
func names(part string, list []string) ([]string, error) {
	for i, name := range list {
		if name == "" {
			return nil, fmt.Errorf("%w: %s[%d] is empty", ErrInvalidRule, part, i)
		}
	}
	return slices.Clone(list), nil
}

// compileTest compiles one claim test.
func (r *Rule) compileTest(ch Check) (claimTest, error) {
	t := claimTest{path: append([]string(nil), ch.Path...), op: ch.Op, varIndex: -1}
	where := pathText(ch.Path)
	switch {
	case len(ch.Path) == 0:
		return t, fmt.Errorf("%w: a claim check with an empty path", ErrInvalidRule)
	case len(ch.Path) > maxPathLength:
		return t, fmt.Errorf("%w: claim path %s is longer than %d names", ErrInvalidRule, where, maxPathLength)
	}
	for _, name := range ch.Path {
		if name == "" {
			return t, fmt.Errorf("%w: claim path %s has an empty name", ErrInvalidRule, where)
		}
	}
	def, ok := operatorOf(ch.Op)
	if !ok {
		return t, fmt.Errorf("%w: claim %s: the check has no test", ErrInvalidRule, where)
	}
	if err := def.compile(r, &t, ch, where); err != nil {
		return t, err
	}
	t.test = def.test
	t.label = label(ch)
	return t, nil
}

// sharedNames returns how many leading names paths a and b have in common,
// short of either's last name (the claim tested, not an object on the
// way), at most maxShared.
func sharedNames(a, b []string) int {
	n := 0
	for n < len(a)-1 && n < len(b)-1 && n < maxShared && a[n] == b[n] {
		n++
	}
	return n
}

// within returns err, an [ErrInvalidRule] of a part of a rule, saying which
// part: "invalid rule: any_of[1]: check[0]: claim ...", the sentinel's text
// once.
func within(part string, err error) error {
	rest, ok := strings.CutPrefix(err.Error(), ErrInvalidRule.Error()+": ")
	if !ok {
		return fmt.Errorf("%s: %w", part, err)
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalidRule, part, rest)
}

// literal returns a required value in the form claims have, checked: not
// null, finite, not nested too deep.
func literal(v any) (any, error) {
	n, err := normalize(v)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, errors.New("null, which no claim equals")
	}
	if jsonDepth(n) > maxScopeDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxScopeDepth)
	}
	return n, nil
}

// pathText writes a claim path for messages: ["realm_access" "roles"].
func pathText(path []string) string {
	if len(path) == 1 {
		return fmt.Sprintf("%q", path[0])
	}
	return fmt.Sprintf("%q", path)
}

// varIndex returns the index of the variable name, adding it when new.
func (r *Rule) varIndex(name string) int {
	r.readsRequest = true
	for i, v := range r.vars {
		if v == name {
			return i
		}
	}
	r.vars = append(r.vars, name)
	return len(r.vars) - 1
}

// normalize returns v as decoded JSON (objects map[string]any, arrays []any,
// numbers float64, or [json.Number] for integers a float64 can't hold
// exactly), the form verified claims have.
func normalize(v any) (any, error) {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, errors.New("not a finite number")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errors.New("not encodable as JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, errors.New("not encodable as JSON")
	}
	return exactNumbers(out), nil
}

// exactNumbers replaces the json.Numbers of v by float64 where a float64
// holds them exactly, as the manager decodes claims.
func exactNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		return exactNumber(t)
	case map[string]any:
		for k, e := range t {
			t[k] = exactNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = exactNumbers(e)
		}
	}
	return v
}

// Public reports whether the rule needs no token.
func (r *Rule) Public() bool { return r.public }

// DryRun reports whether the rule is decided and reported but never
// enforced.
func (r *Rule) DryRun() bool { return r.dryRun }

// AllowMissing reports whether a call with no token is allowed.
func (r *Rule) AllowMissing() bool { return r.allowMissing }

// RequireBinding reports whether the rule lets only sender-constrained
// tokens through.
func (r *Rule) RequireBinding() bool { return r.requireBinding }

// TokenType is the token type the rule requires ("" for a public rule).
func (r *Rule) TokenType() manager.TokenType { return r.tokenType }

// Vars returns the names of the request variables the rule compares claims
// with, in the order Vars.Var indexes them. The caller must not modify it.
func (r *Rule) Vars() []string { return r.vars }

// ExprWildcards returns the HTTP path wildcards the rule's expressions read,
// as far as their engine can tell (see [protojwt.WildcardReader]).
func (r *Rule) ExprWildcards() []string { return r.exprWildcards }

// ReadsRequest reports whether some part of the rule reads the request (a
// claim bound to a request variable, an expression that reads request), so
// that every message of a stream must be checked, not only its start.
func (r *Rule) ReadsRequest() bool { return r.readsRequest }
