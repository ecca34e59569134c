package celexpr

import (
	"hash/maphash"
	"regexp/syntax"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// The prices of the bounded calls, see bounds.go: upper bounds, in CEL's
// cost units, of the work of a call, computed from its arguments' sizes
// before it runs.

// elementUnits is the cost of one element of a list a call builds: a CEL
// value and its place in the list, about 40 bytes.
const elementUnits = 4

// numberBytes is the most a number takes when formatted, without its
// precision: a float64 written with %f has up to 309 digits before the point.
const numberBytes = 340

// units is the cost of reading or writing n bytes, at least one.
func units(n uint64) uint64 { return n/10 + 1 }

// add and mul saturate at the largest uint64: costs compare with a limit.
func add(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

func mul(a, b uint64) uint64 {
	if a != 0 && b > ^uint64(0)/a {
		return ^uint64(0)
	}
	return a * b
}

// text returns the bytes of a string or bytes argument.
func text(args []ref.Val, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	switch v := args[i].(type) {
	case types.String:
		return string(v), true
	case types.Bytes:
		return string(v), true
	}
	return "", false
}

// count returns the int argument i, or -1 when there is none.
func count(args []ref.Val, i int) int64 {
	if i < len(args) {
		if n, ok := args[i].(types.Int); ok {
			return int64(n)
		}
	}
	return -1
}

// copyCost bounds a function that reads its text and writes one about as
// long: case mapping, trim, base64.
func copyCost(args []ref.Val, _ uint64) uint64 {
	s, ok := text(args, 0)
	if !ok {
		return 0
	}
	return units(2 * uint64(len(s)))
}

// runesCost bounds a function that converts its text to runes, four bytes
// each, and writes a result at most as long.
func runesCost(args []ref.Val, _ uint64) uint64 {
	s, ok := text(args, 0)
	if !ok {
		return 0
	}
	return units(6 * uint64(len(s)))
}

// searchCost bounds indexOf and lastIndexOf, which compare the substring
// at every position of the text, rune by rune.
func searchCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	sub, ok2 := text(args, 1)
	if !ok1 || !ok2 {
		return 0
	}
	return add(runesCost(args, limit), mul(units(uint64(len(s))), units(uint64(len(sub)))))
}

// quoteCost bounds strings.quote: an escape or a replaced invalid byte
// writes up to three bytes for one.
func quoteCost(args []ref.Val, _ uint64) uint64 {
	s, ok := text(args, 0)
	if !ok {
		return 0
	}
	return units(4*uint64(len(s)) + 2)
}

// replaceCost bounds replace: the text read, and the result, in which each
// replaced occurrence (at most the count given) takes the new string's
// length. An empty old string occurs before every rune and at the end.
func replaceCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	old, ok2 := text(args, 1)
	repl, ok3 := text(args, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0
	}
	read := units(uint64(len(s)))
	if read > limit {
		return read
	}
	var n uint64
	if old == "" {
		n = uint64(utf8.RuneCountInString(s)) + 1
	} else {
		n = uint64(strings.Count(s, old))
	}
	if max := count(args, 3); max >= 0 && uint64(max) < n {
		n = uint64(max)
	}
	return add(read, units(add(uint64(len(s)), mul(n, uint64(len(repl))))))
}

// splitCost bounds split: the text read, and a list of its parts (at most
// the count given). An empty separator splits every rune.
func splitCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	sep, ok2 := text(args, 1)
	if !ok1 || !ok2 {
		return 0
	}
	read := units(2 * uint64(len(s)))
	if read > limit {
		return read
	}
	var n uint64
	if sep == "" {
		n = uint64(utf8.RuneCountInString(s))
	} else {
		n = uint64(strings.Count(s, sep)) + 1
	}
	if max := count(args, 2); max >= 0 && uint64(max) < n {
		n = uint64(max)
	}
	return add(read, mul(n, elementUnits))
}

// joinCost bounds join: the list read, and the result, its strings and a
// separator between each two.
func joinCost(args []ref.Val, limit uint64) uint64 {
	if len(args) == 0 {
		return 0
	}
	l, ok := args[0].(traits.Lister)
	if !ok {
		return 0
	}
	size, ok := l.Size().(types.Int)
	if !ok || size < 0 {
		return 0
	}
	n := uint64(size)
	if n > limit {
		return n
	}
	sep, _ := text(args, 1)
	total := mul(n, uint64(len(sep)))
	for i := range n {
		s, ok := l.Get(types.Int(i)).(types.String)
		if !ok {
			return 0 // join reports it
		}
		total = add(total, uint64(len(s)))
	}
	return add(n, units(total))
}

// formatCost bounds format: the format string read, and the result, the
// formatted arguments and the padding their precisions ask for.
func formatCost(args []ref.Val, limit uint64) uint64 {
	f, ok := text(args, 0)
	if !ok || len(args) < 2 {
		return 0
	}
	read := units(uint64(len(f)))
	if read > limit {
		return read
	}
	precision := uint64(0)
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) || f[i+1] != '.' {
			continue
		}
		p := uint64(0)
		for j := i + 2; j < len(f) && f[j] >= '0' && f[j] <= '9'; j++ {
			p = add(mul(p, 10), uint64(f[j]-'0'))
		}
		precision = add(precision, p)
	}
	budget := mul(limit, 10) // bytes
	out := formattedBytes(args[1], precision, budget, 0)
	return add(read, units(add(add(uint64(len(f)), precision), out)))
}

// formattedBytes bounds the length of v formatted by format, with numbers
// padded to precision, counting no further than budget.
func formattedBytes(v ref.Val, precision, budget uint64, depth int) uint64 {
	switch v := v.(type) {
	case types.String:
		return uint64(len(v))
	case types.Bytes:
		return 2 * uint64(len(v))
	case types.Int, types.Uint, types.Double:
		return numberBytes + precision
	case traits.Lister:
		return containerBytes(v.Iterator(), nil, precision, budget, depth)
	case traits.Mapper:
		return containerBytes(v.Iterator(), v, precision, budget, depth)
	}
	return numberBytes
}

// containerBytes sums formattedBytes over a list's elements, or a map's
// keys and values, with two bytes of punctuation each.
func containerBytes(it traits.Iterator, m traits.Mapper, precision, budget uint64, depth int) uint64 {
	if depth > 32 {
		return budget + 1
	}
	total := uint64(2)
	for it.HasNext() == types.True && total <= budget {
		k := it.Next()
		total = add(total, add(2, formattedBytes(k, precision, budget, depth+1)))
		if m != nil {
			if v, found := m.Find(k); found {
				total = add(total, add(2, formattedBytes(v, precision, budget, depth+1)))
			}
		}
	}
	return total
}

// regexCost bounds a regular expression over a text: the text's units
// times the pattern's compiled size. The pattern is parsed only when its
// length alone keeps the bound under limit, so a long pattern costs
// nothing to refuse.
func regexCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	pattern, ok2 := text(args, 1)
	if !ok1 || !ok2 {
		return 0
	}
	read := units(uint64(len(s)) + 1)
	lower := mul(read, uint64(len(pattern))/4+1)
	if lower > limit {
		return lower
	}
	size, ok := patternSize(pattern)
	if !ok {
		return lower // the function reports the error
	}
	return mul(read, size/4+1)
}

// lastPattern is the last pattern patternSize parsed, by its hash (the
// pattern itself, a request's or a claim's, is not kept), and its size: a
// call is priced before it runs and again when the cost tracker counts it.
var lastPattern atomic.Pointer[pricedPattern]

type pricedPattern struct {
	hash, length uint64
	size         uint64
}

var patternSeed = maphash.MakeSeed()

// patternSize returns the programSize of pattern, or false when it does
// not parse.
func patternSize(pattern string) (uint64, bool) {
	hash := maphash.String(patternSeed, pattern)
	if p := lastPattern.Load(); p != nil && p.hash == hash && p.length == uint64(len(pattern)) {
		return p.size, true
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, false
	}
	size := programSize(re)
	lastPattern.Store(&pricedPattern{hash: hash, length: uint64(len(pattern)), size: size})
	return size, true
}

// matchesCost bounds matches(text, pattern).
func matchesCost(args []ref.Val, limit uint64) uint64 { return regexCost(args, limit) }

// extractAllCost bounds regex.extractAll: the match, and a list of at most
// one element per position of the text.
func extractAllCost(args []ref.Val, limit uint64) uint64 {
	s, _ := text(args, 0)
	return add(regexCost(args, limit), mul(uint64(len(s))+1, elementUnits))
}

// regexReplaceCost bounds regex.replace(text, pattern, replacement[, n]):
// the match, and a result in which each match (at most one per position,
// and at most n) becomes the replacement, whose group references (\1) can
// each take the whole text.
func regexReplaceCost(args []ref.Val, limit uint64) uint64 {
	s, ok1 := text(args, 0)
	repl, ok2 := text(args, 2)
	if !ok1 || !ok2 {
		return 0
	}
	c := regexCost(args, limit)
	if c > limit {
		return c
	}
	n := uint64(len(s)) + 1
	if max := count(args, 3); max >= 0 && uint64(max) < n {
		n = uint64(max)
	}
	refs := uint64(strings.Count(repl, `\`))
	each := add(uint64(len(repl)), mul(refs, uint64(len(s))))
	return add(c, units(add(uint64(len(s)), mul(n, each))))
}

// rangeCost bounds lists.range(n): a list of n elements.
func rangeCost(args []ref.Val, _ uint64) uint64 {
	n := count(args, 0)
	if n < 0 {
		return 0
	}
	return mul(uint64(n), elementUnits)
}

// programSize bounds the number of instructions of re compiled: a
// repetition counts its body as many times as it may run, as the compiler
// writes it out, and a program has a failing and a matching instruction.
func programSize(re *syntax.Regexp) uint64 { return add(instructions(re), 2) }

// instructions bounds the instructions of re within a program.
func instructions(re *syntax.Regexp) uint64 {
	switch re.Op {
	case syntax.OpLiteral:
		return uint64(len(re.Rune)) + 1
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		return mul(uint64(n)+1, instructions(re.Sub[0])+1)
	}
	size := uint64(2 + len(re.Sub)) // an alternation's splits, a capture's marks
	for _, sub := range re.Sub {
		size = add(size, instructions(sub))
	}
	return size
}
