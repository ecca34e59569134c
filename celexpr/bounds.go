package celexpr

import (
	"errors"
	"fmt"

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
