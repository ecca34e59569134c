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
		iss, ok := peekMember([]byte(payload), "iss")
		if !ok && iss != "" {
			t.Fatalf("not ok with %q", iss)
		}
		if len(iss) > maxPeekedIssuer*6 {
			t.Fatalf("issuer of %d bytes", len(iss))
		}
	})
}
