package celexpr

import (
	"encoding/json"
	"math/big"
	"strconv"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// claimAdapter is the adapter of every expression's environment. It
// converts decoded JSON claims to CEL values, as CEL converts
// google.protobuf.Value: strings, booleans, null, lists, maps, and numbers
// as double. The exception is an integer above 2^53, which the token's
// decoding keeps exact as a json.Number because a double can't hold it: it
// becomes an int, or a uint above int64's range, so that
// claims.account == 1234567890123456789 compares exactly and never matches
// a neighbour. One beyond uint64's range is an evaluation error, which
// denies. Nested maps and lists convert the same way. Everything else, the
// request message included, is left to next, the environment's type
// registry.
//
// CEL reads the claims map and the request message where they are, without
// converting them whole: only the values an expression reaches are
// converted, here.
type claimAdapter struct {
	next types.Adapter
}

// NativeToValue implements types.Adapter.
func (a *claimAdapter) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case json.Number:
		return numberValue(v)
	case map[string]any:
		return types.NewStringInterfaceMap(a, v)
	case []any:
		return types.NewDynamicList(a, v)
	}
	return a.next.NativeToValue(v)
}

// withClaimAdapter makes a claimAdapter the adapter of the environment
// being built, over its type registry: given last to each Extend, so that
// the registry is the one that knows the request's types.
func withClaimAdapter() cel.EnvOption {
	return func(e *cel.Env) (*cel.Env, error) {
		next, ok := e.CELTypeProvider().(types.Adapter)
		if !ok {
			next = e.CELTypeAdapter()
		}
		if c, ok := next.(*claimAdapter); ok {
			next = c.next
		}
		return cel.CustomTypeAdapter(&claimAdapter{next: next})(e)
	}
}

// numberValue converts a JSON number kept exact: an int, a uint, or, when
// it is no integer (a json.Number from elsewhere than the token decoder), a
// double.
func numberValue(n json.Number) ref.Val {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return types.Int(i)
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return types.Uint(u)
	}
	if _, ok := new(big.Int).SetString(string(n), 10); ok {
		return types.NewErr("celexpr: an integer claim is beyond the range of int and uint")
	}
	f, err := n.Float64()
	if err != nil {
		return types.NewErr("celexpr: a claim is not a JSON number")
	}
	return types.Double(f)
}
