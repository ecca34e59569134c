package jws

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of a token's header and payload: the
// top-level object is depth 1, so a claim may nest 63 levels. It is far
// above what real claims need (a rule's required scope nests at most 32
// deep) and far below what makes decoding expensive: encoding/json alone
// accepts 10 000 levels, and decodes a few thousand of them, all of which
// fit in a token of 8 KiB, in about half a millisecond and as many
// allocations as levels.
const MaxDepth = 64

// Refusals of [DecodeJSONObject]. Their texts are fixed: the JSON comes from
// a token and is never echoed.
var (
	ErrNotUTF8    = errors.New("JSON text is not UTF-8")
	ErrSurrogate  = errors.New("JSON string escapes half of a UTF-16 surrogate pair")
	ErrDepth      = errors.New("JSON text is nested too deep")
	ErrDuplicate  = errors.New("JSON object has a member name twice")
	ErrUnfinished = errors.New("JSON text ends inside a string")
)

// DecodeJSONObject decodes b, the JSON text of a token's header or payload,
// into *into as [json.Unmarshal] does, and refuses what JSON parsers disagree
// on or what costs more than its size:
//
//   - bytes that are not UTF-8, and \u escapes of a lone UTF-16 surrogate:
//     encoding/json replaces both with U+FFFD, so that different texts would
//     decode to the same claims, where other parsers refuse them or keep
//     them;
//   - nesting deeper than MaxDepth, refused when the decoding reaches it;
//   - a top-level object with two members of the same name (after
//     unescaping): encoding/json keeps the last, other parsers the first or
//     refuse, so that a claim such as sub would mean different things to
//     different readers of one token. RFC 7515 and RFC 7519 allow refusing.
//
// Numbers decode as float64, except integers written without fraction or
// exponent whose magnitude is above 2^53, where float64 no longer holds
// every integer: those are [json.Number], their exact text, so that an id
// such as 1234567890123456789 is never rounded to a neighbour.
//
// It decodes in one pass, which checks all of this as it goes (in the
// order of the text, after checking that all of b is UTF-8) and counts the
// top-level names, so that a duplicate is found by comparing the count
// with the members decoded. Names and strings without escapes share one
// copy of b.
func DecodeJSONObject(b []byte, into *map[string]any) error {
	m, err := decodeText(string(b))
	if err != nil {
		return err
	}
	*into = m
	return nil
}

// CheckJSONText checks b, a JSON text, for bytes that are not UTF-8,
// escaped lone surrogates and nesting deeper than [MaxDepth], in one pass
// and without allocating, and returns the number of member names of its
// top-level object (0 when the top-level value is not an object). It does
// not check the JSON grammar; for valid JSON it refuses what
// [DecodeJSONObject] refuses but duplicates, and nothing else.
func CheckJSONText(b []byte) (names int, err error) {
	t, err := scanJSONText(b)
	return t.names, err
}

// jsonText is what scanJSONText learns of a JSON text.
type jsonText struct {
	names int // member names of the top-level object
	// longInts is set when a number is written as an integer of 16 digits
	// or more: one that float64 may not hold exactly.
	longInts bool
}

// scanJSONText is [CheckJSONText], also noting long integers.
func scanJSONText(b []byte) (t jsonText, err error) {
	if !utf8.Valid(b) {
		return t, ErrNotUTF8
	}
	var (
		depth     int
		topObject bool // the top-level value is an object
		expectKey bool // the next string at depth 1 is a member name
	)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return jsonText{}, ErrDepth
			}
			if depth == 1 {
				topObject = c == '{'
				expectKey = topObject
			}
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1 && topObject
		case '"':
			end, err := scanString(b, i+1)
			if err != nil {
				return jsonText{}, err
			}
			i = end
			if depth == 1 && expectKey {
				expectKey = false
				t.names++
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			end, long := scanNumber(b, i)
			t.longInts = t.longInts || long
			i = end - 1
		}
	}
	return t, nil
}

// maxExactDigits is the most digits of an integer that float64 always
// holds exactly: 2^53 has 16 digits, so some 16-digit integers are beyond.
const maxExactDigits = 15

// scanNumber returns the end of the number that starts at b[start], and
// whether it is written as an integer of more than maxExactDigits digits.
func scanNumber(b []byte, start int) (end int, long bool) {
	i := start
	if b[i] == '-' {
		i++
	}
	digits := i
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	integer := i-digits > maxExactDigits
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '.', c == 'e', c == 'E':
			integer = false
		case c == '+', c == '-', '0' <= c && c <= '9':
		default:
			return i, integer
		}
	}
	return i, integer
}

// maxExactInt is 2^53, in decimal: integers of larger magnitude are not
// all held exactly by a float64.
const maxExactInt = "9007199254740992"

// isInexactInt reports whether the JSON number n is an integer, written
// without fraction or exponent, whose magnitude is above 2^53.
func isInexactInt(n string) bool {
	n = strings.TrimPrefix(n, "-")
	if strings.ContainsAny(n, ".eE") {
		return false
	}
	return len(n) > len(maxExactInt) || len(n) == len(maxExactInt) && n > maxExactInt
}

// errNumberRange refuses a number that float64 can't hold, as
// [json.Unmarshal] does.
var errNumberRange = errors.New("JSON number out of range")

// scanString returns the index of the quote that ends the JSON string whose
// content starts at b[start]. It refuses a \u escape of a lone surrogate.
func scanString(b []byte, start int) (end int, err error) {
	for i := start; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i, nil
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' {
				r, ok := hex4(b, i+2)
				switch {
				case !ok:
					// Not an escape encoding/json accepts: it refuses the text.
					i++
					continue
				case 0xDC00 <= r && r <= 0xDFFF:
					return 0, ErrSurrogate
				case 0xD800 <= r && r <= 0xDBFF:
					// A high surrogate must be followed by an escaped low one.
					if i+7 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
						return 0, ErrSurrogate
					}
					if low, ok := hex4(b, i+8); !ok || low < 0xDC00 || low > 0xDFFF {
						return 0, ErrSurrogate
					}
					i += 6 // the low half, checked
				}
				i += 5
				continue
			}
			i++ // the escaped character, which may be a quote
		}
	}
	return 0, ErrUnfinished
}

// hex4 returns the value of the four hexadecimal digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
