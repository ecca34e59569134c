package jws

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// errSyntax refuses a text that is not JSON, as [json.Unmarshal] does; its
// text is fixed, since the JSON comes from a token and is never echoed.
var errSyntax = errors.New("JSON text is not valid JSON")

// errNotMap refuses a valid JSON text whose value is neither an object nor
// null, which [json.Unmarshal] can't store in a map.
var errNotMap = errors.New("JSON text is not an object")

// decoder decodes one JSON text in one pass into the values [json.Unmarshal]
// makes of it in an any (objects map[string]any, arrays []any, numbers
// float64, strings, booleans, nil), except that integers float64 can't all
// hold are [json.Number] (see [DecodeJSONObject]). Names and strings without
// escapes are parts of text, which it never copies: a token's claims are
// then one allocation for all their strings. It checks, in the same pass,
// what scanJSONText checks, in the same order of the text.
type decoder struct {
	text  string
	i     int
	depth int
	// The members of the top-level object, in the order of the text: the
	// first in room, in place, so that a decoder on the stack holds a
	// typical token's claims without allocating; all of them in more once
	// room is full. (A pointer to memory outside the decoder would escape:
	// whatever the decoder points to may be kept by the values it makes.)
	room [16]Member
	n    int
	more []Member
}

// Member is a member of a decoded JSON object: its name, unescaped, and
// its value.
type Member struct {
	Name  string
	Value any
}

// decodeText decodes text, the JSON text of a header or payload, into a
// map as [DecodeJSONObject] documents.
func decodeText(text string) (map[string]any, error) {
	var d decoder
	return d.decode(text)
}

// decode decodes text as decodeText does, keeping the members of its
// top-level object. [utf8.Valid] runs first, as in scanJSONText, so that
// invalid UTF-8 anywhere is [ErrNotUTF8].
func (d *decoder) decode(text string) (map[string]any, error) {
	if !utf8.ValidString(text) {
		return nil, ErrNotUTF8
	}
	d.text, d.i, d.depth, d.n, d.more = text, 0, 0, 0, nil
	d.space()
	object := false
	switch {
	case d.i < len(text) && text[d.i] == '{':
		if _, err := d.object(); err != nil {
			return nil, err
		}
		object = true
	case d.literal("null"):
	default:
		// Valid JSON that is not an object still has its text's refusals.
		if _, err := d.value(); err != nil {
			return nil, err
		}
		if d.space(); d.i != len(text) {
			return nil, errSyntax
		}
		return nil, errNotMap
	}
	if d.space(); d.i != len(text) {
		return nil, errSyntax
	}
	if !object {
		return nil, nil
	}
	members := d.members()
	m := make(map[string]any, len(members))
	for _, e := range members {
		m[e.Name] = e.Value
	}
	if len(m) != len(members) {
		return nil, ErrDuplicate
	}
	return m, nil
}

// add keeps e, a member of the top-level object.
func (d *decoder) add(e Member) {
	if d.more == nil && d.n < len(d.room) {
		d.room[d.n] = e
		d.n++
		return
	}
	if d.more == nil {
		d.more = append(make([]Member, 0, 2*len(d.room)), d.room[:d.n]...)
	}
	d.more = append(d.more, e)
}

// members returns the members of the top-level object, in the order of
// the text.
func (d *decoder) members() []Member {
	if d.more != nil {
		return d.more
	}
	return d.room[:d.n]
}

// space skips JSON whitespace.
func (d *decoder) space() {
	for d.i < len(d.text) {
		switch d.text[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// literal consumes word when the text continues with it.
func (d *decoder) literal(word string) bool {
	if len(d.text)-d.i >= len(word) && d.text[d.i:d.i+len(word)] == word {
		d.i += len(word)
		return true
	}
	return false
}

// value decodes the value at d.i, after whitespace.
func (d *decoder) value() (any, error) {
	if d.i >= len(d.text) {
		return nil, errSyntax
	}
	switch c := d.text[d.i]; {
	case c == '{':
		m, err := d.object()
		return m, err
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		return s, err
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case d.literal("true"):
		return true, nil
	case d.literal("false"):
		return false, nil
	case d.literal("null"):
		return nil, nil
	}
	return nil, errSyntax
}

// enter counts a level of nesting, refusing one over [MaxDepth].
func (d *decoder) enter() error {
	if d.depth++; d.depth > MaxDepth {
		return ErrDepth
	}
	return nil
}

// object decodes the object at d.i ('{'). A nested object's map starts
// small (one group of eight members) and grows: nested objects are mostly
// small, and a table made for more members at once costs a token of nine
// claims two allocations more. The top-level object's members are kept
// in the decoder instead, and decode makes their map at its size at once:
// for nine claims, a table of two groups without first filling and moving
// a small map. The top-level object returns a nil map.
func (d *decoder) object() (map[string]any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	top := d.depth == 1
	d.i++
	var m map[string]any
	if !top {
		m = map[string]any{}
	}
	d.space()
	if d.i < len(d.text) && d.text[d.i] == '}' {
		d.i++
		d.depth--
		return m, nil
	}
	for {
		if d.i >= len(d.text) || d.text[d.i] != '"' {
			return nil, errSyntax
		}
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		if d.space(); d.i >= len(d.text) || d.text[d.i] != ':' {
			return nil, errSyntax
		}
		d.i++
		d.space()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if top {
			d.add(Member{name, v})
		} else {
			m[name] = v // the last of a name, as json.Unmarshal keeps it
		}
		if d.space(); d.i >= len(d.text) {
			return nil, errSyntax
		}
		switch d.text[d.i] {
		case ',':
			d.i++
			d.space()
		case '}':
			d.i++
			d.depth--
			return m, nil
		default:
			return nil, errSyntax
		}
	}
}

// array decodes the array at d.i ('[').
func (d *decoder) array() ([]any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.i++
	a := []any{}
	d.space()
	if d.i < len(d.text) && d.text[d.i] == ']' {
		d.i++
		d.depth--
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if d.space(); d.i >= len(d.text) {
			return nil, errSyntax
		}
		switch d.text[d.i] {
		case ',':
			d.i++
			d.space()
		case ']':
			d.i++
			d.depth--
			return a, nil
		default:
			return nil, errSyntax
		}
	}
}

// number decodes the number at d.i as [json.Unmarshal] does into an any, or
// as its exact text when it is an integer beyond 2^53 in magnitude.
func (d *decoder) number() (any, error) {
	start := d.i
	t := d.text
	i := d.i
	if t[i] == '-' {
		i++
	}
	switch {
	case i < len(t) && t[i] == '0':
		i++
	case i < len(t) && '1' <= t[i] && t[i] <= '9':
		for i < len(t) && '0' <= t[i] && t[i] <= '9' {
			i++
		}
	default:
		return nil, errSyntax
	}
	integer := true
	if i < len(t) && t[i] == '.' {
		integer = false
		i++
		digits := i
		for i < len(t) && '0' <= t[i] && t[i] <= '9' {
			i++
		}
		if i == digits {
			return nil, errSyntax
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		integer = false
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		digits := i
		for i < len(t) && '0' <= t[i] && t[i] <= '9' {
			i++
		}
		if i == digits {
			return nil, errSyntax
		}
	}
	d.i = i
	n := t[start:i]
	if integer {
		if f, ok := smallInt(n); ok {
			return f, nil
		}
	}
	if integer && isInexactInt(n) {
		// Kept exact, within the range json.Unmarshal accepts: an integer
		// of more than 308 digits may be beyond float64's.
		if len(n) > 308 {
			if _, err := strconv.ParseFloat(n, 64); err != nil {
				return nil, errNumberRange
			}
		}
		return json.Number(n), nil
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return nil, errNumberRange // as json.Unmarshal: out of float64's range
	}
	return f, nil
}

// smallInt returns the value of n, a JSON number written as an integer,
// when it has at most maxExactDigits digits: then every step of the sum is
// exact in a float64, and the result is what [strconv.ParseFloat] returns,
// without its general parsing (the times of a token are such integers).
func smallInt(n string) (float64, bool) {
	neg := n[0] == '-'
	digits := n
	if neg {
		digits = n[1:]
	}
	if len(digits) > maxExactDigits {
		return 0, false
	}
	var v int64
	for i := 0; i < len(digits); i++ {
		v = v*10 + int64(digits[i]-'0')
	}
	f := float64(v)
	if neg {
		f = -f // -0 too, as ParseFloat makes it
	}
	return f, true
}

// str decodes the string at d.i ('"'): a part of the text when it has no
// escape, else its unescaped copy. It refuses an escaped lone surrogate,
// as scanString does, and an unfinished string with [ErrUnfinished].
func (d *decoder) str() (string, error) {
	t := d.text
	start := d.i + 1
	i := start
	for i < len(t) && !stringStop[t[i]] {
		i++
	}
	switch {
	case i == len(t):
		return "", ErrUnfinished
	case t[i] == '"':
		d.i = i + 1
		return t[start:i], nil
	case t[i] == '\\':
		return d.unescape(start, i)
	}
	return "", d.controlOrUnfinished(i)
}

// stringStop holds the bytes that stop the scan of a string without
// escapes: its closing quote, an escape's backslash, a control character.
var stringStop = func() (stop [256]bool) {
	for c := range 0x20 {
		stop[c] = true
	}
	stop['"'], stop['\\'] = true, true
	return stop
}()

// controlOrUnfinished refuses a control character in a string at i: a
// syntax error, unless the string never ends, which scanString reports
// first.
func (d *decoder) controlOrUnfinished(i int) error {
	for ; i < len(d.text); i++ {
		switch d.text[i] {
		case '"':
			return errSyntax
		case '\\':
			i++
		}
	}
	return ErrUnfinished
}

// unescape decodes the rest of the string whose content starts at start
// and whose first escape is at i.
func (d *decoder) unescape(start, i int) (string, error) {
	t := d.text
	out := make([]byte, 0, len(t)-start)
	out = append(out, t[start:i]...)
	for i < len(t) {
		c := t[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(out), nil
		case c < 0x20:
			return "", d.controlOrUnfinished(i)
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(t) {
			return "", ErrUnfinished
		}
		switch e := t[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(StringBytes(t), i+2)
			if !ok {
				return "", d.syntaxOrUnfinished(i + 2)
			}
			switch {
			case 0xDC00 <= r && r <= 0xDFFF:
				return "", ErrSurrogate
			case 0xD800 <= r && r <= 0xDBFF:
				if i+7 >= len(t) || t[i+6] != '\\' || t[i+7] != 'u' {
					return "", ErrSurrogate
				}
				low, ok := hex4(StringBytes(t), i+8)
				if !ok || low < 0xDC00 || low > 0xDFFF {
					return "", ErrSurrogate
				}
				r = utf16.DecodeRune(r, low)
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default:
			return "", d.syntaxOrUnfinished(i + 1)
		}
		i += 2
	}
	return "", ErrUnfinished
}

// syntaxOrUnfinished refuses a bad escape at i: a syntax error, unless the
// string never ends, or a later escape in it is of a lone surrogate, which
// scanString reports first.
func (d *decoder) syntaxOrUnfinished(i int) error {
	if _, err := scanString(StringBytes(d.text), i); err != nil {
		return err
	}
	return errSyntax
}
