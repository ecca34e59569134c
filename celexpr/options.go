package celexpr

import (
	"errors"

	"github.com/google/cel-go/cel"
)

// An Option changes how New builds an Engine. Options are applied in order;
// an option with a bad value makes every Compile return an error wrapping
// [protojwt.ErrInvalidOption].
type Option interface {
	apply(*Engine) error
}

// optionFunc adapts a function to Option.
type optionFunc func(*Engine) error

func (f optionFunc) apply(e *Engine) error { return f(e) }

// WithCostLimit sets the most CEL cost units one evaluation may spend: an
// expression that reaches it stops and denies the call with the reason
// [protojwt.ReasonExpressionError]. It bounds what a client can make an
// expression do, such as a comprehension over a repeated field it filled.
// The limit applies to the expressions whose cost can grow faster than
// their input: those with a comprehension (all, exists, exists_one, map,
// filter), those that match a regular expression not written in the
// expression, and all of them when [WithEnvOptions] is given. The others run
// in time linear in the claims and the request, and are not tracked, which
// keeps them fast. A call whose work grows with its arguments (matches, and
// the functions of cel-go's ext libraries) is priced before it runs and
// refused when the price exceeds the limit, so an evaluation spends at most
// about twice the limit. Zero is an error. By default, the limit is
// [DefaultCostLimit].
func WithCostLimit(limit uint64) Option {
	return optionFunc(func(e *Engine) error {
		if limit == 0 {
			return errors.New("celexpr: WithCostLimit: a zero limit would deny every call")
		}
		e.costLimit = limit
		return nil
	})
}

// WithEnvOptions adds CEL environment options to every expression's
// environment, such as the extension libraries of package
// github.com/google/cel-go/ext (ext.Strings(), ext.Sets()) or constants of
// the application ([cel.Constant]). An option that redeclares claims, request
// or path makes Compile fail; a variable it declares has no value when an
// expression runs, so reading it is an evaluation error, which denies. The option may be given several times. By default,
// expressions have CEL's standard library and the variables claims, and
// request or path.
func WithEnvOptions(opts ...cel.EnvOption) Option {
	return optionFunc(func(e *Engine) error {
		for _, opt := range opts {
			if opt == nil {
				return errors.New("celexpr: WithEnvOptions: nil option")
			}
		}
		e.envOpts = append(e.envOpts, opts...)
		return nil
	})
}
