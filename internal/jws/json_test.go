package jws

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestDecodeClaimsExactIntegers checks that integers float64 can't all
// hold are kept as their exact text, at any depth, and that every other
// number decodes as json.Unmarshal decodes it.
func TestDecodeClaimsExactIntegers(t *testing.T) {
	tests := []struct {
		name string
		text string
		want map[string]any
	}{
		{"above 2^53", `{"account":1234567890123456789}`, map[string]any{"account": json.Number("1234567890123456789")}},
		{"2^53+1", `{"n":9007199254740993}`, map[string]any{"n": json.Number("9007199254740993")}},
		{"2^53 itself", `{"n":9007199254740992}`, map[string]any{"n": float64(1 << 53)}},
		{"below -2^53", `{"n":-9007199254740993}`, map[string]any{"n": json.Number("-9007199254740993")}},
		{"-2^53 itself", `{"n":-9007199254740992}`, map[string]any{"n": -float64(1 << 53)}},
		{"2^64 and beyond", `{"n":123456789012345678901234567890}`, map[string]any{"n": json.Number("123456789012345678901234567890")}},
		{"16 digits below 2^53", `{"n":1000000000000000}`, map[string]any{"n": float64(1e15)}},
		{"fraction stays float", `{"n":12345678901234567.5}`, map[string]any{"n": 12345678901234567.5}},
		{"exponent stays float", `{"n":1234567890123456789e0}`, map[string]any{"n": 1234567890123456789e0}},
		{"nested", `{"a":[1,{"b":1234567890123456789}],"c":2.5,"d":"1234567890123456789"}`, map[string]any{
			"a": []any{float64(1), map[string]any{"b": json.Number("1234567890123456789")}},
			"c": 2.5, "d": "1234567890123456789",
		}},
		{"digits in a string only", `{"d":"12345678901234567890","n":7}`, map[string]any{"d": "12345678901234567890", "n": float64(7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClaims([]byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeClaims(%s) = %#v, want %#v", tt.text, got, tt.want)
			}
		})
	}
}

// TestDecodeClaimsExactRefusals checks that the exact decoding refuses
// what json.Unmarshal refuses: it is taken only for long integers, and
// must not let through what the usual decoding would not.
func TestDecodeClaimsExactRefusals(t *testing.T) {
	const big = `1234567890123456789`
	for _, tt := range []struct {
		text        string
		unmarshalOK bool // json.Unmarshal accepts it; DecodeClaims refuses more
	}{
		{`{"n":` + big + `} x`, false},
		{`{"n":` + big + `}{}`, false},
		{`{"n":` + big + `,"f":1e400}`, false},
		{`{"n":` + big + `,}`, false},
		{`[` + big + `]`, false},
		{`{"n":` + big + `,"n":1}`, true},
	} {
		if _, err := DecodeClaims([]byte(tt.text)); err == nil {
			t.Errorf("DecodeClaims(%s) accepted", tt.text)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(tt.text), &m); (err == nil) != tt.unmarshalOK {
			t.Errorf("test bug: json.Unmarshal(%s) = %v", tt.text, err)
		}
	}
	if _, err := DecodeClaims([]byte(`{"n":` + big + "}\n\t ")); err != nil {
		t.Errorf("trailing white space refused: %v", err)
	}
}

// FuzzDecodeClaims checks DecodeClaims against encoding/json with
// UseNumber: the same claims, each number as its exact text when it is an
// integer beyond 2^53, else as the float64 of that text.
func FuzzDecodeClaims(f *testing.F) {
	for _, s := range []string{
		`{"a":1234567890123456789}`, `{"a":[9007199254740993,1.5,{"b":-9007199254740993}]}`,
		`{"a":9007199254740992}`, `{"a":1e400,"b":12345678901234567}`, `{"a":"12345678901234567"}`,
		`{"a":12345678901234567.0}`, `{"a":-0,"b":0.000000000000000001}`, `{"a":1} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeClaims(b)
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want map[string]any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("DecodeClaims(%q) accepts what encoding/json refuses: %v", b, err)
		}
		if !sameExact(got, want) {
			t.Fatalf("DecodeClaims(%q) = %#v, encoding/json with UseNumber: %#v", b, got, want)
		}
	})
}

// sameExact reports whether got, decoded by DecodeClaims, is want, decoded
// with UseNumber, numbers compared as DecodeClaims documents.
func sameExact(got, want any) bool {
	switch w := want.(type) {
	case json.Number:
		if isInexactInt(string(w)) {
			return got == w
		}
		f, err := strconv.ParseFloat(string(w), 64)
		return err == nil && got == f
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) || (g == nil) != (w == nil) {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !sameExact(gv, v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameExact(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

// TestSmallInt checks the decoding of short integers against
// strconv.ParseFloat, bit for bit (-0 included), at the bounds of their
// digits and for random ones, and that longer integers are left to it.
func TestSmallInt(t *testing.T) {
	texts := []string{"0", "-0", "1", "-1", "9", "10", "4102444800", "-1700000000",
		"999999999999999", "-999999999999999", "100000000000000"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		n := r.Int64N(1_000_000_000_000_000)
		if r.IntN(2) == 0 {
			n = -n
		}
		texts = append(texts, strconv.FormatInt(n, 10))
	}
	for _, text := range texts {
		got, ok := smallInt(text)
		want, err := strconv.ParseFloat(text, 64)
		if !ok || err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("smallInt(%s) = %v, %t; ParseFloat: %v, %v", text, got, ok, want, err)
		}
	}
	for _, text := range []string{"1000000000000000", "-1000000000000000", "9007199254740993"} {
		if _, ok := smallInt(text); ok {
			t.Errorf("smallInt(%s) decoded an integer of %d digits", text, len(strings.TrimPrefix(text, "-")))
		}
	}
}
