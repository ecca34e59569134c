package bearer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/manager"
)

func TestToken(t *testing.T) {
	const tok = "aaa.bbb.ccc"
	tests := []struct {
		name    string
		values  []string
		limit   int
		want    string
		wantErr error // ErrRequest for a request error, manager.ErrMalformed for a token too long
	}{
		{"bearer", []string{"Bearer " + tok}, maxHeader, tok, nil},
		{"lower case scheme", []string{"bearer " + tok}, maxHeader, tok, nil},
		{"mixed case scheme", []string{"BeArEr " + tok}, maxHeader, tok, nil},
		{"no values", nil, maxHeader, "", manager.ErrNoToken},
		{"empty value", []string{""}, maxHeader, "", manager.ErrNoToken},
		{"several values", []string{"Bearer " + tok, "Bearer " + tok}, maxHeader, "", ErrRequest},
		{"nine values", strings.Split(strings.Repeat("Bearer "+tok+",", 9), ",")[:9], maxHeader, "", ErrRequest},
		{"token split across values", []string{"Bearer aaa.bbb", ".ccc"}, maxHeader, "", ErrRequest},
		{"basic scheme", []string{"Basic dXNlcjpwYXNz"}, maxHeader, "", ErrRequest},
		{"token scheme", []string{"Token " + tok}, maxHeader, "", ErrRequest},
		{"scheme alone", []string{"Bearer"}, maxHeader, "", ErrRequest},
		{"scheme and space", []string{"Bearer "}, maxHeader, "", ErrRequest},
		{"short value", []string{"Bear"}, maxHeader, "", ErrRequest},
		{"two spaces", []string{"Bearer  " + tok}, maxHeader, "", ErrRequest},
		{"tab", []string{"Bearer\t" + tok}, maxHeader, "", ErrRequest},
		{"no space", []string{"Bearer" + tok}, maxHeader, "", ErrRequest},
		{"second token", []string{"Bearer " + tok + " " + tok}, maxHeader, "", ErrRequest},
		{"trailing space", []string{"Bearer " + tok + " "}, maxHeader, "", ErrRequest},
		{"comma list", []string{"Bearer " + tok + ",Bearer " + tok}, maxHeader, "", ErrRequest},
		{"no scheme", []string{tok}, maxHeader, "", ErrRequest},
		{"non-ASCII", []string{"Bearer " + tok + "\xff"}, maxHeader, "", ErrRequest},
		{"NUL", []string{"Bearer " + tok + "\x00"}, maxHeader, "", ErrRequest},
		{"over the sanity bound", []string{"Bearer " + strings.Repeat("a", maxHeader+1)}, maxHeader, "", manager.ErrMalformed},
		{"64 KiB token", []string{"Bearer " + strings.Repeat("a", 64<<10)}, maxHeader, strings.Repeat("a", 64<<10), nil},
		{"at the sanity bound", []string{"Bearer " + strings.Repeat("a", maxHeader)}, maxHeader, strings.Repeat("a", maxHeader), nil},
		{"at a verifier's bound", []string{"Bearer " + strings.Repeat("a", 8<<10)}, 8 << 10, strings.Repeat("a", 8<<10), nil},
		{"over a verifier's bound", []string{"Bearer " + strings.Repeat("a", 8<<10+1)}, 8 << 10, "", manager.ErrMalformed},
		{"over the bound with a bad byte", []string{"Bearer " + strings.Repeat("a", 8<<10) + " "}, 8 << 10, "", manager.ErrMalformed},
		{"under the bound with a bad byte", []string{"Bearer " + strings.Repeat("a", 8<<10-1) + " "}, 8 << 10, "", ErrRequest},
		{"DEL", []string{"Bearer " + tok + "\x7f"}, maxHeader, "", ErrRequest},
		{"space inside", []string{"Bearer aaa bbb"}, maxHeader, "", ErrRequest},
		{"quote", []string{"Bearer " + tok + `"`}, maxHeader, "", ErrRequest},
		{"all b64token punctuation", []string{"Bearer a-._~+/="}, maxHeader, "a-._~+/=", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Token(tt.values, tt.limit)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Token() = %.20q, %v; want %.20q, nil", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Token() error = %v; want %v", err, tt.wantErr)
			}
			if request := errors.Is(err, ErrRequest); request != (tt.wantErr == ErrRequest) {
				t.Fatalf("Token() error %v: a request error = %v", err, request)
			}
			if request := tt.wantErr == ErrRequest; request {
				re, ok := errors.AsType[*RequestError](err)
				if !ok || !slices.Contains(RequestErrors(), re) {
					t.Fatalf("Token() error %v is not one of RequestErrors", err)
				}
				if !errors.Is(err, manager.ErrMalformed) {
					t.Fatalf("Token() error %v does not wrap ErrMalformed", err)
				}
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

// TestRequestMessages checks what a client is told of each mistake.
func TestRequestMessages(t *testing.T) {
	const tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	tests := []struct {
		values []string
		want   string
	}{
		{[]string{"Token " + tok}, `authorization: expected "Bearer <token>"`},
		{[]string{tok}, `authorization: expected "Bearer <token>"`},
		{[]string{"Bearer "}, `authorization: expected "Bearer <token>", the token is empty`},
		{[]string{"Bearer  " + tok}, `authorization: expected "Bearer <token>", one space after the scheme and none in the token`},
		{[]string{"Bearer " + tok, "Bearer " + tok}, "2 authorization values, expected one"},
		{[]string{"Bearer " + tok, "", "x"}, "3 authorization values, expected one"},
		{make([]string, 9), "more than 8 authorization values, expected one"},
	}
	for _, tt := range tests {
		_, err := Token(tt.values, maxHeader)
		re, ok := errors.AsType[*RequestError](err)
		if !ok || re.Message != tt.want {
			t.Errorf("Token(%.30q) = %v, want the message %q", tt.values, err, tt.want)
		}
	}
}

// TestLimit checks the bound each verifier gets.
func TestLimit(t *testing.T) {
	m, err := manager.New(manager.Config{Issuer: "test", Algorithm: "HS256", Secret: []byte("a secret of thirty-two bytes or more")}, manager.WithMaxTokenSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	is, err := manager.NewIssuers(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		v    manager.Verifier
		want int
	}{
		{"manager", m, 4096},
		{"issuers", is, 4096},
		{"a verifier that does not say", verifierFunc(nil), maxHeader},
		{"no verifier", nil, maxHeader},
		{"a bound that is not positive", sized(0), maxHeader},
	} {
		if got := Limit(tt.v); got != tt.want {
			t.Errorf("%s: Limit = %d, want %d", tt.name, got, tt.want)
		}
	}
}

type verifierFunc func(context.Context, string) (*manager.Token, error)

func (f verifierFunc) Verify(ctx context.Context, tok string) (*manager.Token, error) {
	return f(ctx, tok)
}

type sized int

func (sized) Verify(context.Context, string) (*manager.Token, error) {
	return nil, manager.ErrSignature
}
func (s sized) MaxTokenSize() int { return int(s) }

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Bearer a.b.c", "bearer x", "Bearer  x", "Basic x", "", "Bearer"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := Parse(v, maxHeader)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error", tok)
			}
			re, isRequest := errors.AsType[*RequestError](err)
			known := err == manager.ErrNoToken || err == errLong || isRequest && slices.Contains(RequestErrors(), re)
			if !known {
				t.Fatalf("Parse(%q) = %v, not one of the parser's errors", v, err)
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
		_, err := Parse(v, maxHeader)
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
// the scan of one table lookup per byte that the pair table replaced
// (bytes-*) and the per-character switch before it (switch-*).
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
				if _, err := Parse(bm.v, maxHeader); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("bytes-"+bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.v)))
			b.ReportAllocs()
			for b.Loop() {
				if !isB64TokenBytes(bm.v[len("Bearer "):]) {
					b.Fatal("refused")
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

// isB64TokenBytes is the scan with one lookup of notB64token per byte,
// sixteen at a time in two chains: the baseline of the pair table.
func isB64TokenBytes(tok string) bool {
	var bad, bad2 byte
	i := 0
	for ; i+16 <= len(tok); i += 16 {
		w := tok[i : i+16]
		bad |= notB64token[w[0]] | notB64token[w[1]] | notB64token[w[2]] | notB64token[w[3]] |
			notB64token[w[4]] | notB64token[w[5]] | notB64token[w[6]] | notB64token[w[7]]
		bad2 |= notB64token[w[8]] | notB64token[w[9]] | notB64token[w[10]] | notB64token[w[11]] |
			notB64token[w[12]] | notB64token[w[13]] | notB64token[w[14]] | notB64token[w[15]]
	}
	bad |= bad2
	for ; i < len(tok); i++ {
		bad |= notB64token[tok[i]]
	}
	return bad == 0
}

// TestB64TokenPairTable checks the pair table against the RFC's class for
// every pair of bytes.
func TestB64TokenPairTable(t *testing.T) {
	for p := range 1 << 16 {
		want := isB64TokenRFC(byte(p)) && isB64TokenRFC(byte(p>>8))
		if got := notB64tokenPair[p] == 0; got != want {
			t.Fatalf("pair %#04x (bytes %#x then %#x): table says b64token %v", p, byte(p), byte(p>>8), got)
		}
	}
}

// TestB64TokenEveryPosition checks the sixteen-at-a-time scan against the
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

// TestOversizedNotScanned checks that a value over the bound is refused by
// its length: one of valid characters and one whose last byte is bad get
// the same size error, never the bad character's.
func TestOversizedNotScanned(t *testing.T) {
	for _, limit := range []int{8 << 10, maxHeader} {
		good := "Bearer " + garbage(limit+1)
		bad := good[:len(good)-1] + " "
		for _, v := range []string{good, bad} {
			if _, err := Parse(v, limit); err != errLong {
				t.Errorf("limit %d, %d bytes: %v, want the size error", limit, len(v), err)
			}
		}
	}
}

// BenchmarkOversized is Parse of a token of usual size and of a 1 MiB
// value, with the bound of a Manager by default (8 KiB) and with the
// sanity bound of a verifier that says none: the refusal does not read the
// value, so it costs no more than the valid token's scan. 1MiB-scanned is
// the scan that the refusal no longer does.
func BenchmarkOversized(b *testing.B) {
	valid := "Bearer " + garbage(400)
	huge := "Bearer " + garbage(1<<20+1) // over both bounds
	for _, bm := range []struct {
		name  string
		v     string
		limit int
	}{
		{"valid-400B", valid, 8 << 10},
		{"1MiB-manager-bound", huge, 8 << 10},
		{"1MiB-sanity-bound", huge, maxHeader},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bm.v, bm.limit); (err == nil) != (bm.v == valid) {
					b.Fatal(err)
				}
			}
		})
	}
	// What the value cost when the scan came before the size check.
	b.Run("1MiB-scanned", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !isB64Token(huge[len("Bearer "):]) {
				b.Fatal("refused")
			}
		}
	})
}
