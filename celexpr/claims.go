package celexpr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// claimAdapter is the adapter of every expression's environment. It
// converts decoded JSON claims to CEL values: strings, booleans, null,
// lists and maps as CEL converts google.protobuf.Value, and numbers so that
// they compare exactly. A number that is an integer, however it is written
// (42, 4.2e1, an id above 2^53 that the token's decoding keeps exact as a
// [json.Number]), is a CEL int, or a uint above int64's range: CEL compares
// an int with an int or a uint exactly, so claims.account == request.id
// holds only for that integer, never for a neighbour that a double would
// round to the same value. Any other number is a double; an int equals no
// double that has a fraction. An integer beyond uint64's range is a double
// when it came as one, and an evaluation error, which denies, when it came
// as the exact text of an integer. Nested maps and lists convert the same
// way. Everything else, the request message included, is left to next,
// the environment's type registry.
//
// CEL reads the claims map and the request message where they are, without
// converting them whole: only the values an expression reaches are
// converted, here.
type claimAdapter struct {
	next types.Adapter
}

// NativeToValue implements [types.Adapter].
func (a *claimAdapter) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case json.Number:
		return numberValue(v)
	case float64:
		return floatValue(v)
	case map[string]any:
		return types.NewStringInterfaceMap(a, v)
	case []any:
		return &claimList{adapter: a, items: v}
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

// The claim adapter's errors, which hold no value.
var (
	errClaimRange  = errors.New("celexpr: an integer claim is beyond the range of int and uint")
	errClaimNumber = errors.New("celexpr: a claim is not a JSON number")
)

// numberValue converts a JSON number kept as its text: an int or a uint
// when it is written as an integer, otherwise as floatValue converts it.
func numberValue(n json.Number) ref.Val {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return types.Int(i)
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return types.Uint(u)
	}
	if _, ok := new(big.Int).SetString(string(n), 10); ok {
		return types.WrapErr(errClaimRange)
	}
	f, err := n.Float64()
	if err != nil {
		return types.WrapErr(errClaimNumber)
	}
	return floatValue(f)
}

// floatValue converts a number decoded as a float64: an int when it is an
// integer in int64's range, a uint when it is one above it, otherwise a
// double. A float64 that is an integer is that integer exactly: the
// claim's JSON said no more than its value, and CEL compares an int with
// another int exactly, where it would round the int to compare it with a
// double.
func floatValue(f float64) ref.Val {
	switch {
	case f != math.Trunc(f): // a fraction, or NaN
		return types.Double(f)
	case f >= -(1<<63) && f < 1<<63:
		return types.Int(int64(f))
	case f >= 1<<63 && f < 1<<64:
		return types.Uint(uint64(f))
	}
	return types.Double(f)
}

// claimList is a JSON array claim as a CEL list. It answers `x in list`
// for a string x, the test rules make of role and group claims, by
// comparing the strings where they are, without converting each element
// to a CEL value; everything else is CEL's own list over the same items.
// A string is equal to no CEL value converted from another JSON type, so
// the answers are CEL's.
type claimList struct {
	adapter types.Adapter
	items   []any
}

var _ traits.Lister = (*claimList)(nil)

// list is CEL's list of the same items.
func (l *claimList) list() traits.Lister { return types.NewDynamicList(l.adapter, l.items) }

// Contains implements [traits.Container].
func (l *claimList) Contains(elem ref.Val) ref.Val {
	s, ok := elem.(types.String)
	if !ok {
		return l.list().Contains(elem)
	}
	for _, item := range l.items {
		if v, ok := item.(string); ok && v == string(s) {
			return types.True
		}
	}
	return types.False
}

// Size implements [traits.Sizer].
func (l *claimList) Size() ref.Val { return types.Int(len(l.items)) }

// Type implements [ref.Val].
func (l *claimList) Type() ref.Type { return types.ListType }

// Value implements [ref.Val].
func (l *claimList) Value() any { return l.items }

// IsZeroValue reports whether the list is empty.
func (l *claimList) IsZeroValue() bool { return len(l.items) == 0 }

// Add implements [traits.Adder].
func (l *claimList) Add(other ref.Val) ref.Val { return l.list().Add(other) }

// Get implements [traits.Indexer], as CEL's list does, converting the one
// element read.
func (l *claimList) Get(index ref.Val) ref.Val {
	i, err := types.IndexOrError(index)
	if err != nil {
		return types.ValOrErr(index, "%v", err)
	}
	if i < 0 || i >= len(l.items) {
		return types.NewErr("index '%d' out of range in list size '%d'", i, len(l.items))
	}
	return l.adapter.NativeToValue(l.items[i])
}

// Iterator implements [traits.Iterable].
func (l *claimList) Iterator() traits.Iterator { return l.list().Iterator() }

// Equal implements [ref.Val].
func (l *claimList) Equal(other ref.Val) ref.Val { return l.list().Equal(other) }

// ConvertToNative implements [ref.Val].
func (l *claimList) ConvertToNative(t reflect.Type) (any, error) { return l.list().ConvertToNative(t) }

// ConvertToType implements [ref.Val].
func (l *claimList) ConvertToType(t ref.Type) ref.Val { return l.list().ConvertToType(t) }

// String formats the list as CEL does.
func (l *claimList) String() string { return fmt.Sprint(l.list()) }
