package jws

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestPeekIssuer(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, payload string
		want          string
		ok            bool
	}{
		{"first member", `{"iss":"https://a.example","sub":"x"}`, "https://a.example", true},
		{"after others", `{"sub":"x","aud":["iss"],"iss":"https://b.example"}`, "https://b.example", true},
		{"white space", "{ \"sub\" : \"x\" ,\n \"iss\" :\t\"https://c.example\" }", "https://c.example", true},
		{"escaped", `{"iss":"https:\/\/d.example\u002f"}`, "https://d.example/", true},
		{"nested iss is not the claim", `{"act":{"iss":"https://evil.example"},"sub":"x"}`, "", false},
		{"iss as a value", `{"sub":"iss","x":"y"}`, "", false},
		{"nested then top", `{"act":{"iss":"https://evil.example"},"iss":"https://e.example"}`, "https://e.example", true},
		{"not a string", `{"iss":42}`, "", false},
		{"array payload", `["iss","https://a.example"]`, "", false},
		{"no iss", `{"sub":"x"}`, "", false},
		{"unfinished", `{"iss":"https://a.exa`, "", false},
		{"empty", ``, "", false},
		{"too long", `{"iss":"` + strings.Repeat("a", maxPeekedIssuer+1) + `"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PeekIssuer(enc(tt.payload))
			if got != tt.want || ok != tt.ok {
				t.Errorf("PeekIssuer = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := PeekIssuer("not base64!"); ok {
		t.Error("PeekIssuer of bad base64 found an issuer")
	}
	deep := enc(`{"a":` + strings.Repeat("[", MaxDepth+5) + `}`)
	if _, ok := PeekIssuer(deep); ok {
		t.Error("PeekIssuer of a too deep payload found an issuer")
	}
}

func FuzzPeekIssuer(f *testing.F) {
	f.Add(`{"iss":"https://a.example"}`)
	f.Add(`{"act":{"iss":"x"},"iss":"y"}`)
	f.Add(`{"iss":"\ud800"}`)
	f.Fuzz(func(t *testing.T, payload string) {
		raw, escaped, ok := peekMember([]byte(payload), "iss")
		if !ok && raw != nil {
			t.Fatalf("not ok with %q", raw)
		}
		if len(raw) > maxPeekedIssuer {
			t.Fatalf("issuer of %d bytes", len(raw))
		}
		// LookupIssuer finds exactly what PeekIssuer reads.
		seg := base64.RawURLEncoding.EncodeToString([]byte(payload))
		iss, peeked := PeekIssuer(seg)
		v, lookedUp, found := LookupIssuer(seg, map[string]int{iss: 1})
		if peeked != lookedUp || peeked && (!found || v != 1) {
			t.Fatalf("PeekIssuer = %q, %v; LookupIssuer = %v, %v, %v (escaped %v)", iss, peeked, v, lookedUp, found, escaped)
		}
	})
}

// TestLookupIssuer checks that LookupIssuer finds the issuer PeekIssuer
// reads, escaped or not, without allocating for an unescaped one.
func TestLookupIssuer(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	m := map[string]int{"https://a.example": 1, "https://b.example/é": 2}
	tests := []struct {
		payload       string
		want          int
		peeked, found bool
	}{
		{`{"sub":"x","iss":"https://a.example"}`, 1, true, true},
		{`{"iss":"https:\/\/a.example"}`, 1, true, true},
		{`{"iss":"https://b.example/\u00e9"}`, 2, true, true},
		{`{"iss":"https://c.example"}`, 0, true, false},
		{`{"iss":"https://A.example"}`, 0, true, false},
		{`{"iss":1}`, 0, false, false},
		{`{"act":{"iss":"https://a.example"}}`, 0, false, false},
		{`[]`, 0, false, false},
	}
	for _, tt := range tests {
		v, peeked, found := LookupIssuer(enc(tt.payload), m)
		if v != tt.want || peeked != tt.peeked || found != tt.found {
			t.Errorf("LookupIssuer(%s) = %v, %v, %v; want %v, %v, %v", tt.payload, v, peeked, found, tt.want, tt.peeked, tt.found)
		}
	}
	seg := enc(`{"exp":1800000000,"iat":1700000000,"iss":"https://a.example","sub":"alice"}`)
	if n := testing.AllocsPerRun(100, func() { LookupIssuer(seg, m) }); n != 0 {
		t.Errorf("LookupIssuer allocates %v times", n)
	}
}
