package bearer

import (
	"errors"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/manager"
)

func TestToken(t *testing.T) {
	const tok = "aaa.bbb.ccc"
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr error
	}{
		{"bearer", []string{"Bearer " + tok}, tok, nil},
		{"lower case scheme", []string{"bearer " + tok}, tok, nil},
		{"mixed case scheme", []string{"BeArEr " + tok}, tok, nil},
		{"no values", nil, "", manager.ErrNoToken},
		{"empty value", []string{""}, "", manager.ErrNoToken},
		{"several values", []string{"Bearer " + tok, "Bearer " + tok}, "", manager.ErrMalformed},
		{"token split across values", []string{"Bearer aaa.bbb", ".ccc"}, "", manager.ErrMalformed},
		{"basic scheme", []string{"Basic dXNlcjpwYXNz"}, "", manager.ErrMalformed},
		{"scheme alone", []string{"Bearer"}, "", manager.ErrMalformed},
		{"scheme and space", []string{"Bearer "}, "", manager.ErrMalformed},
		{"two spaces", []string{"Bearer  " + tok}, "", manager.ErrMalformed},
		{"tab", []string{"Bearer\t" + tok}, "", manager.ErrMalformed},
		{"second token", []string{"Bearer " + tok + " " + tok}, "", manager.ErrMalformed},
		{"trailing space", []string{"Bearer " + tok + " "}, "", manager.ErrMalformed},
		{"comma list", []string{"Bearer " + tok + ",Bearer " + tok}, "", manager.ErrMalformed},
		{"no scheme", []string{tok}, "", manager.ErrMalformed},
		{"non-ASCII", []string{"Bearer " + tok + "\xff"}, "", manager.ErrMalformed},
		{"NUL", []string{"Bearer " + tok + "\x00"}, "", manager.ErrMalformed},
		{"over the sanity bound", []string{"Bearer " + strings.Repeat("a", maxHeader)}, "", manager.ErrMalformed},
		{"64 KiB token", []string{"Bearer " + strings.Repeat("a", 64<<10)}, strings.Repeat("a", 64<<10), nil},
		{"at the sanity bound", []string{"Bearer " + strings.Repeat("a", maxHeader-len("Bearer "))}, strings.Repeat("a", maxHeader-len("Bearer ")), nil},
		{"DEL", []string{"Bearer " + tok + "\x7f"}, "", manager.ErrMalformed},
		{"space inside", []string{"Bearer aaa bbb"}, "", manager.ErrMalformed},
		{"quote", []string{"Bearer " + tok + `"`}, "", manager.ErrMalformed},
		{"all b64token punctuation", []string{"Bearer a-._~+/="}, "a-._~+/=", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Token(tt.values)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Token() = %q, %v; want %q, nil", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Token() error = %v; want %v", err, tt.wantErr)
			}
			if got != "" {
				t.Fatalf("Token() returned %q with an error", got)
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatalf("error %q echoes the token", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Bearer a.b.c", "bearer x", "Bearer  x", "Basic x", "", "Bearer"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := Parse(v)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error", tok)
			}
			return
		}
		if tok == "" || len(v) != len("Bearer ")+len(tok) || !strings.EqualFold(v[:7], "bearer ") {
			t.Fatalf("Parse(%q) = %q", v, tok)
		}
		for i := 0; i < len(tok); i++ {
			if !isB64TokenRFC(tok[i]) {
				t.Fatalf("Parse(%q) accepted byte %q", v, tok[i])
			}
		}
	})
}

// isB64TokenRFC is RFC 6750's b64token character class written out: the
// oracle of the table Parse reads.
func isB64TokenRFC(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '+', '/', '=':
		return true
	}
	return false
}

// TestB64TokenTable checks the table against RFC 6750 for every byte.
func TestB64TokenTable(t *testing.T) {
	for c := range 256 {
		if b64token[c] != isB64TokenRFC(byte(c)) {
			t.Errorf("byte %#x: table says %v", c, b64token[c])
		}
	}
}

// TestMissingSchemeMessage checks that a token sent without its scheme is
// told what was expected, and that the error still wraps ErrMalformed
// without echoing the value.
func TestMissingSchemeMessage(t *testing.T) {
	const tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	for _, v := range []string{tok, "Token " + tok, "Basic dXNlcjpwYXNz", "Bearer", "Bearer:" + tok} {
		_, err := Parse(v)
		if !errors.Is(err, manager.ErrMalformed) {
			t.Fatalf("Parse(%q) error = %v, want ErrMalformed", v, err)
		}
		if !strings.Contains(err.Error(), `expected "Bearer <token>"`) {
			t.Errorf("Parse(%q) error = %q, want it to say expected \"Bearer <token>\"", v, err)
		}
		if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "dXNl") {
			t.Errorf("error %q echoes the value", err)
		}
	}
}

// garbage returns n random bytes of the base64url alphabet: what a flood
// of made-up tokens looks like to the parser.
func garbage(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	b := make([]byte, n)
	state := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		b[i] = alphabet[state%uint64(len(alphabet))]
	}
	return string(b)
}

// BenchmarkParse is Parse of an ordinary token and of 8 KiB of random
// base64url, the cost of a garbage token before Verify's size bound, beside
// the per-character switch that the table replaced (switch-*).
func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct {
		name string
		v    string
	}{
		{"token-400B", "Bearer " + garbage(400)},
		{"random-8KiB", "Bearer " + garbage(8<<10)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.v)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bm.v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("switch-"+bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.v)))
			b.ReportAllocs()
			for b.Loop() {
				tok := bm.v[len("Bearer "):]
				for i := 0; i < len(tok); i++ {
					if !isB64TokenRFC(tok[i]) {
						b.Fatal("refused")
					}
				}
			}
		})
	}
}

// TestB64TokenEveryPosition checks the eight-at-a-time scan against the
// RFC's class with one byte of each kind at every position of tokens of
// every length up to 33, so that no position of the unrolled loop or of
// its tail is skipped.
func TestB64TokenEveryPosition(t *testing.T) {
	for n := 1; n <= 33; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				if got, want := isB64Token(string(b)), isB64TokenRFC(byte(c)); got != want {
					t.Fatalf("length %d, byte %#x at %d: %v, want %v", n, c, pos, got, want)
				}
			}
		}
	}
}
