package celexpr

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
)

// DefaultCostLimit is the cost limit of an Engine made without
// [WithCostLimit]: the most CEL cost units one evaluation of an expression
// that loops may spend. Reading a variable or a field, or comparing two
// values, costs about one unit, so a loop over a repeated field spends a
// few per element: 10 000 lets a rule look through a request's thousand
// items, and stops, denied, one that loops over a client's hundred thousand
// or over its thousand twice nested.
const DefaultCostLimit = 10_000

// The variables an expression sees.
const (
	varClaims  = "claims"
	varRequest = "request"
	varPath    = "path"
)

// Engine compiles the expr of rules with CEL, for the adapters'
// WithExpressions option. It implements [protojwt.Expressions]. Compile is
// safe for concurrent use, and so are the expressions it returns. The zero
// Engine is New() with no options.
type Engine struct {
	costLimit uint64
	envOpts   []cel.EnvOption
	optErr    error // a bad option, reported by every Compile

	// celNodesOnly plans every expression with CEL's nodes alone, without
	// directComparisons: the reference its tests compare with.
	celNodesOnly bool

	baseOnce sync.Once
	base     *cel.Env // claims, the standard library and the caller's options
	baseErr  error

	mu    sync.Mutex
	files map[protoreflect.FileDescriptor]*cel.Env    // with the file's types
	envs  map[protoreflect.MessageDescriptor]*cel.Env // by request; nil: HTTP
}

var _ protojwt.Expressions = (*Engine)(nil)

// New returns an Engine. It returns no error so that it can be written
// inline, as in interceptor.WithExpressions(celexpr.New()): an option with a
// bad value makes every Compile fail, so the adapter refuses to start and
// says why.
func New(opts ...Option) *Engine {
	e := &Engine{costLimit: DefaultCostLimit}
	var errs []error
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(e); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		e.optErr = fmt.Errorf("%w: %w", protojwt.ErrInvalidOption, errors.Join(errs...))
	}
	return e
}

// Compile parses and type-checks expr, which must be a bool. request is the
// descriptor of the method's request message (gRPC and connect): expr sees
// it as request, with its fields checked now. A nil request is an HTTP
// route: expr sees its path wildcards as path, a map<string, string>.
// Either way expr sees the token's claims as claims, a map<string, dyn>.
func (e *Engine) Compile(expr string, request protoreflect.MessageDescriptor) (protojwt.Expression, error) {
	if e == nil {
		return nil, errors.New("celexpr: nil Engine: use celexpr.New()")
	}
	if e.optErr != nil {
		return nil, e.optErr
	}
	env, err := e.env(request)
	if err != nil {
		return nil, err
	}
	checked, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, compileError(env, expr, request, iss.Err())
	}
	if out := checked.OutputType(); !out.IsExactType(cel.BoolType) {
		if out.IsExactType(cel.DynType) {
			return nil, fmt.Errorf("the expression's type is dyn, not bool: compare it, as in %s == true", expr)
		}
		return nil, fmt.Errorf("the expression's type is %s, not bool", out)
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if len(e.envOpts) > 0 || !linear(checked.NativeRep()) {
		limit := e.costLimit
		if limit == 0 { // the zero Engine
			limit = DefaultCostLimit
		}
		opts = append(opts, cel.CostLimit(limit))
		opts = append(opts, boundedCalls(env, checked.NativeRep(), limit)...)
	} else if !e.celNodesOnly {
		opts = append(opts, cel.CustomDecoratorV2(directComparisons(request)))
	}
	prg, err := env.Program(checked, opts...)
	if err != nil {
		return nil, fmt.Errorf("celexpr: %w", err)
	}
	x := &expression{
		prg:          prg,
		ast:          checked.NativeRep(),
		readsRequest: reads(checked.NativeRep(), varRequest, varPath),
	}
	if request == nil {
		x.wildcards = pathKeys(checked.NativeRep())
	}
	return x, nil
}

// env returns the environment of expressions about request, built once per
// descriptor.
func (e *Engine) env(request protoreflect.MessageDescriptor) (*cel.Env, error) {
	e.baseOnce.Do(func() {
		opts := []cel.EnvOption{
			cel.Variable(varClaims, cel.MapType(cel.StringType, cel.DynType)),
			cel.CrossTypeNumericComparisons(true),
		}
		opts = append(opts, e.envOpts...)
		// Validating now reports a conflict of the caller's options as
		// theirs, not as the first expression's.
		opts = append(opts, cel.EagerlyValidateDeclarations(true), withClaimAdapter())
		e.base, e.baseErr = cel.NewEnv(opts...)
		if e.baseErr != nil {
			e.baseErr = fmt.Errorf("%w: celexpr: WithEnvOptions: %w", protojwt.ErrInvalidOption, e.baseErr)
		}
	})
	if e.baseErr != nil {
		return nil, e.baseErr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.envs == nil {
		e.files = make(map[protoreflect.FileDescriptor]*cel.Env)
		e.envs = make(map[protoreflect.MessageDescriptor]*cel.Env)
	}
	if env, ok := e.envs[request]; ok {
		return env, nil
	}
	var env *cel.Env
	var err error
	if request == nil {
		env, err = e.base.Extend(cel.Variable(varPath, cel.MapType(cel.StringType, cel.StringType)), withClaimAdapter())
	} else {
		// The types of a file (and its imports) are registered once for all
		// its methods, whose requests then cost one variable each.
		file, ok := e.files[request.ParentFile()]
		if !ok {
			file, err = e.base.Extend(cel.TypeDescs(request.ParentFile()), withClaimAdapter())
			if err != nil {
				return nil, fmt.Errorf("celexpr: registering the types of %s: %w", request.ParentFile().Path(), err)
			}
			e.files[request.ParentFile()] = file
		}
		env, err = file.Extend(cel.Variable(varRequest, cel.ObjectType(string(request.FullName()))), withClaimAdapter())
	}
	if err != nil {
		return nil, fmt.Errorf("celexpr: declaring the request: %w", err)
	}
	e.envs[request] = env
	return env, nil
}

// compileError is CEL's message for expr, after a hint when expr names the
// variable of the other kind of adapter.
func compileError(env *cel.Env, expr string, request protoreflect.MessageDescriptor, err error) error {
	msg := strings.TrimSpace(err.Error())
	parsed, iss := env.Parse(expr)
	if iss.Err() != nil {
		return errors.New(msg)
	}
	switch {
	case request == nil && reads(parsed.NativeRep(), varRequest):
		return fmt.Errorf("an HTTP route has no request message: its expressions see claims and path\n%s", msg)
	case request != nil && reads(parsed.NativeRep(), varPath):
		return fmt.Errorf("an RPC has no path: its expressions see claims and request (%s)\n%s", request.FullName(), msg)
	}
	return errors.New(msg)
}

// linear reports whether a runs in time linear in the size of its
// variables, so that its cost needs no tracking: it has no comprehension
// (all, exists, exists_one, map, filter), and every regular expression it
// matches is a literal, compiled once. Matching a pattern read from the
// request costs the product of two sizes the client chooses, and a loop the
// product of its iterations and its body. The functions are those of CEL's
// standard library: the caller says so by giving no [WithEnvOptions].
func linear(a *ast.AST) bool {
	ok := true
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		switch x.Kind() {
		case ast.ComprehensionKind:
			ok = false
		case ast.CallKind:
			call := x.AsCall()
			if call.FunctionName() != overloads.Matches {
				return
			}
			args := call.Args()
			if len(args) == 0 || args[len(args)-1].Kind() != ast.LiteralKind {
				ok = false
			}
		}
	}))
	return ok
}

// reads reports whether a names any of the variables, as name or, in the
// root scope, .name. A comprehension variable of the same name counts too:
// erring that way only makes a stream check more messages.
func reads(a *ast.AST, names ...string) bool {
	found := false
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		if found || x.Kind() != ast.IdentKind {
			return
		}
		for _, name := range names {
			if strings.TrimPrefix(x.AsIdent(), ".") == name {
				found = true
			}
		}
	}))
	return found
}

// pathKeys returns the keys of path that a reads as path.name or
// path["name"], except those it tests with has(path.name) or "name" in
// path: the path wildcards a route must have for a to read them. It
// returns none when a declares a comprehension variable named path, which
// hides the variable.
func pathKeys(a *ast.AST) []string {
	var read, tested []string
	shadowed := false
	isPath := func(x ast.Expr) bool {
		return x.Kind() == ast.IdentKind && strings.TrimPrefix(x.AsIdent(), ".") == varPath
	}
	literal := func(x ast.Expr) (string, bool) {
		if x.Kind() != ast.LiteralKind {
			return "", false
		}
		s, ok := x.AsLiteral().Value().(string)
		return s, ok
	}
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		switch x.Kind() {
		case ast.SelectKind:
			sel := x.AsSelect()
			if !isPath(sel.Operand()) {
				return
			}
			if sel.IsTestOnly() {
				tested = append(tested, sel.FieldName())
			} else {
				read = append(read, sel.FieldName())
			}
		case ast.CallKind:
			call := x.AsCall()
			args := call.Args()
			if len(args) != 2 {
				return
			}
			switch call.FunctionName() {
			case operators.Index:
				if key, ok := literal(args[1]); ok && isPath(args[0]) {
					read = append(read, key)
				}
			case operators.In:
				if key, ok := literal(args[0]); ok && isPath(args[1]) {
					tested = append(tested, key)
				}
			}
		case ast.ComprehensionKind:
			c := x.AsComprehension()
			for _, v := range []string{c.IterVar(), c.IterVar2(), c.AccuVar()} {
				shadowed = shadowed || v == varPath
			}
		}
	}))
	if shadowed {
		return nil
	}
	var keys []string
	for _, k := range read {
		if !slices.Contains(tested, k) && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}
