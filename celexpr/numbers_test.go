package celexpr_test

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
)

var lookupDesc = (&testpb.LookupRequest{}).ProtoReflect().Descriptor()

// TestExactNumbers: an integer claim compared with an int or uint field, or
// a literal, equals only that integer, on both sides of 2^53 and at the
// edges of int64 and uint64, however the claim's JSON wrote it and however
// the token's decoding kept it (float64 up to 2^53, json.Number above). A
// number with a fraction equals no integer.
func TestExactNumbers(t *testing.T) {
	const p53 = int64(1) << 53
	i := func(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }
	u := func(n uint64) json.Number { return json.Number(strconv.FormatUint(n, 10)) }
	tests := []struct {
		name  string
		expr  string
		claim any // claims.n
		id    int64
		uid   uint64
		want  bool
	}{
		{"2^53 equals 2^53", "request.id == claims.n", float64(p53), p53, 0, true},
		{"2^53 is not 2^53+1", "request.id == claims.n", float64(p53), p53 + 1, 0, false},
		{"2^53 is not 2^53-1", "request.id == claims.n", float64(p53), p53 - 1, 0, false},
		{"2^53+1 equals 2^53+1", "request.id == claims.n", i(p53 + 1), p53 + 1, 0, true},
		{"2^53+1 is not 2^53", "request.id == claims.n", i(p53 + 1), p53, 0, false},
		{"2^53+1 is not 2^53+2", "request.id == claims.n", i(p53 + 1), p53 + 2, 0, false},
		{"-2^53-1 is not -2^53", "request.id == claims.n", i(-p53 - 1), -p53, 0, false},
		{"the claim on the right", "claims.n == request.id", float64(p53), p53 + 1, 0, false},
		{"not equal, 2^53 and 2^53+1", "request.id != claims.n", float64(p53), p53 + 1, 0, true},
		{"at most 2^53: 2^53+1 is over", "request.id <= claims.n", float64(p53), p53 + 1, 0, false},
		{"at most 2^53: 2^53 is not", "request.id <= claims.n", float64(p53), p53, 0, true},
		{"under 2^53: 2^53 is not", "request.id < claims.n", float64(p53), p53, 0, false},
		{"over 2^53+1: 2^53+2 is", "request.id > claims.n", i(p53 + 1), p53 + 2, 0, true},
		{"int64 max", "request.id == claims.n", i(math.MaxInt64), math.MaxInt64, 0, true},
		{"int64 max is not its neighbour", "request.id == claims.n", i(math.MaxInt64), math.MaxInt64 - 1, 0, false},
		{"int64 min", "request.id == claims.n", i(math.MinInt64), math.MinInt64, 0, true},
		{"int64 min is not its neighbour", "request.id == claims.n", i(math.MinInt64), math.MinInt64 + 1, 0, false},
		{"uint64 max", "request.uid == claims.n", u(math.MaxUint64), 0, math.MaxUint64, true},
		{"uint64 max is not its neighbour", "request.uid == claims.n", u(math.MaxUint64), 0, math.MaxUint64 - 1, false},
		{"2^63 as a uint", "request.uid == claims.n", u(1 << 63), 0, 1 << 63, true},
		{"2^63 is not 2^63-1", "request.uid == claims.n", u(1 << 63), 0, 1<<63 - 1, false},
		{"2^63 is not int64 max", "request.id == claims.n", u(1 << 63), math.MaxInt64, 0, false},
		{"an int claim against a uint field", "request.uid == claims.n", i(p53 + 1), 0, uint64(p53 + 1), true},
		{"an int claim against a uint neighbour", "request.uid == claims.n", i(p53 + 1), 0, uint64(p53), false},
		{"-1 is no uint", "request.uid == claims.n", i(-1), 0, math.MaxUint64, false},
		{"a literal past 2^53", "claims.n == 9007199254740993", float64(p53), 0, 0, false},
		{"a literal at 2^53", "claims.n == 9007199254740992", float64(p53), 0, 0, true},
		{"a uint literal past 2^53", "claims.n == 9007199254740993u", float64(p53), 0, 0, false},
		// 1.2345678901234568e18 is the integer 1234567890123456768: it
		// equals that id alone, not the ids that round to the same double.
		{"an exponent is the integer it writes", "request.id == claims.n", json.Number("1.2345678901234568e18"), 1234567890123456768, 0, true},
		{"an exponent is not a neighbour", "request.id == claims.n", json.Number("1.2345678901234568e18"), 1234567890123456789, 0, false},
		{"an exponent decoded as a float64 is not a neighbour", "request.id == claims.n", 1.2345678901234568e18, 1234567890123456769, 0, false},
		{"a fraction is no integer", "request.id == claims.n", 2.5, 2, 0, false},
		{"a fraction is no integer, either side", "request.id == claims.n", 2.5, 3, 0, false},
		{"a fraction compares", "request.id < claims.n", 2.5, 2, 0, true},
		{"a fraction as text", "request.id == claims.n", json.Number("7.5"), 7, 0, false},
		{"a big fraction-free double beyond uint64", "request.uid == claims.n", 1e30, 0, math.MaxUint64, false},
		{"an integer claim is an int", "type(claims.n) == int", float64(p53), 0, 0, true},
		{"a fraction claim is a double", "type(claims.n) == double", 2.5, 0, 0, true},
		{"an integer claim is a uint above int64", "type(claims.n) == uint", u(math.MaxUint64), 0, 0, true},
		{"a double literal still equals an integer claim", "claims.n == 3.0", 3.0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := celexpr.New().Compile(tt.expr, lookupDesc)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.expr, err)
			}
			got, err := x.Eval(protojwt.ExpressionInput{
				Claims:  map[string]any{"n": tt.claim},
				Request: &testpb.LookupRequest{Id: tt.id, Uid: tt.uid},
			})
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got != tt.want {
				t.Fatalf("%s with n = %v, id %d, uid %d: %v, want %v", tt.expr, tt.claim, tt.id, tt.uid, got, tt.want)
			}
		})
	}
}
