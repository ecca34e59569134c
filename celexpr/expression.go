package celexpr

import (
	"fmt"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/interpreter"

	"github.com/protojwt/protojwt"
)

// expression is a compiled, type-checked expr. A [cel.Program] is safe for
// concurrent use; each Eval has its own activation and cost tracker, so
// calls share nothing mutable.
type expression struct {
	prg          cel.Program
	ast          *ast.AST // the checked expression, for its error messages
	readsRequest bool
	wildcards    []string // HTTP: the path keys read, see pathKeys
}

var (
	_ protojwt.Expression     = (*expression)(nil)
	_ protojwt.WildcardReader = (*expression)(nil)
)

// Eval evaluates the expression on one call. An error (a missing claim or
// request, a value of the wrong type at run time, the cost limit reached)
// denies the call; its message holds no value of the claims or the
// request, see evalError.
func (x *expression) Eval(in protojwt.ExpressionInput) (bool, error) {
	a := activations.Get().(*activation)
	a.in = in
	out, _, err := x.prg.Eval(a)
	a.in = protojwt.ExpressionInput{} // holds no call's data while pooled
	activations.Put(a)
	if err != nil {
		return false, x.evalError(err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("celexpr: the expression is %s, not bool", out.Type())
	}
	return bool(b), nil
}

// ReadsRequest reports whether the expression reads request or path.
func (x *expression) ReadsRequest() bool { return x.readsRequest }

// Wildcards returns the path wildcards an HTTP expression reads without
// testing for them (path.name, path["name"]); none for an RPC's.
func (x *expression) Wildcards() []string { return x.wildcards }

// activations are reused: an evaluation's activation is not referenced
// once Eval returns, since the result is a bool.
var activations = sync.Pool{New: func() any { return new(activation) }}

// activation gives one evaluation its variables as they are: CEL reads
// into the claims map and the request message, and converts with the
// environment's claimAdapter only the values the expression reaches.
type activation struct {
	in protojwt.ExpressionInput
}

// ResolveName returns the variable name. A request that is absent, or not
// a message, is absent: reading it is an evaluation error, which denies.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case varClaims:
		return a.in.Claims, true
	case varRequest:
		m := a.in.Request
		if m == nil || !m.ProtoReflect().IsValid() {
			return nil, false
		}
		return m, true
	case varPath:
		return a.in.Path, true
	}
	return nil, false
}

// Parent returns nil: an activation stands alone.
func (a *activation) Parent() interpreter.Activation { return nil }
