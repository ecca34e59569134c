package celexpr

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/functions"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// CEL compares an evaluation's cost with its limit after each call returns,
// and counts most functions of its extensions as one unit whatever their
// input: a call that matches a request's text against a request's pattern,
// or that replaces a substring of a large request, runs and allocates in
// full before the limit is looked at. The functions below are bounded
// before they run instead: their cost is computed from the sizes of their
// arguments, and a call that would cost more than the limit is refused
// without running. The same cost is then counted against the limit, so
// that a loop of calls stops too. An evaluation therefore spends at most
// about twice its limit: what it had spent, under the limit, and one last
// call, at most the limit.
//
// Costs are in CEL's units: a tenth of a unit per byte a call reads or
// writes (CEL's string traversal factor), and for a regular expression,
// the text's units times a quarter unit per instruction of the compiled
// pattern (CEL's regex factor), where CEL counts the pattern's length.

// errCostLimit is the error of a call refused before it runs.
var errCostLimit = errors.New("would exceed the cost limit")

// A callBound returns an upper bound of the cost of a call with args: the
// time it runs and the memory it allocates. It may stop counting once the
// bound is above limit. Arguments of types it does not expect cost 0: the
// function reports them.
type callBound func(args []ref.Val, limit uint64) uint64

// elementUnits is the cost of one element of a list a call builds: a CEL
// value and its place in the list, about 40 bytes.
const elementUnits = 4

// numberBytes is the most a number takes when formatted, without its
// precision: a float64 written with %f has up to 309 digits before the point.
const numberBytes = 340

// boundsByOverload holds the bounded functions by overload ID: the
// standard library's matches, and the string, encoder, regex and list
// functions of package github.com/google/cel-go/ext.
var boundsByOverload = map[string]callBound{
	"matches":                                matchesCost,
	"matches_string":                         matchesCost,
	"string_char_at_int":                     runesCost,
	"string_index_of_string":                 searchCost,
	"string_index_of_string_int":             searchCost,
	"string_last_index_of_string":            searchCost,
	"string_last_index_of_string_int":        searchCost,
	"string_lower_ascii":                     copyCost,
	"string_upper_ascii":                     copyCost,
	"string_trim":                            copyCost,
	"string_reverse":                         runesCost,
	"string_substring_int":                   runesCost,
	"string_substring_int_int":               runesCost,
	"string_replace_string_string":           replaceCost,
	"string_replace_string_string_int":       replaceCost,
	"string_split_string":                    splitCost,
	"string_split_string_int":                splitCost,
	"list_join":                              joinCost,
	"list_join_string":                       joinCost,
	"string_format":                          formatCost,
	"strings_quote":                          quoteCost,
	"base64_encode_bytes":                    copyCost,
	"base64_decode_string":                   copyCost,
	"regex_extract_string_string":            regexCost,
	"regex_extractAll_string_string":         extractAllCost,
	"regex_replace_string_string_string":     regexReplaceCost,
	"regex_replace_string_string_string_int": regexReplaceCost,
	"lists_range":                            rangeCost,
}

// boundsByFunction holds the bounded functions by name, for a call whose
// overload is chosen at run time (an argument of type dyn): a function is
// bounded that way when every overload the environment declares for it is
// one of boundsByOverload, which all share the function's bound.
var boundsByFunction = map[string]callBound{
	"matches":       matchesCost,
	"indexOf":       searchCost,
	"lastIndexOf":   searchCost,
	"substring":     runesCost,
	"replace":       replaceCost,
	"split":         splitCost,
	"join":          joinCost,
	"regex.replace": regexReplaceCost,
}

// boundedCalls returns the program options that bound the calls of a to
// the functions above, with the implementations env gives them, or none
// when a calls none of them. A matches whose pattern is a literal is left
// alone: CEL compiles the pattern once, and the call is linear in the text.
func boundedCalls(env *cel.Env, a *ast.AST, limit uint64) []cel.ProgramOption {
	names := calledFunctions(a)
	if len(names) == 0 {
		return nil
	}
	decls := env.Functions()
	impls := map[string]functions.FunctionOp{} // by overload ID or name
	byName := map[string]bool{}                // bounded when dispatched by name
	for name := range names {
		fn, ok := decls[name]
		if !ok {
			continue
		}
		bindings, err := fn.Bindings()
		if err != nil {
			continue
		}
		for _, o := range bindings {
			if op := functionOp(o); op != nil {
				impls[o.Operator] = op
			}
		}
		all := len(fn.OverloadDecls()) > 0
		for _, o := range fn.OverloadDecls() {
			_, known := boundsByOverload[o.ID()]
			all = all && known
		}
		_, named := boundsByFunction[name]
		byName[name] = all && named
	}
	decorate := func(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
		call, ok := i.(interpreter.InterpretableCall)
		if !ok {
			return i, nil
		}
		id, bound := call.OverloadID(), boundsByOverload[call.OverloadID()]
		if id == "" && byName[call.Function()] {
			id, bound = call.Function(), boundsByFunction[call.Function()]
		}
		impl := impls[id]
		if impl == nil { // a singleton binding, as matches has
			impl = impls[call.Function()]
		}
		if bound == nil || impl == nil {
			return i, nil
		}
		args := call.Args()
		if call.Function() == "matches" {
			if len(args) == 2 {
				if _, literal := args[1].(interpreter.InterpretableConst); literal {
					return i, nil
				}
			}
			impl = matchImpl(impl)
		}
		fn := call.Function()
		// The call's own overload ID would price it twice, and a literal
		// pattern's call, which is not wrapped, too.
		return interpreter.NewCall(call.ID(), fn, boundedID(id), args, func(args ...ref.Val) ref.Val {
			if bound(args, limit) > limit {
				return types.WrapErr(fmt.Errorf("celexpr: %s() %w", fn, errCostLimit))
			}
			return impl(args...)
		}), nil
	}
	trackers := make([]interpreter.CostTrackerOption, 0, len(boundsByOverload)+len(boundsByFunction))
	for _, m := range []map[string]callBound{boundsByOverload, boundsByFunction} {
		for id, bound := range m {
			trackers = append(trackers, interpreter.OverloadCostTracker(boundedID(id), func(args []ref.Val, result ref.Val) *uint64 {
				c := uint64(1) // a call refused did not run
				if err, ok := result.(*types.Err); !ok || !errors.Is(err, errCostLimit) {
					c = bound(args, limit)
				}
				return &c
			}))
		}
	}
	return []cel.ProgramOption{cel.CustomDecoratorV2(decorate), cel.CostTrackerOptions(trackers...)}
}

// boundedID is the overload ID of a bounded call to the overload id (or
// the function of that name), the key of its price for the cost tracker.
func boundedID(id string) string { return "celexpr.bounded:" + id }

// calledFunctions returns the names of the bounded functions a calls.
func calledFunctions(a *ast.AST) map[string]bool {
	var names map[string]bool
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		if x.Kind() != ast.CallKind {
			return
		}
		name := x.AsCall().FunctionName()
		if _, ok := boundsByFunction[name]; ok || boundedName(name) {
			if names == nil {
				names = map[string]bool{}
			}
			names[name] = true
		}
	}))
	return names
}

// boundedName reports whether name is the name of a function with an
// overload in boundsByOverload.
func boundedName(name string) bool {
	switch name {
	case "charAt", "lowerAscii", "upperAscii", "trim", "reverse", "format", "strings.quote",
		"base64.encode", "base64.decode", "regex.extract", "regex.extractAll", "lists.range":
		return true
	}
	return false
}

// functionOp returns o's implementation as a FunctionOp.
func functionOp(o *functions.Overload) functions.FunctionOp {
	switch {
	case o.Function != nil:
		return o.Function
	case o.Binary != nil:
		return func(args ...ref.Val) ref.Val {
			if len(args) != 2 {
				return types.NoSuchOverloadErr()
			}
			return o.Binary(args[0], args[1])
		}
	case o.Unary != nil:
		return func(args ...ref.Val) ref.Val {
			if len(args) != 1 {
				return types.NoSuchOverloadErr()
			}
			return o.Unary(args[0])
		}
	}
	return nil
}

// matchImpl guards the standard library's matches, whose implementation
// expects CEL to have checked its receiver's type.
func matchImpl(impl functions.FunctionOp) functions.FunctionOp {
	return func(args ...ref.Val) ref.Val {
		if len(args) != 2 {
			return types.NoSuchOverloadErr()
		}
		if _, ok := args[0].(traits.Matcher); !ok {
			return types.MaybeNoSuchOverloadErr(args[0])
		}
		return impl(args...)
	}
}

// units is the cost of reading or writing n bytes, at least one.
func units(n uint64) uint64 { return n/10 + 1 }

// add and mul saturate at the largest uint64: costs compare with a limit.
func add(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

func mul(a, b uint64) uint64 {
	if a != 0 && b > ^uint64(0)/a {
		return ^uint64(0)
	}
	return a * b
}

// text returns the bytes of a string or bytes argument.
func text(args []ref.Val, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	switch v := args[i].(type) {
	case types.String:
		return string(v), true
	case types.Bytes:
		return string(v), true
	}
	return "", false
}

// count returns the int argument i, or -1 when there is none.
func count(args []ref.Val, i int) int64 {
	if i < len(args) {
		if n, ok := args[i].(types.Int); ok {
			return int64(n)
		}
	}
	return -1
}

// copyCost bounds a function that reads its text and writes one about as
// long: case mapping, trim, base64.
func copyCost(args []ref.Val, _ uint64) uint64 {
	s, ok := text(args, 0)
	if !ok {
		return 0
	}
	return units(2 * uint64(len(s)))
}

// runesCost bounds a function that converts its text to runes, four bytes
// each, and writes a result at most as long.
func runesCost(args []ref.Val, _ uint64) uint64 {
	s, ok := text(args, 0)
	if !ok {
		return 0
	}
	return units(6 * uint64(len(s)))
}

// searchCost bounds indexOf and lastIndexOf, which compare the substring
// at every position of the text, rune by rune.
func searchCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	sub, ok2 := text(args, 1)
	if !ok1 || !ok2 {
		return 0
	}
	return add(runesCost(args, limit), mul(units(uint64(len(s))), units(uint64(len(sub)))))
}

// quoteCost bounds strings.quote: an escape or a replaced invalid byte
// writes up to three bytes for one.
func quoteCost(args []ref.Val, _ uint64) uint64 {
	s, ok := text(args, 0)
	if !ok {
		return 0
	}
	return units(4*uint64(len(s)) + 2)
}

// replaceCost bounds replace: the text read, and the result, in which each
// replaced occurrence (at most the count given) takes the new string's
// length. An empty old string occurs before every rune and at the end.
func replaceCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	old, ok2 := text(args, 1)
	repl, ok3 := text(args, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0
	}
	read := units(uint64(len(s)))
	if read > limit {
		return read
	}
	var n uint64
	if old == "" {
		n = uint64(utf8.RuneCountInString(s)) + 1
	} else {
		n = uint64(strings.Count(s, old))
	}
	if max := count(args, 3); max >= 0 && uint64(max) < n {
		n = uint64(max)
	}
	return add(read, units(add(uint64(len(s)), mul(n, uint64(len(repl))))))
}

// splitCost bounds split: the text read, and a list of its parts (at most
// the count given). An empty separator splits every rune.
func splitCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	sep, ok2 := text(args, 1)
	if !ok1 || !ok2 {
		return 0
	}
	read := units(2 * uint64(len(s)))
	if read > limit {
		return read
	}
	var n uint64
	if sep == "" {
		n = uint64(utf8.RuneCountInString(s))
	} else {
		n = uint64(strings.Count(s, sep)) + 1
	}
	if max := count(args, 2); max >= 0 && uint64(max) < n {
		n = uint64(max)
	}
	return add(read, mul(n, elementUnits))
}

// joinCost bounds join: the list read, and the result, its strings and a
// separator between each two.
func joinCost(args []ref.Val, limit uint64) uint64 {
	if len(args) == 0 {
		return 0
	}
	l, ok := args[0].(traits.Lister)
	if !ok {
		return 0
	}
	size, ok := l.Size().(types.Int)
	if !ok || size < 0 {
		return 0
	}
	n := uint64(size)
	if n > limit {
		return n
	}
	sep, _ := text(args, 1)
	total := mul(n, uint64(len(sep)))
	for i := range n {
		s, ok := l.Get(types.Int(i)).(types.String)
		if !ok {
			return 0 // join reports it
		}
		total = add(total, uint64(len(s)))
	}
	return add(n, units(total))
}

// formatCost bounds format: the format string read, and the result, the
// formatted arguments and the padding their precisions ask for.
func formatCost(args []ref.Val, limit uint64) uint64 {
	f, ok := text(args, 0)
	if !ok || len(args) < 2 {
		return 0
	}
	read := units(uint64(len(f)))
	if read > limit {
		return read
	}
	precision := uint64(0)
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) || f[i+1] != '.' {
			continue
		}
		p := uint64(0)
		for j := i + 2; j < len(f) && f[j] >= '0' && f[j] <= '9'; j++ {
			p = add(mul(p, 10), uint64(f[j]-'0'))
		}
		precision = add(precision, p)
	}
	budget := mul(limit, 10) // bytes
	out := formattedBytes(args[1], precision, budget, 0)
	return add(read, units(add(add(uint64(len(f)), precision), out)))
}

// formattedBytes bounds the length of v formatted by format, with numbers
// padded to precision, counting no further than budget.
func formattedBytes(v ref.Val, precision, budget uint64, depth int) uint64 {
	switch v := v.(type) {
	case types.String:
		return uint64(len(v))
	case types.Bytes:
		return 2 * uint64(len(v))
	case types.Int, types.Uint, types.Double:
		return numberBytes + precision
	case traits.Lister:
		return containerBytes(v.Iterator(), nil, precision, budget, depth)
	case traits.Mapper:
		return containerBytes(v.Iterator(), v, precision, budget, depth)
	}
	return numberBytes
}

// containerBytes sums formattedBytes over a list's elements, or a map's
// keys and values, with two bytes of punctuation each.
func containerBytes(it traits.Iterator, m traits.Mapper, precision, budget uint64, depth int) uint64 {
	if depth > 32 {
		return budget + 1
	}
	total := uint64(2)
	for it.HasNext() == types.True && total <= budget {
		k := it.Next()
		total = add(total, add(2, formattedBytes(k, precision, budget, depth+1)))
		if m != nil {
			if v, found := m.Find(k); found {
				total = add(total, add(2, formattedBytes(v, precision, budget, depth+1)))
			}
		}
	}
	return total
}

// regexCost bounds a regular expression over a text: the text's units
// times the pattern's compiled size. The pattern is parsed only when its
// length alone keeps the bound under limit, so a long pattern costs
// nothing to refuse.
func regexCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	pattern, ok2 := text(args, 1)
	if !ok1 || !ok2 {
		return 0
	}
	read := units(uint64(len(s)) + 1)
	lower := mul(read, uint64(len(pattern))/4+1)
	if lower > limit {
		return lower
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return lower // the function reports the error
	}
	return mul(read, programSize(re)/4+1)
}

// matchesCost bounds matches(text, pattern).
func matchesCost(args []ref.Val, limit uint64) uint64 { return regexCost(args, limit) }

// extractAllCost bounds regex.extractAll: the match, and a list of at most
// one element per position of the text.
func extractAllCost(args []ref.Val, limit uint64) uint64 {
	s, _ := text(args, 0)
	return add(regexCost(args, limit), mul(uint64(len(s))+1, elementUnits))
}

// regexReplaceCost bounds regex.replace(text, pattern, replacement[, n]):
// the match, and a result in which each match (at most one per position,
// and at most n) becomes the replacement, whose group references (\1) can
// each take the whole text.
func regexReplaceCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	repl, ok2 := text(args, 2)
	if !ok1 || !ok2 {
		return 0
	}
	c := regexCost(args, limit)
	if c > limit {
		return c
	}
	n := uint64(len(s)) + 1
	if max := count(args, 3); max >= 0 && uint64(max) < n {
		n = uint64(max)
	}
	refs := uint64(strings.Count(repl, `\`))
	each := add(uint64(len(repl)), mul(refs, uint64(len(s))))
	return add(c, units(add(uint64(len(s)), mul(n, each))))
}

// rangeCost bounds lists.range(n): a list of n elements.
func rangeCost(args []ref.Val, _ uint64) uint64 {
	n := count(args, 0)
	if n < 0 {
		return 0
	}
	return mul(uint64(n), elementUnits)
}

// programSize bounds the number of instructions of re compiled: a
// repetition counts its body as many times as it may run, as the compiler
// writes it out.
func programSize(re *syntax.Regexp) uint64 {
	switch re.Op {
	case syntax.OpLiteral:
		return uint64(len(re.Rune)) + 1
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		return mul(uint64(n)+1, programSize(re.Sub[0])+1)
	}
	size := uint64(2)
	for _, sub := range re.Sub {
		size = add(size, programSize(sub))
	}
	return size
}
