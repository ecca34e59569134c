package celexpr

import (
	"encoding/json"
	"math/big"
	"strconv"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// claimsValue is the claims map as CEL sees it: map<string, dyn>, with JSON
// values converted by claimAdapter as they are read.
func claimsValue(claims map[string]any) ref.Val {
	return types.NewStringInterfaceMap(claimAdapter{}, claims)
}

// claimAdapter converts decoded JSON claims to CEL values, as CEL converts
// google.protobuf.Value: strings, booleans, null, lists, maps, and numbers
// as double. The exception is an integer above 2^53, which the token's
// decoding keeps exact as a json.Number because a double can't hold it: it
// becomes an int, or a uint above int64's range, so that
// claims.account == 1234567890123456789 compares exactly and never matches
// a neighbour. One beyond uint64's range is an evaluation error, which
// denies. Nested maps and lists convert the same way.
type claimAdapter struct{}

// NativeToValue implements types.Adapter.
func (claimAdapter) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case json.Number:
		return numberValue(v)
	case map[string]any:
		return types.NewStringInterfaceMap(claimAdapter{}, v)
	case []any:
		return types.NewDynamicList(claimAdapter{}, v)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
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
