package celexpr

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// TestClaimListContainsIsCELs: a claim list answers `x in list` as CEL's
// own list of the same items does, for needles of every CEL type and items
// of every JSON type, its string fast path included.
func TestClaimListContainsIsCELs(t *testing.T) {
	adapter := &claimAdapter{next: types.DefaultTypeAdapter}
	items := []any{
		"admin", "", "7", 7.0, json.Number("1234567890123456789"), json.Number("18446744073709551616"),
		true, nil, map[string]any{"a": "b"}, []any{"x"},
	}
	needles := []ref.Val{
		types.String("admin"), types.String(""), types.String("7"), types.String("Admin"), types.String("x"),
		types.Int(7), types.Double(7), types.Uint(7), types.Int(1234567890123456789), types.Bool(true),
		types.NullValue, adapter.NativeToValue([]any{"x"}), adapter.NativeToValue(map[string]any{"a": "b"}),
	}
	for n := range len(items) + 1 {
		list := items[:n]
		for _, needle := range needles {
			got := (&claimList{adapter: adapter, items: list}).Contains(needle)
			want := types.NewDynamicList(adapter, list).Contains(needle)
			if got != want {
				t.Errorf("%v in %v = %v, CEL's list says %v", needle, list, got, want)
			}
		}
	}
}

// BenchmarkClaimListContains compares `'admin' in roles` on a claim list of
// twenty roles with CEL's own list of the same items.
func BenchmarkClaimListContains(b *testing.B) {
	adapter := &claimAdapter{next: types.DefaultTypeAdapter}
	roles := make([]any, 20)
	for i := range roles {
		roles[i] = fmt.Sprint("role-", i)
	}
	roles[19] = "admin"
	needle := types.String("admin")
	for _, l := range []struct {
		name string
		list func() ref.Val
	}{
		{"cel", func() ref.Val { return types.NewDynamicList(adapter, roles) }},
		{"claims", func() ref.Val { return &claimList{adapter: adapter, items: roles} }},
	} {
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				list := l.list().(interface{ Contains(ref.Val) ref.Val })
				if list.Contains(needle) != types.True {
					b.Fatal("admin not found")
				}
			}
		})
	}
}

// TestClaimListGetIsCELs: a claim list reads an element, or refuses an
// index, as CEL's own list of the same items does.
func TestClaimListGetIsCELs(t *testing.T) {
	adapter := &claimAdapter{next: types.DefaultTypeAdapter}
	items := []any{"admin", 7.0, json.Number("1234567890123456789"), nil, []any{"x"}}
	indexes := []ref.Val{
		types.Int(0), types.Int(2), types.Int(4), types.Int(5), types.Int(-1),
		types.Uint(1), types.Double(3), types.Double(1.5), types.String("0"), types.NullValue,
	}
	for _, index := range indexes {
		got := (&claimList{adapter: adapter, items: items}).Get(index)
		want := types.NewDynamicList(adapter, items).Get(index)
		if got.Type() != want.Type() || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("list[%v] = %v (%v), CEL's list says %v (%v)", index, got, got.Type(), want, want.Type())
		}
	}
}
