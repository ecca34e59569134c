package tokensource

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestExpiryOf(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tok := func(payload string) string { return b64(`{"alg":"HS256"}`) + "." + b64(payload) + ".sig" }
	tests := []struct {
		name  string
		token string
		want  time.Time // zero: refused
	}{
		{"integer exp", tok(`{"exp":1800000000}`), time.Unix(1800000000, 0)},
		{"fractional exp", tok(`{"exp":1800000000.5}`), time.Unix(1800000000, 5e8)},
		{"exponent", tok(`{"exp":1.8e9}`), time.Unix(1800000000, 0)},
		{"padded payload", b64(`{}`) + "." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1800000000}`)) + ".sig", time.Unix(1800000000, 0)},
		{"empty signature", tok(`{"exp":1800000000}`)[:len(tok(`{"exp":1800000000}`))-3], time.Unix(1800000000, 0)},
		{"no exp", tok(`{"sub":"alice"}`), time.Time{}},
		{"exp a string", tok(`{"exp":"1800000000"}`), time.Time{}},
		{"exp null", tok(`{"exp":null}`), time.Time{}},
		{"exp an object", tok(`{"exp":{"n":1}}`), time.Time{}},
		{"exp true", tok(`{"exp":true}`), time.Time{}},
		{"exp zero", tok(`{"exp":0}`), time.Time{}},
		{"exp negative", tok(`{"exp":-5}`), time.Time{}},
		{"exp past year 9999", tok(`{"exp":253402300800}`), time.Time{}},
		{"exp huge", tok(`{"exp":1e400}`), time.Time{}},
		{"payload an array", tok(`[1800000000]`), time.Time{}},
		{"payload not JSON", tok(`exp=1800000000`), time.Time{}},
		{"payload truncated JSON", tok(`{"exp":18000`), time.Time{}},
		{"payload not base64", b64(`{}`) + ".!!!." + "sig", time.Time{}},
		{"empty payload", b64(`{}`) + "..sig", time.Time{}},
		{"two segments", b64(`{}`) + "." + b64(`{"exp":1800000000}`), time.Time{}},
		{"five segments (JWE)", "a.b.c.d.e", time.Time{}},
		{"one segment", "opaque-token", time.Time{}},
		{"empty", "", time.Time{}},
		{"too large", tok(`{"exp":1800000000,"pad":"` + strings.Repeat("x", maxTokenSize) + `"}`), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expiryOf(tt.token)
			if tt.want.IsZero() {
				if err == nil {
					t.Fatalf("expiryOf = %v, want an error", got)
				}
				if strings.Contains(err.Error(), tt.token) && tt.token != "" {
					t.Fatalf("error %q holds the token", err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("expiryOf = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func FuzzExpiryOf(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE4MDAwMDAwMDB9.sig", "a.b.c", "..", "a.b.c.d", "",
		"x." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1e308}`)) + ".s",
		"x." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":-0}`)) + ".s",
		"x." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":`+strings.Repeat("[", 20000)+`}`)) + ".s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		exp, err := expiryOf(token)
		if err != nil {
			return
		}
		if exp.Unix() <= 0 || exp.Unix() > maxExp || strings.Count(token, ".") != 2 {
			t.Fatalf("expiryOf(%q) = %v, accepted", token, exp)
		}
	})
}
