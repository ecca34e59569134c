package rules

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Comparisons of decoded JSON values (claims) with required values and
// request variables. None of them allocates.

// maxExactFloat is 2^53: every integer of smaller magnitude is a float64,
// exactly; beyond it float64 skips integers.
const maxExactFloat = 1 << 53

// num is a JSON number held exactly: a float64 (kind numFloat), an integer
// of at most 64 bits of magnitude (numInt: neg and mag), or the text of a
// larger integer (numText).
type num struct {
	kind uint8
	f    float64
	neg  bool
	mag  uint64
	text string
}

const (
	numFloat uint8 = iota + 1
	numInt
	numText
)

// number returns v as a num when it is a JSON number in any Go form a
// token's claims may hold: float64 or [json.Number] as the manager decodes
// them, or a Go integer of a Token built by other code.
func number(v any) (num, bool) {
	switch n := v.(type) {
	case float64:
		return num{kind: numFloat, f: n}, true
	case json.Number:
		return parseNumber(string(n))
	case float32:
		return num{kind: numFloat, f: float64(n)}, true
	case int:
		return intNum(int64(n)), true
	case int64:
		return intNum(n), true
	case int32:
		return intNum(int64(n)), true
	case uint64:
		return num{kind: numInt, mag: n}, true
	case uint32:
		return num{kind: numInt, mag: uint64(n)}, true
	}
	return num{}, false
}

func intNum(i int64) num {
	if i < 0 {
		return num{kind: numInt, neg: true, mag: uint64(-(i + 1)) + 1}
	}
	return num{kind: numInt, mag: uint64(i)}
}

// parseNumber reads the text of a JSON number: an integer exactly, any
// other number as encoding/json would (float64).
func parseNumber(s string) (num, bool) {
	digits, neg := s, false
	if len(digits) > 0 && digits[0] == '-' {
		digits, neg = digits[1:], true
	}
	if mag, ok := parseDigits(digits); ok {
		return num{kind: numInt, neg: neg && mag != 0, mag: mag}, true
	}
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

// parseDigits reads s, ASCII digits only, as a uint64, as
// strconv.ParseUint(s, 10, 64) does, without its error value: the common
// case of an integer claim (an id held as [json.Number]), compared on every
// call.
func parseDigits(s string) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 || n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// integer returns f as an exact integer num when it is one of at most 64
// bits of magnitude.
func integer(f float64) (num, bool) {
	if f != math.Trunc(f) || math.Abs(f) >= 1<<64 {
		return num{}, false
	}
	if f < 0 {
		return num{kind: numInt, neg: true, mag: uint64(-f)}, true
	}
	return num{kind: numInt, mag: uint64(f)}, true
}

// equal reports whether a and b are the same number, exactly: an integer
// beyond 2^53 equals only itself, never a float64 neighbour.
func (a num) equal(b num) bool {
	if a.kind == numFloat && b.kind == numFloat {
		return a.f == b.f
	}
	if a.kind == numFloat {
		a, b = b, a
	}
	if b.kind == numFloat {
		if a.kind != numInt {
			return false // a larger integer than any float64 holds exactly
		}
		bi, ok := integer(b.f)
		return ok && bi.neg == a.neg && bi.mag == a.mag
	}
	if a.kind == numText || b.kind == numText {
		return a.kind == b.kind && a.text == b.text
	}
	return a.neg == b.neg && a.mag == b.mag
}

// appendText appends the number's JSON text, as encoding/json writes it.
func (a num) appendText(b []byte) []byte {
	switch a.kind {
	case numFloat:
		return appendJSONNumber(b, a.f)
	case numInt:
		if a.neg {
			b = append(b, '-')
		}
		return strconv.AppendUint(b, a.mag, 10)
	}
	return append(b, a.text...)
}

// exactNumber returns n as the manager decodes a claim: float64, unless it
// is an integer beyond 2^53, which stays [json.Number], exact.
func exactNumber(n json.Number) any {
	v, ok := parseNumber(string(n))
	switch {
	case !ok:
		return n
	case v.kind == numFloat:
		return v.f
	case v.kind == numInt && v.mag <= maxExactFloat:
		f := float64(v.mag)
		if v.neg {
			f = -f
		}
		return f
	}
	return n
}

// jsonEqual reports whether a and b are the same JSON value: numbers by
// value, objects by keys, arrays in order.
func jsonEqual(a, b any) bool {
	switch bv := b.(type) {
	case nil:
		return a == nil
	case string:
		av, ok := a.(string)
		return ok && av == bv
	case bool:
		av, ok := a.(bool)
		return ok && av == bv
	case map[string]any:
		av, ok := a.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, w := range bv {
			h, ok := av[k]
			if !ok || !jsonEqual(h, w) {
				return false
			}
		}
		return true
	case []any:
		av, ok := a.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range bv {
			if !jsonEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	bn, ok := number(b)
	if !ok {
		return false
	}
	an, ok := number(a)
	return ok && an.equal(bn)
}

// contains reports whether have holds want: every key of a required object
// present with a containing value, every element of a required array
// contained in some element of the token's array, scalars equal. depth
// bounds the recursion (want's depth is bounded when the rule is compiled).
func contains(have, want any, depth int) bool {
	if depth > maxScopeDepth {
		return false
	}
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok || !contains(hv, wv, depth+1) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return false
		}
	next:
		for _, wv := range w {
			for _, hv := range h {
				if contains(hv, wv, depth+1) {
					continue next
				}
			}
			return false
		}
		return true
	}
	return jsonEqual(have, want)
}

// grants reports whether a token's scope grants the OAuth-style scope name:
// scope is a space-separated string, an array of strings, or an object whose
// key name has a truthy value.
func grants(scope any, name string) bool {
	switch s := scope.(type) {
	case string:
		for i := 0; i < len(s); {
			for i < len(s) && s[i] == ' ' {
				i++
			}
			j := i
			for j < len(s) && s[j] != ' ' {
				j++
			}
			if s[i:j] == name {
				return true
			}
			i = j
		}
	case []any:
		for _, e := range s {
			if str, ok := e.(string); ok && str == name {
				return true
			}
		}
	case map[string]any:
		return truthy(s[name])
	}
	return false
}

// truthy is JSON truthiness: not null, false, 0, "", [] or {}.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	if n, ok := number(v); ok {
		return !(n.kind == numFloat && n.f == 0 || n.kind == numInt && n.mag == 0)
	}
	return true
}

// equalsVar reports whether a claim equals a request variable, numbers
// exactly. A string variable also equals a number or boolean claim whose
// canonical JSON text it is, as an HTTP path value "42" equals the claim 42.
func equalsVar(claim any, v Value) bool {
	switch v.kind {
	case stringValue:
		switch c := claim.(type) {
		case string:
			return c == v.str
		case bool:
			return (c && v.str == "true") || (!c && v.str == "false")
		}
		if n, ok := number(claim); ok {
			var buf [32]byte
			return string(n.appendText(buf[:0])) == v.str
		}
	case numberValue, intValue, uintValue:
		n, ok := number(claim)
		if !ok {
			return false
		}
		switch v.kind {
		case intValue:
			return n.equal(intNum(v.i))
		case uintValue:
			return n.equal(num{kind: numInt, mag: v.u})
		}
		return n.equal(num{kind: numFloat, f: v.num})
	case boolValue:
		b, ok := claim.(bool)
		return ok && b == v.b
	}
	return false
}

// appendJSONNumber appends f as encoding/json writes a float64.
func appendJSONNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// jsonDepth returns the nesting depth of a decoded JSON value.
func jsonDepth(v any) int {
	switch t := v.(type) {
	case map[string]any:
		d := 0
		for _, e := range t {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case []any:
		d := 0
		for _, e := range t {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}
