package dpop

import (
	"context"
	"strconv"
	"testing"
)

var claimsSeeds = []string{
	`{"jti":"a","htm":"POST","htu":"https://a/b","iat":1796531637,"ath":"x"}`,
	` { "jti" : "a" , "iat" : 1.5e9 } `,
	`{"jti":"a","jti":"b"}`,
	`{"JTI":"a","jti":"b"}`,
	`{"jti":"a\u0062","iat":"1"}`,
	`{"jti":"é","nonce":null}`,
	`{"jti":7}`,
	`{"iat":01}`,
	`{"iat":-0.5E+3,"x":[1,{"y":true}]}`,
	`{}`,
	`[]`,
	`{"jti":"a",}`,
	`{"jti":"a"}x`,
	`null`,
}

// TestClaimsFlatMatchesJSON: the fast scanner and encoding/json read every
// seed alike; the scanner declines what it does not handle.
func TestClaimsFlatMatchesJSON(t *testing.T) {
	for _, s := range claimsSeeds {
		checkClaimsAgree(t, []byte(s))
	}
}

func checkClaimsAgree(t *testing.T, raw []byte) {
	fast, ok := scanFlat(string(raw))
	if !ok {
		return
	}
	slow, err := decodeClaimsJSON(raw)
	if err != nil {
		t.Fatalf("%q: scanned, but encoding/json says %v", raw, err)
	}
	if fast != slow {
		t.Fatalf("%q: scanner %+v, encoding/json %+v", raw, fast, slow)
	}
}

func FuzzClaims(f *testing.F) {
	for _, s := range claimsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkClaimsAgree(t, raw)
	})
}

// FuzzVerify: whatever the proof, Verify returns an error or a proof,
// never panics, and accepts nothing but a proof signed as the seed was
// (each fuzzing process makes its own key, so the seed is checked by its
// claims).
func FuzzVerify(f *testing.F) {
	p := defaultParts(f)
	good := p.sign(f)
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AA")
	f.Fuzz(func(t *testing.T, proof string) {
		v := newTestVerifier(t)
		got, err := v.Verify(context.Background(), proof, testCall, "")
		if err == nil && (got == nil || got.ID != p.claims["jti"]) {
			t.Fatalf("accepted %q", proof)
		}
	})
}

// TestIssuedAtWholeSeconds: the whole-seconds reading of iat agrees with
// the general one, and leaves to it what it doesn't read.
func TestIssuedAtWholeSeconds(t *testing.T) {
	tests := []struct {
		iat  string
		fast bool // read by seconds
		ok   bool
		want int64
	}{
		{"1765022400", true, true, 1765022400},
		{"0", true, true, 0},
		{"1099511627776", false, true, 1 << 40}, // 13 digits: the float path
		{"1099511627777", false, false, 0},
		{"999999999999", true, true, 999999999999},
		{"1765022400.5", false, true, 1765022400},
		{"1.7650224e9", false, true, 1765022400},
		{"-1", false, false, 0},
		{"01", false, true, 1}, // not JSON, never decoded: left to the float path
		{`"1765022400"`, false, false, 0},
		{"", false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.iat, func(t *testing.T) {
			if _, fast := seconds(tt.iat); fast != tt.fast {
				t.Fatalf("seconds(%q) ok = %v; want %v", tt.iat, fast, tt.fast)
			}
			got, ok := (&claims{IAT: tt.iat}).issuedAt()
			if ok != tt.ok || ok && got.Unix() != tt.want {
				t.Fatalf("issuedAt(%q) = %v, %v; want %d, %v", tt.iat, got.Unix(), ok, tt.want, tt.ok)
			}
			if f, err := strconv.ParseFloat(tt.iat, 64); tt.fast && (err != nil || int64(f) != got.Unix()) {
				t.Fatalf("float reading of %q = %v; whole seconds %d", tt.iat, f, got.Unix())
			}
		})
	}
}
