package rules

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// decode returns the JSON text s decoded as claims are.
func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestJSONEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"int and float", 1.0, 1, true},
		{"int64 and float", 1.0, int64(1), true},
		{"float32", float32(0.5), 0.5, true},
		{"uint64", 7.0, uint64(7), true},
		{"numbers differ", 1.0, 1.5, false},
		{"number and string", 1.0, "1", false},
		{"string and number", "1", 1.0, false},
		{"strings", "a", "a", true},
		{"strings differ", "a", "A", false},
		{"bools", true, true, true},
		{"bools differ", true, false, false},
		{"bool and number", true, 1.0, false},
		{"nulls", nil, nil, true},
		{"null and false", false, nil, false},
		{"false and null", nil, false, false},
		{"objects", decode(t, `{"a":1,"b":[true,"x"]}`), map[string]any{"b": []any{true, "x"}, "a": 1}, true},
		{"object missing key", decode(t, `{"a":1}`), decode(t, `{"a":1,"b":2}`), false},
		{"object extra key", decode(t, `{"a":1,"b":2}`), decode(t, `{"a":1}`), false},
		{"object other value", decode(t, `{"a":1}`), decode(t, `{"a":2}`), false},
		{"object key with null", decode(t, `{"b":null}`), decode(t, `{"a":null}`), false},
		{"arrays", decode(t, `[1,2]`), []any{1, 2.0}, true},
		{"arrays in order", decode(t, `[2,1]`), decode(t, `[1,2]`), false},
		{"arrays of other length", decode(t, `[1]`), decode(t, `[1,1]`), false},
		{"array and object", decode(t, `[]`), decode(t, `{}`), false},
		{"unknown literal type", 1.0, struct{}{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jsonEqual(tt.a, tt.b); got != tt.want {
				t.Errorf("jsonEqual(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestEqualsVar(t *testing.T) {
	tests := []struct {
		name  string
		claim any
		v     Value
		want  bool
	}{
		{"string", "alice", String("alice"), true},
		{"string differs", "alice", String("bob"), false},
		{"empty string", "", String(""), true},
		{"string var, number claim", 42.0, String("42"), true},
		{"string var, fractional claim", 0.5, String("0.5"), true},
		{"string var, negative claim", -3.0, String("-3"), true},
		{"string var with .0", 42.0, String("42.0"), false},
		{"string var with +", 42.0, String("+42"), false},
		{"string var with leading zero", 42.0, String("042"), false},
		{"string var, exponent claim", 1e21, String("1e+21"), true},
		{"string var, small claim", 1e-7, String("1e-7"), true},
		{"string var, small claim as e-07", 1e-7, String("1e-07"), false},
		{"string var, int claim", 42, String("42"), true},
		{"string var, true claim", true, String("true"), true},
		{"string var, false claim", false, String("false"), true},
		{"string var True", true, String("True"), false},
		{"string var 1 for true", true, String("1"), false},
		{"string var, false claim, true var", false, String("true"), false},
		{"string var, array claim", []any{"alice"}, String("alice"), false},
		{"string var, object claim", map[string]any{}, String("{}"), false},
		{"number", 42.0, Number(42), true},
		{"number, int claim", 42, Number(42), true},
		{"number differs", 42.0, Number(43), false},
		{"number, string claim", "42", Number(42), false},
		{"NaN never equals", math.NaN(), Number(math.NaN()), false},
		{"bool", true, Bool(true), true},
		{"bool false", false, Bool(false), true},
		{"bool differs", true, Bool(false), false},
		{"bool, string claim", "true", Bool(true), false},
		{"zero Value", "", Value{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := equalsVar(tt.claim, tt.v); got != tt.want {
				t.Errorf("equalsVar(%v, %+v) = %v, want %v", tt.claim, tt.v, got, tt.want)
			}
		})
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		name       string
		have, want string
		contained  bool
	}{
		{"equal objects", `{"a":true}`, `{"a":true}`, true},
		{"extra keys", `{"a":true,"b":1}`, `{"a":true}`, true},
		{"missing key", `{"b":1}`, `{"a":true}`, false},
		{"other value", `{"a":false}`, `{"a":true}`, false},
		{"nested", `{"a":{"b":{"c":1,"d":2},"e":3}}`, `{"a":{"b":{"c":1}}}`, true},
		{"nested missing", `{"a":{"b":{"d":2}}}`, `{"a":{"b":{"c":1}}}`, false},
		{"empty object in anything", `{"x":1}`, `{}`, true},
		{"empty object in array", `[]`, `{}`, false},
		{"array subset", `["a","b","c"]`, `["c","a"]`, true},
		{"array equal", `["a"]`, `["a"]`, true},
		{"array not subset", `["a","b"]`, `["a","z"]`, false},
		{"empty array", `["a"]`, `[]`, true},
		{"empty array in empty", `[]`, `[]`, true},
		{"array in object", `{"p":["x","y"]}`, `{"p":["y"]}`, true},
		{"array of objects", `[{"id":1,"r":"w"},{"id":2}]`, `[{"id":1}]`, true},
		{"array of objects missing", `[{"id":2}]`, `[{"id":1}]`, false},
		{"array repeated", `["a"]`, `["a","a"]`, true},
		{"array vs scalar", `"a"`, `["a"]`, false},
		{"scalar in array", `["a"]`, `"a"`, false},
		{"numbers by value", `{"n":1}`, `{"n":1.0}`, true},
		{"string scalar", `"admin"`, `"admin"`, true},
		{"string scalar differs", `"admin read"`, `"admin"`, false},
		{"bool vs string", `"true"`, `true`, false},
		{"null required", `{"a":null}`, `{"a":null}`, true},
		{"null required, key missing", `{}`, `{"a":null}`, false},
		{"object vs array", `["a"]`, `{"a":true}`, false},
		{"nothing", `null`, `{"a":true}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := contains(decode(t, tt.have), decode(t, tt.want), 0); got != tt.contained {
				t.Errorf("contains(%s, %s) = %v, want %v", tt.have, tt.want, got, tt.contained)
			}
		})
	}

	// A token's scope deeper than a rule's is bounded: past the limit
	// nothing is contained.
	deep, deepWant := any(true), any(true)
	for range maxScopeDepth + 2 {
		deep = map[string]any{"a": deep}
		deepWant = map[string]any{"a": deepWant}
	}
	if contains(deep, deepWant, 0) {
		t.Errorf("contains past the depth limit = true")
	}
}

func TestGrants(t *testing.T) {
	tests := []struct {
		name  string
		scope string
		grant string
		want  bool
	}{
		{"string first", `"read write"`, "read", true},
		{"string last", `"read write"`, "write", true},
		{"string only", `"read"`, "read", true},
		{"string spaces", `"  read   write  "`, "write", true},
		{"string prefix", `"reader"`, "read", false},
		{"string suffix", `"read write"`, "rite", false},
		{"string tab is not a separator", `"read\twrite"`, "read", false},
		{"empty string", `""`, "read", false},
		{"array", `["write","read"]`, "read", true},
		{"array missing", `["write"]`, "read", false},
		{"array with others", `[1,{"read":true},"read"]`, "read", true},
		{"array of non-strings", `[1,{"read":true}]`, "read", false},
		{"object true", `{"read":true}`, "read", true},
		{"object string", `{"read":"yes"}`, "read", true},
		{"object number", `{"read":1}`, "read", true},
		{"object array", `{"read":[0]}`, "read", true},
		{"object object", `{"read":{"x":1}}`, "read", true},
		{"object false", `{"read":false}`, "read", false},
		{"object zero", `{"read":0}`, "read", false},
		{"object empty string", `{"read":""}`, "read", false},
		{"object null", `{"read":null}`, "read", false},
		{"object empty array", `{"read":[]}`, "read", false},
		{"object empty object", `{"read":{}}`, "read", false},
		{"object missing", `{"write":true}`, "read", false},
		{"null", `null`, "read", false},
		{"number", `1`, "read", false},
		{"true", `true`, "read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := grants(decode(t, tt.scope), tt.grant); got != tt.want {
				t.Errorf("grants(%s, %q) = %v, want %v", tt.scope, tt.grant, got, tt.want)
			}
		})
	}
}

// FuzzJSONNumber checks that a string request variable is compared with the
// text encoding/json writes for the claim.
func FuzzJSONNumber(f *testing.F) {
	for _, seed := range []float64{0, math.Copysign(0, -1), 1, 42, -3.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, n float64) {
		if math.IsNaN(n) || math.IsInf(n, 0) {
			if got := appendJSONNumber(nil, n); len(got) != 0 {
				t.Fatalf("appendJSONNumber(%v) = %q, want nothing", n, got)
			}
			return
		}
		want, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONNumber(nil, n); string(got) != string(want) {
			t.Fatalf("appendJSONNumber(%v) = %s, encoding/json writes %s", n, got, want)
		}
		if !equalsVar(n, String(string(want))) {
			t.Fatalf("claim %v does not equal the variable %q", n, want)
		}
	})
}

// parseNumberReference is parseNumber as strconv alone would read it: the
// fast path of parseDigits must agree with it on every text.
func parseNumberReference(s string) (num, bool) {
	digits, neg := strings.CutPrefix(s, "-")
	if digits != "" && !strings.ContainsAny(digits, ".eE") {
		if mag, err := strconv.ParseUint(digits, 10, 64); err == nil {
			return num{kind: numInt, neg: neg && mag != 0, mag: mag}, true
		}
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				return num{}, false
			}
		}
		return num{kind: numText, text: s}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return num{}, false
	}
	return num{kind: numFloat, f: f}, true
}

// FuzzParseNumber checks parseNumber against strconv on any text.
func FuzzParseNumber(f *testing.F) {
	for _, seed := range []string{"0", "-0", "7", "-7", "1234567890123456789", "-9223372036854775808",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "123456789012345678901",
		"007", "1.5", "1e3", "-", "", "--1", "+1", "1_0", "0x10", "١٢", "1 ", "-18446744073709551615"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseNumber(s)
		want, wantOK := parseNumberReference(s)
		if ok != wantOK || got != want && !(got.kind == numFloat && want.kind == numFloat && math.IsNaN(got.f) && math.IsNaN(want.f)) {
			t.Fatalf("parseNumber(%q) = %+v, %v; strconv reads %+v, %v", s, got, ok, want, wantOK)
		}
	})
}
