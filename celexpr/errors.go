package celexpr

import (
	"errors"
	"regexp"
	"strings"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// An evaluation error reaches [protojwt.Decision.Err], and from there logs
// and audit records, which never hold claim values. Some of CEL's error
// messages quote the values they failed on: int(claims.pin) on a claim
// "s3cret" says `strconv.ParseInt: parsing "s3cret": invalid syntax`, an
// index out of range says the index, a bad regular expression quotes it,
// and claims[claims.tenant] names a key that is a claim's value. An error
// keeps CEL's message only when the message is one of the forms below,
// which hold names and types only: the names the expression itself spells
// (its fields, keys, variables, functions and string literals), which the
// rule shows to anyone who reads the API; for any other message, the
// error says where the expression failed (the function, operator, field or
// variable) and withholds the rest.

// fixedMessages are CEL's error messages that hold no value.
var fixedMessages = map[string]bool{
	"division by zero":                                true,
	"modulus by zero":                                 true,
	"integer overflow":                                true,
	"unsigned integer overflow":                       true,
	"duration overflow":                               true,
	"timestamp overflow":                              true,
	"no such overload":                                true,
	"optional.none() dereference":                     true,
	"operation cancelled: actual cost limit exceeded": true,
	"type conversion error":                           true,
}

var (
	// overloadMessage is CEL's "no such overload" with function names,
	// overload IDs and types.
	overloadMessage = regexp.MustCompile(`^(no such overload|found no matching overload)[\w .:,()<>\[\]'_-]*$`)
	// conversionMessage is a conversion error between two types.
	conversionMessage = regexp.MustCompile(`^type conversion error from '[\w.]+' to '[\w.*]+'$`)
	// nameMessages are messages that end with one name: shown when the
	// expression spells it.
	nameMessages = []string{"no such key: ", "no such field: ", "no such attribute(s): "}
	// quotedNameMessage is "no such field 'name'".
	quotedNameMessage = regexp.MustCompile(`^no such field '([^']*)'$`)
	// indexMessage is an index out of range, with the index and size.
	indexMessage = regexp.MustCompile(`^index\b.*\bout of (range|bounds)\b`)
)

// evalError returns err, the error of an evaluation of x, as the error Eval
// returns: CEL's message when it holds no value, or one that says where the
// evaluation failed.
func (x *expression) evalError(err error) error {
	if errors.Is(err, errCostLimit) {
		return err // says the function, from the bounds
	}
	msg := err.Error()
	if fixedMessages[msg] || overloadMessage.MatchString(msg) || conversionMessage.MatchString(msg) {
		return errors.New("celexpr: " + msg)
	}
	if errors.Is(err, errClaimRange) || errors.Is(err, errClaimNumber) {
		return errors.New(msg)
	}
	if indexMessage.MatchString(msg) {
		return errors.New("celexpr: index out of range")
	}
	for _, prefix := range nameMessages {
		if name, ok := strings.CutPrefix(msg, prefix); ok {
			if x.spells(name, prefix == "no such attribute(s): ") {
				return errors.New("celexpr: " + msg)
			}
			return errors.New("celexpr: " + strings.TrimSuffix(prefix, ": ") + " (a name the expression does not spell, withheld)")
		}
	}
	if m := quotedNameMessage.FindStringSubmatch(msg); m != nil {
		if x.spells(m[1], false) {
			return errors.New("celexpr: " + msg)
		}
		return errors.New("celexpr: no such field (a name the expression does not spell, withheld)")
	}
	var celErr *types.Err
	where := "the expression"
	if errors.As(err, &celErr) {
		where = x.where(celErr.NodeID())
	}
	return errors.New("celexpr: " + where + " failed (CEL's message is withheld: it may hold a claim's value)")
}

// spells reports whether name is a name x's text spells: an identifier,
// a field, a function or a string literal. A qualified name, as an
// attribute is written ("claims.tier"), is spelled when each part is.
func (x *expression) spells(name string, qualified bool) bool {
	if name == "" {
		return false
	}
	spelled := map[string]bool{}
	ast.PreOrderVisit(x.ast.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.IdentKind:
			spelled[strings.TrimPrefix(e.AsIdent(), ".")] = true
		case ast.SelectKind:
			spelled[e.AsSelect().FieldName()] = true
		case ast.CallKind:
			spelled[e.AsCall().FunctionName()] = true
		case ast.LiteralKind:
			if s, ok := e.AsLiteral().Value().(string); ok {
				spelled[s] = true
			}
		}
	}))
	if spelled[name] || !qualified {
		return spelled[name]
	}
	for _, part := range strings.Split(strings.Trim(name, "[]"), ".") {
		if !spelled[strings.TrimPrefix(part, ".")] {
			return false
		}
	}
	return true
}

// where names the node of x with id: a function as name(), an operator by
// its symbol, a field as .name, a variable by its name.
func (x *expression) where(id int64) string {
	where := "the expression"
	ast.PreOrderVisit(x.ast.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.ID() != id {
			return
		}
		switch e.Kind() {
		case ast.CallKind:
			fn := e.AsCall().FunctionName()
			if symbol, ok := operators.FindReverse(fn); ok {
				where = "operator " + symbol
			} else if fn == operators.Index {
				where = "index"
			} else {
				where = fn + "()"
			}
		case ast.SelectKind:
			where = "." + e.AsSelect().FieldName()
		case ast.IdentKind:
			where = e.AsIdent()
		}
	}))
	return where
}
