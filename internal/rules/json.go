package rules

import (
	"math"
	"strconv"
)

// Comparisons of decoded JSON values (claims) with required values and
// request variables. None of them allocates.

// number returns v as a float64 when it is a JSON number in any Go form a
// token's claims may hold.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	}
	return 0, false
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
	return ok && an == bn
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
		return n != 0
	}
	return true
}

// equalsVar reports whether a claim equals a request variable. A string
// variable also equals a number or boolean claim whose JSON text it is, as
// an HTTP path value "42" equals the claim 42.
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
			return string(appendJSONNumber(buf[:0], n)) == v.str
		}
	case numberValue:
		n, ok := number(claim)
		return ok && n == v.num
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
