package manager

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/protojwt/protojwt/internal/jws"
)

// nested returns a JSON object whose member "x" nests arrays so that the
// whole text is depth levels deep.
func nested(depth int) string {
	return `{"x":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
}

// manyMembers returns an object of n members named m0, m1, ..., then extra.
func manyMembers(n int, extra string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"m` + strconv.Itoa(i) + `":1`)
	}
	b.WriteString(extra + "}")
	return b.String()
}

func TestDecodeJSONObject(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		wantErr error
	}{
		{"claims", `{"iss":"a","sub":"alice","exp":1,"scope":{"sub":1,"sub ":[{"sub":2}]}}`, nil},
		{"same name in nested objects", `{"a":{"k":1},"b":{"k":1},"k":{"k":{"k":0}}}`, nil},
		{"name equal to a value", `{"sub":"sub","x":"sub"}`, nil},
		{"escaped quote in name", `{"a\"b":1,"a\"c":2}`, nil},
		{"escaped backslash then u", `{"a":"\\ud800"}`, nil},
		{"surrogate pair", `{"smile":"\ud83d\ude00","SMILE":"\uD83D\uDE00"}`, nil},
		{"U+FFFD escaped and raw", `{"a":"\ufffd","b":"` + "\uFFFD" + `"}`, nil},
		{"depth at the bound", nested(jws.MaxDepth), nil},
		{"many distinct members", manyMembers(700, ""), nil},
		{"null", `null`, nil},
		{"brackets in strings", `{"a":"[[[[{{{{","b":"]]]}}}"}`, nil},

		{"duplicate name", `{"sub":"alice","sub":"admin"}`, jws.ErrDuplicate},
		{"duplicate name far apart", `{"sub":"a","x":[1,{"sub":2}],"y":{},"sub":"b"}`, jws.ErrDuplicate},
		{"duplicate name escaped", `{"sub":"alice","s\u0075b":"admin"}`, jws.ErrDuplicate},
		{"duplicate name both escaped", `{"\u0073ub":"alice","s\u0075b":"admin"}`, jws.ErrDuplicate},
		{"duplicate name with spaces", "{ \"sub\" : 1 ,\n\t\"sub\":2 }", jws.ErrDuplicate},
		{"duplicate empty name", `{"":1,"":2}`, jws.ErrDuplicate},
		{"duplicate among many", manyMembers(700, `,"m699":2`), jws.ErrDuplicate},
		{"duplicate escaped among many", manyMembers(700, `,"m\u0034\u00302":2`), jws.ErrDuplicate},
		{"duplicate in a deep object", `{"a":` + strings.Repeat(`{"b":`, jws.MaxDepth-3) + `{"c":1,"c":2}` + strings.Repeat("}", jws.MaxDepth-3) + `,"a":1}`, jws.ErrDuplicate},
		{"depth over the bound", nested(jws.MaxDepth + 1), jws.ErrDepth},
		{"depth far over the bound", nested(3000), jws.ErrDepth},
		{"objects over the bound", strings.Repeat(`{"a":`, jws.MaxDepth+1) + "1" + strings.Repeat("}", jws.MaxDepth+1), jws.ErrDepth},
		{"invalid UTF-8 in a value", "{\"sub\":\"alice\xff\"}", jws.ErrNotUTF8},
		{"invalid UTF-8 in a name", "{\"s\xc3b\":1}", jws.ErrNotUTF8},
		{"overlong encoding", "{\"a\":\"\xc0\xaf\"}", jws.ErrNotUTF8},
		{"encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", jws.ErrNotUTF8},
		{"lone high surrogate", `{"a":"\ud800"}`, jws.ErrSurrogate},
		{"lone high surrogate at the end", `{"a":"x\uD83D"}`, jws.ErrSurrogate},
		{"lone low surrogate", `{"a":"\udc00"}`, jws.ErrSurrogate},
		{"high surrogate then letter", `{"a":"\ud83dx\ude00"}`, jws.ErrSurrogate},
		{"two high surrogates", `{"a":"\ud83d\ud83d"}`, jws.ErrSurrogate},
		{"surrogate in a name", `{"\ud800":1}`, jws.ErrSurrogate},
		{"unfinished string", `{"a":"b`, jws.ErrUnfinished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var into map[string]any
			err := jws.DecodeJSONObject([]byte(tt.text), &into)
			if err != tt.wantErr {
				t.Fatalf("jws.DecodeJSONObject(%.80q) = %v, want %v", tt.text, err, tt.wantErr)
			}
			if tt.wantErr == nil && !json.Valid([]byte(tt.text)) {
				t.Fatalf("test bug: %q is not JSON", tt.text)
			}
		})
	}
}

// TestCheckJSONTextAllocs pins the cost of checking an ordinary payload:
// no allocation.
func TestCheckJSONTextAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	payload := []byte(`{"iss":"https://issuer.test","sub":"alice","aud":["a","b"],"iat":1800000000,` +
		`"nbf":1800000000,"exp":1800003600,"jti":"AAAAAAAAAAAAAAAAAAAAAA","type":"auth",` +
		`"scope":{"admin":true,"projects":["a","b"]},"tenant":"acme"}`)
	if allocs := testing.AllocsPerRun(100, func() {
		if n, err := jws.CheckJSONText(payload); err != nil || n != 10 {
			t.Fatal(n, err)
		}
	}); allocs != 0 {
		t.Errorf("jws.CheckJSONText allocates %v times per call, want 0", allocs)
	}
}

// jsonTextOracle is jws.DecodeJSONObject's checks written another way, for valid JSON
// only: encoding/json's tokenizer finds the depth and the top-level names,
// and lone surrogate escapes are found in the text once escaped
// backslashes are out of the way.
func jsonTextOracle(b []byte) error {
	if !utf8.Valid(b) {
		return jws.ErrNotUTF8
	}
	unescaped := strings.ReplaceAll(string(b), `\\`, "__")
	if loneSurrogate.MatchString(surrogatePair.ReplaceAllString(unescaped, "")) {
		return jws.ErrSurrogate
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers out of float64's range are still JSON
	depth, maxDepth := 0, 0
	seen := map[string]bool{}
	topObject, expectName := false, false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil
		}
		atTop := depth == 1 && topObject
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				if depth == 0 {
					topObject, expectName = tok == '{', tok == '{'
				}
				depth++
				maxDepth = max(maxDepth, depth)
				continue
			}
			depth--
			if depth == 1 && topObject {
				expectName = true // a member's value ended
			}
		case string:
			if atTop && expectName {
				if seen[tok] {
					return jws.ErrDuplicate
				}
				seen[tok], expectName = true, false
				continue
			}
			if atTop {
				expectName = true
			}
		default:
			if atTop {
				expectName = true
			}
		}
	}
	if maxDepth > jws.MaxDepth {
		return jws.ErrDepth
	}
	return nil
}

var (
	surrogatePair = regexp.MustCompile(`\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}`)
	loneSurrogate = regexp.MustCompile(`\\u[dD][89a-fA-F][0-9a-fA-F]{2}`)
)

// FuzzDecodeJSONObject checks jws.DecodeJSONObject against jsonTextOracle on
// JSON objects, and that it never panics on anything else.
func FuzzDecodeJSONObject(f *testing.F) {
	for _, s := range []string{
		`{"sub":"alice","sub":"bob"}`, `{"a":{"a":1},"b":[{"a":2}]}`, `{"s\u0075b":1,"sub":2}`,
		`{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`, `{"a":"\\ud800"}`, nested(jws.MaxDepth), nested(jws.MaxDepth + 1),
		"{\"a\":\"\xff\"}", `[{"a":1},{"a":1}]`, `{"a":"\"","b":"}"}`, `"x"`, `null`, `{`, `{"a`,
		manyMembers(40, `,"m3\u0039":2`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var into map[string]any
		got := jws.DecodeJSONObject(b, &into)
		var object map[string]any
		if json.Unmarshal(b, &object) != nil {
			if got == nil {
				t.Fatalf("jws.DecodeJSONObject(%q) accepts what json.Unmarshal refuses", b)
			}
			return
		}
		if want := jsonTextOracle(b); got != want {
			t.Fatalf("jws.DecodeJSONObject(%q) = %v, oracle says %v", b, got, want)
		}
		if got == nil && !reflect.DeepEqual(roundedNumbers(into), object) {
			t.Fatalf("jws.DecodeJSONObject(%q) = %v, json.Unmarshal %v", b, into, object)
		}
	})
}

// roundedNumbers returns a copy of v with its json.Number values replaced
// by the float64 json.Unmarshal decodes them to: the claims as golang-jwt
// reads them.
func roundedNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			panic(err)
		}
		return f
	case map[string]any:
		if v == nil {
			return v
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = roundedNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = roundedNumbers(e)
		}
		return out
	}
	return v
}

// segmentRefused reports whether seg, the header or payload segment of a
// compact JWS, is JSON that jws.DecodeJSONObject refuses, as
// jsonTextOracle finds, where golang-jwt reads it.
func segmentRefused(seg string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	return err == nil && json.Valid(b) && jsonTextOracle(b) != nil
}

// BenchmarkCheckJSONText is the cost jws.CheckJSONText adds to Verify of a
// token not in the cache: the payload of an ordinary auth token, and the
// worst a payload within the default size bound can be (nesting at the
// bound, many members, escaped names).
func BenchmarkCheckJSONText(b *testing.B) {
	m := newTestManager(b, Config{Algorithm: "HS256", Secret: testSecret})
	tok, err := m.AuthToken("alice", map[string]any{"admin": true, "projects": []any{"a", "b"}}, map[string]any{"tenant": "acme"})
	if err != nil {
		b.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.Signed, ".")[1])
	if err != nil {
		b.Fatal(err)
	}
	var escaped strings.Builder
	escaped.WriteString("{")
	for i := range 500 {
		if i > 0 {
			escaped.WriteString(",")
		}
		escaped.WriteString(`"\u0061` + strconv.Itoa(i) + `":0`)
	}
	escaped.WriteString("}")
	for _, bm := range []struct {
		name string
		text []byte
	}{
		{"token", payload},
		{"depth-64", []byte("[" + strings.Repeat(nested(jws.MaxDepth-1)+",", 39) + nested(jws.MaxDepth-1) + "]")},
		{"members", []byte(manyMembers(700, ""))},
		{"escaped", []byte(escaped.String())},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.text)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = jws.CheckJSONText(bm.text)
			}
		})
	}
}
