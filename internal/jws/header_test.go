package jws

import (
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
)

// fullHeader is DecodeHeader without the refusal from the first bytes:
// the whole segment decoded, then its JSON.
func fullHeader(seg string) (map[string]any, error) {
	b, err := segmentEncoding.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	err = DecodeJSONObject(b, &fields)
	return fields, err
}

// TestDecodeHeaderFirstBytes checks that the refusal from the first four
// characters refuses only headers that decoding all of them refuses: every
// first byte, after zero to three bytes of whitespace, before an object.
func TestDecodeHeaderFirstBytes(t *testing.T) {
	for _, lead := range []string{"", " ", "\t\n", "\r \t", " \n\r\t"} {
		for c := range 256 {
			text := lead + string(rune(c)) + `{"alg":"HS256"}`
			if c >= 0x80 {
				text = lead + string([]byte{byte(c)}) + `{"alg":"HS256"}`
			}
			seg := base64.RawURLEncoding.EncodeToString([]byte(text))
			_, fullErr := fullHeader(seg)
			h, err := DecodeHeader(seg)
			if (err == nil) != (fullErr == nil) {
				t.Fatalf("%q: DecodeHeader error = %v, decoding all of it: %v", text, err, fullErr)
			}
			if err == nil && h.Alg != "HS256" {
				t.Fatalf("%q: alg %q", text, h.Alg)
			}
		}
	}
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"object", `{"alg":"HS256"}`, true},
		{"null", `null`, true},
		{"whitespace, then object", "   \t{\"alg\":\"HS256\"}", true},
		{"array", `[{"alg":"HS256"}]`, false},
		{"string", `"alg"`, false},
		{"number", `12345`, false},
		{"true", `true`, false},
		{"byte order mark", "\ufeff{\"alg\":\"HS256\"}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeHeader(base64.RawURLEncoding.EncodeToString([]byte(tt.text)))
			if (err == nil) != tt.ok {
				t.Fatalf("DecodeHeader(%q) error = %v, want ok %v", tt.text, err, tt.ok)
			}
			// Refused from the first bytes, before the rest is decoded.
			if !tt.ok && !errors.Is(err, errNotObject) {
				t.Fatalf("DecodeHeader(%q) error = %v, want the refusal from the first bytes", tt.text, err)
			}
		})
	}
	if _, err := DecodeHeader("!!!!" + base64.RawURLEncoding.EncodeToString([]byte(`{}`))); err == nil {
		t.Fatal("DecodeHeader accepted a segment that is not base64url")
	}
}

// FuzzDecodeHeader checks DecodeHeader against decoding all of the
// segment, for every segment: both refuse, or both accept the same fields.
func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{`{"alg":"HS256","typ":"JWT"}`, `null`, ` {"alg":"ES256"}`, `[1]`, `"x"`, "\x00{}"} {
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(s)))
	}
	f.Add("eyJ")
	f.Add("AAAA.")
	f.Fuzz(func(t *testing.T, seg string) {
		want, wantErr := fullHeader(seg)
		h, err := DecodeHeader(seg)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("DecodeHeader(%q) error = %v, decoding all of it: %v", seg, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(h.Fields, want) {
			t.Fatalf("DecodeHeader(%q) = %v, want %v", seg, h.Fields, want)
		}
		if errors.Is(err, errNotObject) && wantErr == nil {
			t.Fatalf("DecodeHeader(%q) refused an object", seg)
		}
	})
}

// TestRefusedByPrefix checks what the first four characters of a token
// refuse, and that Split or DecodeHeader refuses each of them too.
func TestRefusedByPrefix(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name, token string
		refused     bool
	}{
		{"token", enc([]byte(`{"alg":"HS256"}`)) + ".e30.c2ln", false},
		{"null header", enc([]byte(`null`)) + ".e30.c2ln", false},
		{"whitespace before the object", enc([]byte(" \t{}")) + ".e30.c2ln", false},
		{"random base64url", "AAAAxyz.abc.def", true},
		{"random, no dot", "QUJDREVGR0g", true},
		{"array header", enc([]byte(`[1]`)) + ".e30.c2ln", true},
		{"dot among the four", "AA.A.A", false},
		{"CR among the four", "AA\rAA.b.c", false},
		{"LF among the four", "\nAAAA.b.c", false},
		{"not base64url", "!!!!.b.c", false},
		{"padding", "AA==.b.c", false},
		{"short", "AAA", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RefusedByPrefix(tt.token); got != tt.refused {
				t.Fatalf("RefusedByPrefix(%q) = %v, want %v", tt.token, got, tt.refused)
			}
			if tt.refused && !refusedBySplitOrHeader(tt.token) {
				t.Fatalf("%q is refused by its prefix only", tt.token)
			}
		})
	}
}

// refusedBySplitOrHeader reports whether Split or DecodeHeader refuses
// token: the refusal RefusedByPrefix anticipates.
func refusedBySplitOrHeader(token string) bool {
	parts, ok := Split(token)
	if !ok {
		return true
	}
	_, err := fullHeader(parts.Header)
	return err != nil
}

// FuzzRefusedByPrefix checks that every token refused from its first four
// characters is one that splitting and decoding its header refuse.
func FuzzRefusedByPrefix(f *testing.F) {
	for _, s := range []string{"eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "AAAA.b.c", "AA\rA.b.c", "ab.c", "bnVsbA.e30.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if RefusedByPrefix(token) && !refusedBySplitOrHeader(token) {
			t.Fatalf("RefusedByPrefix(%q) refused a token whose header decodes", token)
		}
	})
}
