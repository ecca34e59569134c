package manager

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// decodeClaims is a handler's view of a token's claims, with the types
// Decode must fill exactly.
type decodeClaims struct {
	Subject string      `json:"sub"`
	Account int64       `json:"account"`
	Max     int64       `json:"max"`
	Huge    uint64      `json:"huge"`
	Number  json.Number `json:"number"`
	Small   int         `json:"small"`
	Ratio   float64     `json:"ratio"`
	Org     struct {
		Name  string   `json:"name"`
		ID    int64    `json:"id"`
		Roles []string `json:"roles"`
		Team  struct {
			Lead uint64 `json:"lead"`
		} `json:"team"`
	} `json:"org"`
	Extra map[string]any `json:"extra"`
}

// decodeToken returns a verified token with integers at float64's limit and
// past it, and nested objects.
func decodeToken(t *testing.T) (*Manager, *Token) {
	t.Helper()
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	signed := craftRaw(t, map[string]any{"alg": "HS256", "typ": "JWT"}, rawClaims(
		`"sub":"alice","account":9007199254740993,"max":9223372036854775807,`+
			`"huge":18446744073709551615,"number":1234567890123456789,"small":42,"ratio":0.25,`+
			`"org":{"name":"acme","id":9007199254740995,"roles":["admin","ops"],"team":{"lead":18446744073709551614}},`+
			`"extra":{"tier":"gold"}`))
	return m, mustVerify(t, m, signed)
}

// TestDecode checks that Decode fills a struct's fields exactly: integers
// above 2^53 into int64, uint64 and json.Number, nested structs, from the
// token as verified and again from the cache.
func TestDecode(t *testing.T) {
	m, tok := decodeToken(t)
	for call := range 2 {
		if call == 1 {
			tok = mustVerify(t, m, tok.Signed) // from the cache
		}
		var got decodeClaims
		if err := tok.Decode(&got); err != nil {
			t.Fatalf("call %d: Decode = %v", call, err)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"sub", got.Subject, "alice"},
			{"account (2^53+1)", got.Account, int64(1<<53 + 1)},
			{"max (max int64)", got.Max, int64(math.MaxInt64)},
			{"huge (max uint64)", got.Huge, uint64(math.MaxUint64)},
			{"number", got.Number, json.Number("1234567890123456789")},
			{"small", got.Small, 42},
			{"ratio", got.Ratio, 0.25},
			{"org.name", got.Org.Name, "acme"},
			{"org.id", got.Org.ID, int64(1<<53 + 3)},
			{"org.roles", got.Org.Roles, []string{"admin", "ops"}},
			{"org.team.lead", got.Org.Team.Lead, uint64(math.MaxUint64 - 1)},
			{"extra", got.Extra, map[string]any{"tier": "gold"}},
		}
		for _, c := range checks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("call %d: %s = %#v, want %#v", call, c.name, c.got, c.want)
			}
		}
	}
}

// TestDecodeErrors checks that Decode refuses, with a clear error and
// without the claim's value, a claim of another JSON type than its field,
// an integer its field can't hold, and a target that is not a non-nil
// pointer.
func TestDecodeErrors(t *testing.T) {
	_, tok := decodeToken(t)
	var nilPtr *decodeClaims
	cases := []struct {
		name     string
		into     any
		sentinel error
		want     string // in the message
	}{
		{"string claim into int", &struct {
			Sub int `json:"sub"`
		}{}, ErrClaim, `claim "sub" is a JSON string, not int`},
		{"max uint64 into int64", &struct {
			Huge int64 `json:"huge"`
		}{}, ErrClaim, `claim "huge" is a JSON number, not int64`},
		{"2^53+1 into int32", &struct {
			Account int32 `json:"account"`
		}{}, ErrClaim, `claim "account" is a JSON number, not int32`},
		{"fraction into int", &struct {
			Ratio int `json:"ratio"`
		}{}, ErrClaim, `claim "ratio" is a JSON number, not int`},
		{"object into string", &struct {
			Org string `json:"org"`
		}{}, ErrClaim, `claim "org" is a JSON object, not string`},
		{"nested type", &struct {
			Org struct {
				Roles []int `json:"roles"`
			} `json:"org"`
		}{}, ErrClaim, `claim "org.roles" is a JSON string, not int`},
		{"into a slice", &[]string{}, ErrClaim, "the claims are a JSON object, not []string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := tok.Decode(c.into)
			if !errors.Is(err, c.sentinel) {
				t.Fatalf("Decode = %v, want an error wrapping %v", err, c.sentinel)
			}
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				t.Errorf("Decode = %v, want a *json.UnmarshalTypeError inside", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Decode = %q, want it to say %q", err, c.want)
			}
			for _, value := range []string{"alice", "18446744073709551615", "9007199254740993", "0.25", "acme", "admin"} {
				if strings.Contains(err.Error(), value) {
					t.Errorf("Decode = %q: it shows the claim value %s", err, value)
				}
			}
		})
	}
	for _, c := range []struct {
		name string
		into any
	}{
		{"nil", nil},
		{"non-pointer struct", decodeClaims{}},
		{"nil pointer", nilPtr},
		{"non-pointer map", map[string]any{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := tok.Decode(c.into)
			var invalid *json.InvalidUnmarshalError
			if !errors.As(err, &invalid) {
				t.Fatalf("Decode(%T) = %v, want a *json.InvalidUnmarshalError", c.into, err)
			}
			if !strings.Contains(err.Error(), "need a non-nil pointer") {
				t.Errorf("Decode(%T) = %q, want it to say what is needed", c.into, err)
			}
		})
	}
	var none *Token
	if err := none.Decode(&decodeClaims{}); !errors.Is(err, ErrNoToken) {
		t.Errorf("(*Token)(nil).Decode = %v, want ErrNoToken", err)
	}
}

// TestDecodeIsolated checks that Decode reads the claims as verified, not
// what a handler changed in Token.Claims, and that what it returns shares
// nothing with the token: changing it changes neither the token nor the
// next decode, nor a decision.
func TestDecodeIsolated(t *testing.T) {
	m, tok := decodeToken(t)
	tok.Claims["sub"] = "mallory"
	tok.Claims["org"].(map[string]any)["name"] = "evil"
	tok.Claims["extra"].(map[string]any)["tier"] = "platinum"

	var first decodeClaims
	if err := tok.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if first.Subject != "alice" || first.Org.Name != "acme" || first.Extra["tier"] != "gold" {
		t.Fatalf("Decode after a handler's change = %q %q %v, want the verified alice acme gold",
			first.Subject, first.Org.Name, first.Extra["tier"])
	}
	first.Extra["tier"] = "platinum"
	first.Org.Roles[0] = "root"

	var again decodeClaims
	if err := mustVerify(t, m, tok.Signed).Decode(&again); err != nil {
		t.Fatal(err)
	}
	if again.Extra["tier"] != "gold" || again.Org.Roles[0] != "admin" {
		t.Errorf("Decode after changing a decoded value = %v %v, want gold admin", again.Extra["tier"], again.Org.Roles)
	}
	if claimOf(&tok.state.view, "extra").(map[string]any)["tier"] != "gold" {
		t.Error("changing a decoded map changed the token's verified claims")
	}
}

// TestDecodeTokenLiteral checks that a Token no Manager built decodes its
// Claims, and that Claims which are not JSON are an error, not a panic.
func TestDecodeTokenLiteral(t *testing.T) {
	tok := &Token{Claims: map[string]any{"sub": "bob", "n": json.Number("9223372036854775807")}}
	var got struct {
		Sub string `json:"sub"`
		N   int64  `json:"n"`
	}
	if err := tok.Decode(&got); err != nil || got.Sub != "bob" || got.N != math.MaxInt64 {
		t.Errorf("Decode = %v, %+v, want bob %d", err, got, int64(math.MaxInt64))
	}
	bad := &Token{Claims: map[string]any{"ch": make(chan int)}}
	if err := bad.Decode(&got); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("Decode of claims that are not JSON = %v, want an error", err)
	}
	var empty struct{ Sub string }
	if err := (&Token{}).Decode(&empty); err != nil || empty.Sub != "" {
		t.Errorf("Decode of a Token without claims = %v, %+v, want nothing decoded", err, empty)
	}
}
