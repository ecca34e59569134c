package jws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// refusedOnPurpose are the refusals of JSON that encoding/json accepts.
var refusedOnPurpose = []error{ErrNotUTF8, ErrSurrogate, ErrDepth, ErrDuplicate}

// FuzzDecodeText is the differential test of the decoder against
// encoding/json, for every input either accepts: encoding/json (into a
// map, with UseNumber, numbers then compared as DecodeJSONObject documents)
// accepts exactly what the decoder accepts, but for the refusals made on
// purpose, and both decode the same claims. The members the decoder keeps
// are the map's.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://issuer.test","sub":"alice","aud":["a","b"],"exp":4102444800,"iat":1700000000.5,"scope":"read write","n":null,"t":true,"f":false}`,
		`{"a":"\u00e9\n\"\\\/\b\f\r\t","b":"\ud83d\ude00"}`, `{"a":{"b":[1,2,{"c":-0.5e-3}]},"d":[]}`,
		`{"a":1234567890123456789,"b":-9007199254740993,"c":9007199254740992,"d":1e400}`,
		`null`, ` {} `, `[]`, `"x"`, `1`, `{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`,
		`{"a":1,}`, `{"a" 1}`, `{"a":1}x`, `{"a":-}`, `{"a":tru}`, `{"a":"b`, `{"a":"\ud800"}`,
		`{"a":1,"a":2}`, strings.Repeat("[", 70) + strings.Repeat("]", 70),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d decoder
		got, err := d.decode(string(b))
		if err == nil {
			checkMembers(t, d.members(), got)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want map[string]any
		wantErr := dec.Decode(&want)
		if wantErr == nil {
			if _, more := dec.Token(); more != nil && !errors.Is(more, errEOF) {
				wantErr = more
			} else if more == nil {
				wantErr = errSyntax // a second value
			}
		}
		if wantErr == nil {
			// encoding/json with UseNumber keeps out-of-range numbers; json.Unmarshal refuses them.
			var rounded map[string]any
			wantErr = json.Unmarshal(b, &rounded)
		}
		switch {
		case err == nil && wantErr != nil:
			t.Fatalf("decodeText(%q) accepts what encoding/json refuses: %v", b, wantErr)
		case err != nil && wantErr == nil:
			for _, e := range refusedOnPurpose {
				if err == e {
					return
				}
			}
			t.Fatalf("decodeText(%q) refuses what encoding/json accepts: %v", b, err)
		case err == nil && !sameExact(got, want):
			t.Fatalf("decodeText(%q) = %#v, encoding/json: %#v", b, got, want)
		}
	})
}

// checkMembers checks that members are the members of m: each name once,
// with its value in m.
func checkMembers(t *testing.T, members []Member, m map[string]any) {
	t.Helper()
	if len(members) != len(m) {
		t.Fatalf("%d members, %d in the map", len(members), len(m))
	}
	for _, e := range members {
		v, ok := m[e.Name]
		if !ok || !sameExact(e.Value, v) {
			t.Fatalf("member %q = %#v, in the map %#v (present %t)", e.Name, e.Value, v, ok)
		}
	}
}

// TestDecodeMembers checks that the members of a decoded payload are its
// claims in the order of the text, for payloads of every size around the
// room a Payload has for them.
func TestDecodeMembers(t *testing.T) {
	for _, n := range []int{0, 1, 8, 9, 15, 16, 17, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var text strings.Builder
			text.WriteString("{")
			for i := range n {
				if i > 0 {
					text.WriteString(",")
				}
				// Names in descending order: the text's order is not the names'.
				fmt.Fprintf(&text, `"c%03d":{"i":%d}`, n-i, i)
			}
			text.WriteString("}")
			var p Payload
			if err := DecodePayload(base64.RawURLEncoding.EncodeToString([]byte(text.String())), &p); err != nil {
				t.Fatal(err)
			}
			members := p.Members()
			checkMembers(t, members, p.Claims)
			for i, e := range members {
				if want := fmt.Sprintf("c%03d", n-i); e.Name != want {
					t.Fatalf("member %d is %q, want %q", i, e.Name, want)
				}
			}
		})
	}
}

// errEOF is what Decoder.Token returns at the end of its input.
var errEOF = func() error {
	_, err := json.NewDecoder(strings.NewReader("")).Token()
	return err
}()

// BenchmarkDecodeClaims decodes the payload of a typical token of ten
// claims: with the decoder (one pass), and as before it, CheckJSONText's
// pass then json.Unmarshal into a map (which validates the text again).
func BenchmarkDecodeClaims(b *testing.B) {
	payload := []byte(`{"iss":"https://issuer.example","sub":"alice","aud":["api","admin"],"exp":4102444800,` +
		`"iat":1700000000,"nbf":1700000000,"jti":"9f1c2e7a-5b3d-4e8f-a6c1-2d4b7e9f0a13","type":"auth",` +
		`"scope":"read write","tenant":{"id":1234567,"tier":"gold"}}`)
	b.Run("decoder=one-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeClaims(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder=check+encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := CheckJSONText(payload); err != nil {
				b.Fatal(err)
			}
			claims := make(map[string]any, 16)
			if err := json.Unmarshal(payload, &claims); err != nil {
				b.Fatal(err)
			}
		}
	})
}
