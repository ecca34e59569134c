package celexpr_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
)

var searchDesc = (&testpb.SearchRequest{}).ProtoReflect().Descriptor()

// extensions is an Engine with the extension libraries whose functions are
// bounded.
func extensions() *celexpr.Engine {
	return celexpr.New(celexpr.WithEnvOptions(ext.Strings(), ext.Encoders(), cel.OptionalTypes(), ext.Regex(), ext.Lists()))
}

// TestBoundedCalls: every function whose work grows faster than the cost
// CEL counts for it is refused before it runs when its arguments would
// cost more than the limit, on inputs at the message limit, and allocates
// next to nothing doing so; the same functions work on inputs that fit.
func TestBoundedCalls(t *testing.T) {
	big := hostileText(messageLimit - 64)
	templ := strings.Repeat("{t}", (messageLimit-64)/3)
	words := strings.Repeat("a,", (messageLimit-64)/2)
	tenant := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		expr    string
		text    string
		pattern string
		want    bool // when it fits
		refused bool
	}{
		{"matches a request's pattern", "request.text.matches(request.pattern)", big, "a+", false, true},
		{"matches, text and pattern", "request.text.matches(request.pattern)", hostileText(messageLimit / 2), hostilePattern(messageLimit/2 - 64), false, true},
		{"matches, a long pattern", "request.text.matches(request.pattern)", "a", hostilePattern(messageLimit - 64), false, true},
		{"matches, a short pattern that compiles long", "request.text.matches(request.pattern)", hostileText(1000), "(a?a?a?a?a?a?a?a?a?a?){1000}", false, true},
		{"matches, a claim against a request's pattern", "claims.motto.matches(request.pattern)", "", hostilePattern(messageLimit - 64), false, true},
		{"matches, global form", "matches(request.text, request.pattern)", big, "a", false, true},
		{"matches in a loop", "[1, 2, 3, 4].all(i, request.text.matches(request.pattern))", hostileText(20000), "a?a?a?a?", false, true},
		{"matches that fits", "request.text.matches(request.pattern)", "alice's notes", "^alice", true, false},
		{"replace a placeholder with a claim", "request.text.replace('{t}', claims.tenant).size() < 64", templ, "", false, true},
		{"replace the empty string", "request.text.replace('', claims.tenant).size() < 64", hostileText(20000), "", false, true},
		{"replace that fits", "request.text.replace('{t}', claims.tenant).size() == 103", "{t}xyz", "", true, false},
		{"split", "request.text.split(',').size() > 0", words, "", false, true},
		{"split by runes", "request.text.split('').size() > 0", hostileText(60000), "", false, true},
		{"split that fits", "request.text.split(',').size() == 3", "a,b,c", "", true, false},
		{"join", "request.text.split(',').join(claims.tenant).size() > 0", strings.Repeat("a,", 2000), "", false, true},
		{"lowerAscii", "request.text.lowerAscii() == ''", big, "", false, true},
		{"upperAscii", "request.text.upperAscii() == ''", big, "", false, true},
		{"trim", "request.text.trim() == ''", big, "", false, true},
		{"reverse", "request.text.reverse() == ''", big, "", false, true},
		{"substring", "request.text.substring(1) == ''", big, "", false, true},
		{"charAt", "request.text.charAt(1) == ''", big, "", false, true},
		{"indexOf", "request.text.indexOf(request.pattern) >= 0", hostileText(100000), hostileText(50000) + "b", false, true},
		{"lastIndexOf", "request.text.lastIndexOf(request.pattern) >= 0", hostileText(100000), "b" + hostileText(50000), false, true},
		{"indexOf that fits", "request.text.indexOf(request.pattern) == 2", "abcd", "cd", true, false},
		{"format", "'%s%s'.format([request.text, request.text]).size() > 0", big, "", false, true},
		{"format with a request's precision", "request.pattern.format([1.5]).size() > 0", "", "%.100000000f", false, true},
		{"format that fits", "'%s-%d'.format([request.text, 7]) == 'a-7'", "a", "", true, false},
		{"strings.quote", "strings.quote(request.text).size() > 0", big, "", false, true},
		{"base64.decode", "base64.decode(request.text).size() > 0", big, "", false, true},
		{"regex.replace", "regex.replace(request.text, request.pattern, claims.tenant).size() > 0", big, "a", false, true},
		{"regex.replace with a group", "regex.replace(request.text, request.pattern, '\\\\1\\\\1').size() > 0", hostileText(20000), "(a)", false, true},
		{"regex.extractAll", "regex.extractAll(request.text, request.pattern).size() > 0", big, "a", false, true},
		{"regex.extract that fits", "regex.extract(request.text, request.pattern) == optional.of('b')", "abc", "b", true, false},
		{"lists.range", "lists.range(size(request.text)).size() > 0", hostileText(100000), "", false, true},
	}
	e := extensions()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := e.Compile(tt.expr, searchDesc)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.expr, err)
			}
			in := protojwt.ExpressionInput{
				Claims:  map[string]any{"tenant": tenant, "motto": hostileText(200000)},
				Request: &testpb.SearchRequest{Text: tt.text, Pattern: tt.pattern},
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := x.Eval(in)
			runtime.ReadMemStats(&after)
			if !tt.refused {
				if err != nil || got != tt.want {
					t.Fatalf("Eval = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "would exceed the cost limit") {
				t.Fatalf("Eval = %v, %v; want the call refused before it runs", got, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("refusing the call allocated %d bytes", alloc)
			}
		})
	}
}

// TestBoundedCallsCounted: a bounded call that fits the limit is counted
// against it at its price, so a loop of such calls stops at the limit
// where CEL, which prices them lower or at one unit, would let it run.
func TestBoundedCallsCounted(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		text    string
		pattern string
	}{
		// 4 411 units a call, where CEL counts 2 005.
		{"matches", "[1, 2, 3, 4].all(i, request.text.matches(request.pattern))", hostileText(4000), hostilePattern(20)},
		// About 3 000 units a call, where CEL counts one.
		{"replace", "[1, 2, 3, 4].all(i, request.text.replace('{t}', claims.tenant).size() > 0)", strings.Repeat("{t}", 300), ""},
		{"split", "[1, 2, 3, 4].all(i, request.text.split('').size() > 0)", hostileText(2000), ""},
	}
	e := extensions()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := e.Compile(tt.expr, searchDesc)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.expr, err)
			}
			one, err := e.Compile(strings.Replace(tt.expr, "[1, 2, 3, 4]", "[1]", 1), searchDesc)
			if err != nil {
				t.Fatal(err)
			}
			in := protojwt.ExpressionInput{
				Claims:  map[string]any{"tenant": strings.Repeat("x", 100)},
				Request: &testpb.SearchRequest{Text: tt.text, Pattern: tt.pattern},
			}
			if ok, err := one.Eval(in); err != nil || !ok {
				t.Fatalf("one call: %v, %v; want it to fit the limit", ok, err)
			}
			got, err := x.Eval(in)
			if err == nil || !strings.Contains(err.Error(), "cost limit") {
				t.Fatalf("Eval = %v, %v; want the loop stopped at the cost limit", got, err)
			}
		})
	}
}

// TestBoundedCallsConcurrent: 100 goroutines price patterns of both kinds
// at once, through the one remembered price: each call is priced as its
// own pattern is.
func TestBoundedCallsConcurrent(t *testing.T) {
	x, err := celexpr.New().Compile("request.text.matches(request.pattern)", searchDesc)
	if err != nil {
		t.Fatal(err)
	}
	small := &testpb.SearchRequest{Text: hostileText(1000), Pattern: "a+"}
	large := &testpb.SearchRequest{Text: hostileText(1000), Pattern: "(a?a?a?a?a?a?a?a?a?a?){1000}"}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			for range 20 {
				req, refused := small, false
				if i%2 == 1 {
					req, refused = large, true
				}
				ok, err := x.Eval(protojwt.ExpressionInput{Request: req})
				if refused != (err != nil) || ok == refused {
					errs <- fmt.Errorf("pattern %.12q: %v, %v; want refused: %v", req.Pattern, ok, err, refused)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
