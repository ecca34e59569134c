package celexpr

import (
	"regexp/syntax"
	"testing"
)

// FuzzProgramSize: the size a pattern is priced at is at least the number
// of instructions Go's regexp compiles it to, which a match steps through
// at each position of the text.
func FuzzProgramSize(f *testing.F) {
	for _, seed := range []string{
		"a", "a?a?a?", "(a?a?a?a?a?a?a?a?a?a?){1000}", "ab|cd|ef|gh|ij|kl|mn|op", "(?i)hello",
		"[a-z]+@[a-z]+\\.com", "x{2,5}y{3,}z{0,1000}", "((a|b)*c){10}", "^$\\b\\B.", "(?:(?:a{10}){10}){10}",
		"(a)(b)(c)(d)(e)", "\\pL+\\d*", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		if len(pattern) > 1000 {
			return
		}
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			return
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			return
		}
		if got := programSize(re); got < uint64(len(prog.Inst)) {
			t.Fatalf("programSize(%q) = %d, under the %d instructions it compiles to", pattern, got, len(prog.Inst))
		}
	})
}
