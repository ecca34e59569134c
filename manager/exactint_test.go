package manager

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// TestVerifyKeepsLargeIntegersExact checks that an integer claim beyond
// 2^53 reaches Token.Claims as its exact text: decoded as float64, the
// account 1234567890123456789 would equal 1234567890123456768 and its
// neighbours, and a rule comparing ids would confuse them.
func TestVerifyKeepsLargeIntegersExact(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	signed := craftRaw(t, map[string]any{"alg": "HS256", "typ": "JWT"},
		rawClaims(`"account":1234567890123456789,"small":42,"ids":[9007199254740993,1.5]`))
	for call := range 2 { // decoded, then from the cache
		tok, err := m.Verify(context.Background(), signed)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := tok.Claims["account"].(json.Number); !ok || got != "1234567890123456789" {
			t.Fatalf("call %d: account = %#v, want json.Number(\"1234567890123456789\")", call, tok.Claims["account"])
		}
		if got, ok := tok.Claims["small"].(float64); !ok || got != 42 {
			t.Fatalf("call %d: small = %#v, want float64 42", call, tok.Claims["small"])
		}
		ids, _ := tok.Claims["ids"].([]any)
		if len(ids) != 2 || ids[0] != json.Number("9007199254740993") || ids[1] != 1.5 {
			t.Fatalf("call %d: ids = %#v", call, tok.Claims["ids"])
		}
	}
}

// TestIssuedLargeIntegersExact checks that AuthToken returns a large
// integer claim as Verify will: exact, as json.Number.
func TestIssuedLargeIntegersExact(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	tok, err := m.AuthToken("alice", nil, map[string]any{"account": int64(1234567890123456789)})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Claims["account"]; got != json.Number("1234567890123456789") {
		t.Fatalf("issued account = %#v", got)
	}
	verified, err := m.Verify(context.Background(), tok.Signed)
	if err != nil {
		t.Fatal(err)
	}
	if got := verified.Claims["account"]; got != json.Number("1234567890123456789") {
		t.Fatalf("verified account = %#v", got)
	}
}

// TestLargeNumericDateRefused checks that exp, iat and nbf written as
// integers beyond 2^53 are refused as before: they are no NumericDate.
func TestLargeNumericDateRefused(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	for _, name := range []string{"exp", "iat", "nbf"} {
		claims := claimsWith(map[string]any{name: json.Number("12345678901234567890")})
		signed := craft(t, "HS256", testSecret, map[string]any{"alg": "HS256", "typ": "JWT"}, claims)
		if _, err := m.Verify(context.Background(), signed); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s beyond 2^53: error = %v, want ErrMalformed", name, err)
		}
	}
}
