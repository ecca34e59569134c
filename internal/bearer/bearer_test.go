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
		{"too long", []string{"Bearer " + strings.Repeat("a", maxHeader)}, "", manager.ErrMalformed},
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
			if !isB64Token(tok[i]) {
				t.Fatalf("Parse(%q) accepted byte %q", v, tok[i])
			}
		}
	})
}
