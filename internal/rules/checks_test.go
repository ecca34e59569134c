package rules_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// claimsOf decodes the JSON text s as the manager decodes a token's claims:
// numbers float64, except integers beyond 2^53, which stay json.Number.
func claimsOf(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return exactClaims(claims).(map[string]any)
}

func exactClaims(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil && i <= 1<<53 && i >= -(1<<53) {
			return float64(i)
		}
		if !strings.ContainsAny(string(x), ".eE") {
			return x
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = exactClaims(e)
		}
	case []any:
		for i, e := range x {
			x[i] = exactClaims(e)
		}
	}
	return v
}

// check is a rules.Check on the claim path.
func check(op rules.Op, path ...string) rules.Check { return rules.Check{Path: path, Op: op} }

func equals(v any, path ...string) rules.Check {
	c := check(rules.OpEquals, path...)
	c.Match.Value = v
	return c
}

func equalsVar(name string, path ...string) rules.Check {
	c := check(rules.OpEquals, path...)
	c.Match.Var = name
	return c
}

func containsValue(v any, path ...string) rules.Check {
	c := check(rules.OpContains, path...)
	c.Match.Value = v
	return c
}

func containsVar(name string, path ...string) rules.Check {
	c := check(rules.OpContains, path...)
	c.Match.Var = name
	return c
}

func in(values []any, path ...string) rules.Check {
	c := check(rules.OpIn, path...)
	c.Values = values
	return c
}

func prefix(s string, path ...string) rules.Check {
	c := check(rules.OpPrefix, path...)
	c.Text = s
	return c
}

func suffix(s string, path ...string) rules.Check {
	c := check(rules.OpSuffix, path...)
	c.Text = s
	return c
}

func includes(v any, path ...string) rules.Check {
	c := check(rules.OpIncludes, path...)
	c.Value = v
	return c
}

func present(p bool, path ...string) rules.Check {
	c := check(rules.OpPresent, path...)
	c.Present = p
	return c
}

// TestClaimChecks runs each test kind against the claims of one token,
// allowed and refused: missing claims, null, other JSON types, paths
// through values that are not objects, and names taken whole.
func TestClaimChecks(t *testing.T) {
	claims := claimsOf(t, `{
		"sub": "alice",
		"tier": "gold",
		"level": 3,
		"verified": true,
		"nothing": null,
		"empty": "",
		"off": false,
		"email": "alice@acme.example",
		"groups": ["ops", "dev", 7, {"id": "x"}],
		"realm_access": {"roles": ["orders-admin", "reader"], "tier": {"name": "gold"}, "flat": "admin"},
		"resource_access": {"api": {"roles": ["read", "write"], "nothing": null}},
		"https://acme.example/roles": ["billing"],
		"a.b": "dotted",
		"a": {"b": "nested"},
		"perms": {"orders": ["read", "write"], "admin": false},
		"big": 1234567890123456789,
		"accounts": [1234567890123456789, 42]
	}`)
	tok := &manager.Token{Type: manager.Auth, Subject: "alice", Claims: claims}
	tests := []struct {
		name  string
		check rules.Check
		vars  map[string]rules.Value // nil: no variables
		holds bool
	}{
		// equals
		{"equals/string", equals("gold", "tier"), nil, true},
		{"equals/other string", equals("silver", "tier"), nil, false},
		{"equals/case differs", equals("Gold", "tier"), nil, false},
		{"equals/number", equals(3, "level"), nil, true},
		{"equals/number vs its text", equals("3", "level"), nil, false},
		{"equals/bool", equals(true, "verified"), nil, true},
		{"equals/bool vs 1", equals(1, "verified"), nil, false},
		{"equals/false", equals(false, "off"), nil, true},
		{"equals/missing claim", equals("gold", "nope"), nil, false},
		{"equals/null claim", equals("x", "nothing"), nil, false},
		{"equals/empty string", equals("", "empty"), nil, true},
		{"equals/array whole", equals([]any{"billing"}, "https://acme.example/roles"), nil, true},
		{"equals/array element is not the array", equals("billing", "https://acme.example/roles"), nil, false},
		{"equals/depth 3", equals("gold", "realm_access", "tier", "name"), nil, true},
		{"equals/depth 3, other", equals("silver", "realm_access", "tier", "name"), nil, false},
		{"equals/through a string", equals("x", "realm_access", "flat", "x"), nil, false},
		{"equals/through an array", equals("ops", "groups", "0"), nil, false},
		{"equals/through null", equals("x", "nothing", "x"), nil, false},
		{"equals/through a missing member", equals("x", "realm_access", "nope", "x"), nil, false},
		{"equals/nested null", equals("x", "resource_access", "api", "nothing"), nil, false},
		{"equals/dotted name taken whole", equals("dotted", "a.b"), nil, true},
		{"equals/dotted name is not a path", equals("nested", "a.b"), nil, false},
		{"equals/path is not a dotted name", equals("dotted", "a", "b"), nil, false},
		{"equals/path", equals("nested", "a", "b"), nil, true},
		{"equals/var", equalsVar("user", "sub"), map[string]rules.Value{"user": rules.String("alice")}, true},
		{"equals/var other", equalsVar("user", "sub"), map[string]rules.Value{"user": rules.String("bob")}, false},
		{"equals/var absent", equalsVar("user", "sub"), map[string]rules.Value{}, false},
		{"equals/var, nil vars", equalsVar("user", "sub"), nil, false},
		{"equals/var at depth 3", equalsVar("tier", "realm_access", "tier", "name"), map[string]rules.Value{"tier": rules.String("gold")}, true},
		{"equals/var, missing claim", equalsVar("user", "nope"), map[string]rules.Value{"user": rules.String("alice")}, false},

		// contains
		{"contains/string", containsValue("ops", "groups"), nil, true},
		{"contains/other string", containsValue("admin", "groups"), nil, false},
		{"contains/number", containsValue(7, "groups"), nil, true},
		{"contains/number as text", containsValue("7", "groups"), nil, false},
		{"contains/object element", containsValue(map[string]any{"id": "x"}, "groups"), nil, true},
		{"contains/nested list", containsValue("orders-admin", "realm_access", "roles"), nil, true},
		{"contains/nested list, other", containsValue("admin", "realm_access", "roles"), nil, false},
		{"contains/depth 3", containsValue("write", "resource_access", "api", "roles"), nil, true},
		{"contains/not a substring of a string", containsValue("admin", "realm_access", "flat"), nil, false},
		{"contains/string claim equal", containsValue("gold", "tier"), nil, false},
		{"contains/object claim", containsValue("orders", "perms"), nil, false},
		{"contains/missing claim", containsValue("ops", "nope"), nil, false},
		{"contains/null claim", containsValue("ops", "nothing"), nil, false},
		{"contains/namespaced name", containsValue("billing", "https://acme.example/roles"), nil, true},
		{"contains/namespaced name split", containsValue("billing", "https://acme", "example/roles"), nil, false},
		{"contains/dotted text is one name", containsValue("orders-admin", "realm_access.roles"), nil, false},
		{"contains/var", containsVar("group", "groups"), map[string]rules.Value{"group": rules.String("dev")}, true},
		{"contains/var other", containsVar("group", "groups"), map[string]rules.Value{"group": rules.String("admin")}, false},
		{"contains/var absent", containsVar("group", "groups"), map[string]rules.Value{}, false},
		{"contains/var number", containsVar("group", "groups"), map[string]rules.Value{"group": rules.Int(7)}, true},
		{"contains/var text of a number", containsVar("group", "groups"), map[string]rules.Value{"group": rules.String("7")}, true},
		{"contains/var, object element", containsVar("group", "groups"), map[string]rules.Value{"group": rules.String("x")}, false},

		// in
		{"in/string", in([]any{"silver", "gold"}, "tier"), nil, true},
		{"in/string not listed", in([]any{"silver", "platinum"}, "tier"), nil, false},
		{"in/number", in([]any{1.0, 3.0}, "level"), nil, true},
		{"in/number not listed", in([]any{1.0, 2.0}, "level"), nil, false},
		{"in/number as text", in([]any{"3"}, "level"), nil, false},
		{"in/text as number", in([]any{3.0}, "tier"), nil, false},
		{"in/mixed", in([]any{3.0, "gold"}, "tier"), nil, true},
		{"in/bool claim", in([]any{"true"}, "verified"), nil, false},
		{"in/array claim", in([]any{"ops"}, "groups"), nil, false},
		{"in/missing claim", in([]any{"gold"}, "nope"), nil, false},
		{"in/null claim", in([]any{"gold"}, "nothing"), nil, false},
		{"in/depth 3", in([]any{"gold"}, "realm_access", "tier", "name"), nil, true},

		// prefix and suffix
		{"prefix/holds", prefix("alice@", "email"), nil, true},
		{"prefix/whole", prefix("alice@acme.example", "email"), nil, true},
		{"prefix/other", prefix("bob@", "email"), nil, false},
		{"prefix/case differs", prefix("Alice", "email"), nil, false},
		{"prefix/number", prefix("3", "level"), nil, false},
		{"prefix/array of strings", prefix("ops", "groups"), nil, false},
		{"prefix/missing", prefix("a", "nope"), nil, false},
		{"prefix/null", prefix("a", "nothing"), nil, false},
		{"suffix/holds", suffix("@acme.example", "email"), nil, true},
		{"suffix/lookalike domain", suffix("@acme.example.evil", "email"), nil, false},
		{"suffix/other", suffix("@evil.example", "email"), nil, false},
		{"suffix/bool", suffix("e", "verified"), nil, false},
		{"suffix/missing", suffix("e", "nope"), nil, false},
		{"suffix/depth 3", suffix("old", "realm_access", "tier", "name"), nil, true},

		// includes
		{"includes/object subset", includes(map[string]any{"orders": []any{"read"}}, "perms"), nil, true},
		{"includes/object all", includes(map[string]any{"orders": []any{"write", "read"}, "admin": false}, "perms"), nil, true},
		{"includes/object missing element", includes(map[string]any{"orders": []any{"delete"}}, "perms"), nil, false},
		{"includes/object missing key", includes(map[string]any{"billing": []any{"read"}}, "perms"), nil, false},
		{"includes/object other value", includes(map[string]any{"admin": true}, "perms"), nil, false},
		{"includes/array subset", includes([]any{"dev", "ops"}, "groups"), nil, true},
		{"includes/array not subset", includes([]any{"ops", "admin"}, "groups"), nil, false},
		{"includes/array of an object claim", includes([]any{"orders"}, "perms"), nil, false},
		{"includes/object of an array claim", includes(map[string]any{"ops": true}, "groups"), nil, false},
		{"includes/scalar", includes("gold", "tier"), nil, true},
		{"includes/scalar other", includes("silver", "tier"), nil, false},
		{"includes/missing", includes([]any{"ops"}, "nope"), nil, false},
		{"includes/null", includes([]any{"ops"}, "nothing"), nil, false},
		{"includes/depth 3", includes([]any{"read"}, "resource_access", "api", "roles"), nil, true},

		// present
		{"present/string", present(true, "sub"), nil, true},
		{"present/empty string", present(true, "empty"), nil, true},
		{"present/false value", present(true, "off"), nil, true},
		{"present/missing", present(true, "nope"), nil, false},
		{"present/null", present(true, "nothing"), nil, false},
		{"present/nested", present(true, "realm_access", "tier", "name"), nil, true},
		{"present/through a string", present(true, "realm_access", "flat", "x"), nil, false},
		{"absent/missing", present(false, "nope"), nil, true},
		{"absent/null counts as absent", present(false, "nothing"), nil, true},
		{"absent/present", present(false, "sub"), nil, false},
		{"absent/empty string is present", present(false, "empty"), nil, false},
		{"absent/false is present", present(false, "off"), nil, false},
		{"absent/nested present", present(false, "resource_access", "api", "roles"), nil, false},
		{"absent/through a string", present(false, "realm_access", "flat", "x"), nil, true},
		{"absent/dotted name", present(false, "a.c"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, rules.Spec{Checks: []rules.Check{tt.check}})
			var vars rules.Vars
			if tt.vars != nil {
				vars = varsOf(r, tt.vars)
			}
			err := r.Check(tok, vars)
			if tt.holds {
				if err != nil {
					t.Fatalf("Check = %v, want it to hold", err)
				}
				return
			}
			if !errors.Is(err, manager.ErrClaim) {
				t.Fatalf("Check = %v, want ErrClaim", err)
			}
			if _, reason := rules.Classify(err); reason != protojwt.ReasonClaimMismatch {
				t.Errorf("reason = %s, want %s", reason, protojwt.ReasonClaimMismatch)
			}
		})
	}
}

// TestChecksTogether checks that every check of a rule must hold, that
// checks come after claims and before scopes, and that a check bound to a
// request variable holds for now when the request is deferred.
func TestChecksTogether(t *testing.T) {
	tok := token(manager.Auth, "read", map[string]any{"tier": "gold", "groups": []any{"ops"}})
	r := mustCompile(t, rules.Spec{
		Claims: map[string]rules.Match{"sub": {Value: "alice"}},
		Checks: []rules.Check{in([]any{"gold"}, "tier"), containsVar("g", "groups"), present(false, "act")},
		Scopes: []string{"write"},
	})
	if got := r.Vars(); len(got) != 1 || got[0] != "g" || !r.ReadsRequest() {
		t.Fatalf("Vars = %q, ReadsRequest = %v; want [g], true", got, r.ReadsRequest())
	}
	vars := varsOf(r, map[string]rules.Value{"g": rules.String("ops")})
	if err := r.Check(tok, vars); !errors.Is(err, manager.ErrScope) {
		t.Errorf("every check holds: Check = %v, want the scope to decide", err)
	}
	if err := r.Check(tok, rules.Deferred); !errors.Is(err, manager.ErrScope) {
		t.Errorf("deferred: Check = %v, want the scope to decide", err)
	}
	other := varsOf(r, map[string]rules.Value{"g": rules.String("dev")})
	if err := r.Check(tok, other); !errors.Is(err, manager.ErrClaim) {
		t.Errorf("one check fails: Check = %v, want ErrClaim before the scope", err)
	}
	acting := token(manager.Auth, "read write", map[string]any{"tier": "gold", "groups": []any{"ops"}, "act": map[string]any{"sub": "mallory"}})
	if err := r.Check(acting, vars); !errors.Is(err, manager.ErrClaim) {
		t.Errorf("absent claim present: Check = %v, want ErrClaim", err)
	}
	notAlice := token(manager.Auth, "read write", map[string]any{"tier": "gold", "groups": []any{"ops"}})
	notAlice.Claims["sub"] = "bob"
	if err := r.Check(notAlice, vars); !errors.Is(err, manager.ErrClaim) {
		t.Errorf("claims fail: Check = %v, want ErrClaim", err)
	}
	all := token(manager.Auth, "read write", map[string]any{"tier": "gold", "groups": []any{"ops"}})
	if err := r.Check(all, vars); err != nil {
		t.Errorf("everything holds: Check = %v", err)
	}

	// A check in an alternative.
	alt := mustCompile(t, rules.Spec{AnyOf: []rules.Spec{
		{Checks: []rules.Check{containsValue("admin", "realm_access", "roles")}},
		{Checks: []rules.Check{suffix("@acme.example", "email")}},
	}})
	if err := alt.Check(token(manager.Auth, nil, map[string]any{"email": "a@acme.example"}), rules.Vars{}); err != nil {
		t.Errorf("second alternative holds: Check = %v", err)
	}
	if err := alt.Check(token(manager.Auth, nil, map[string]any{"email": "a@evil.example"}), rules.Vars{}); rulesReason(err) != protojwt.ReasonNoAlternative {
		t.Errorf("no alternative holds: Check = %v, want NO_ALTERNATIVE", err)
	}
}

func rulesReason(err error) string {
	if err == nil {
		return ""
	}
	_, reason := rules.Classify(err)
	return reason
}

// TestAllowMissing checks that a rule allowing a missing token lets a call
// with none through, whatever its checks and variables, and holds a token
// sent to the whole rule.
func TestAllowMissing(t *testing.T) {
	r := mustCompile(t, rules.Spec{
		AllowMissing: true,
		Checks:       []rules.Check{equalsVar("user", "sub"), containsValue("ops", "groups")},
	})
	if !r.AllowMissing() || r.Public() {
		t.Fatalf("AllowMissing, Public = %v, %v; want true, false", r.AllowMissing(), r.Public())
	}
	bob := varsOf(r, map[string]rules.Value{"user": rules.String("bob")})
	alice := varsOf(r, map[string]rules.Value{"user": rules.String("alice")})
	for _, vars := range []rules.Vars{{}, rules.Deferred, bob} {
		if err := r.Check(nil, vars); err != nil {
			t.Errorf("no token, vars %v: Check = %v, want nil", vars, err)
		}
	}
	ops := token(manager.Auth, nil, map[string]any{"groups": []any{"ops"}})
	if err := r.Check(ops, alice); err != nil {
		t.Errorf("a token that holds: Check = %v", err)
	}
	if err := r.Check(ops, bob); !errors.Is(err, manager.ErrClaim) {
		t.Errorf("a token for another user: Check = %v, want ErrClaim", err)
	}
	if err := r.Check(token(manager.Auth, nil, nil), alice); !errors.Is(err, manager.ErrClaim) {
		t.Errorf("a token without the group: Check = %v, want ErrClaim", err)
	}
	if err := r.Check(token(manager.Refresh, nil, map[string]any{"groups": []any{"ops"}}), alice); !errors.Is(err, manager.ErrTokenType) {
		t.Errorf("a refresh token: Check = %v, want ErrTokenType", err)
	}
	required := mustCompile(t, rules.Spec{Checks: []rules.Check{containsValue("ops", "groups")}})
	if required.AllowMissing() {
		t.Errorf("AllowMissing of a rule without it = true")
	}
	if err := required.Check(nil, rules.Vars{}); !errors.Is(err, manager.ErrNoToken) {
		t.Errorf("no token without allow_missing: Check = %v, want ErrNoToken", err)
	}
}

// bigID is an integer a float64 can't hold: float64(bigID) is
// 1234567890123456768, 21 below it.
const bigID = 1234567890123456789

// TestExactNumbers checks that integers are compared exactly: a claim
// beyond 2^53 equals only the same integer, as a literal, an int64, uint64
// or string variable, never a neighbour, never a float64 that rounds to it.
func TestExactNumbers(t *testing.T) {
	big := claimsOf(t, `{"id": 1234567890123456789, "ids": [1, 1234567890123456789], "max": 18446744073709551615,
		"min": -9223372036854775808, "huge": 123456789012345678901234567890, "f": 42, "half": 42.5,
		"two53": 9007199254740992, "rounded": 1234567890123456768, "neg": -1234567890123456789}`)
	if _, ok := big["id"].(json.Number); !ok {
		t.Fatalf("test bug: claim id is %T, want json.Number", big["id"])
	}
	tok := &manager.Token{Type: manager.Auth, Claims: big}
	decide := func(c rules.Check, v rules.Value) error {
		r := mustCompile(t, rules.Spec{Checks: []rules.Check{c}})
		return r.Check(tok, rules.VarFunc(func(int) (rules.Value, bool) { return v, true }))
	}
	holds := func(name string, c rules.Check, v rules.Value, want bool) {
		t.Helper()
		if err := decide(c, v); (err == nil) != want {
			t.Errorf("%s: Check = %v, want holds = %v", name, err, want)
		}
	}

	// The claim, equal to itself in every form.
	holds("int64 var", equalsVar("v", "id"), rules.Int(bigID), true)
	holds("uint64 var", equalsVar("v", "id"), rules.Uint(bigID), true)
	holds("string var", equalsVar("v", "id"), rules.String("1234567890123456789"), true)
	holds("contains int64 var", containsVar("v", "ids"), rules.Int(bigID), true)
	holds("contains string var", containsVar("v", "ids"), rules.String("1234567890123456789"), true)
	holds("negative int64 var", equalsVar("v", "neg"), rules.Int(-bigID), true)
	holds("negative string var", equalsVar("v", "neg"), rules.String("-1234567890123456789"), true)
	for _, d := range []int64{-1000, -100, -22, -21, -20, -1, 1, 2, 100, 1000} {
		n := int64(bigID) + d
		holds(fmt.Sprintf("int64 var %+d", d), equalsVar("v", "id"), rules.Int(n), false)
		holds(fmt.Sprintf("uint64 var %+d", d), equalsVar("v", "id"), rules.Uint(uint64(n)), false)
		holds(fmt.Sprintf("string var %+d", d), equalsVar("v", "id"), rules.String(strconv.FormatInt(n, 10)), false)
		holds(fmt.Sprintf("contains int64 var %+d", d), containsVar("v", "ids"), rules.Int(n), false)
		holds(fmt.Sprintf("negative int64 var %+d", d), equalsVar("v", "neg"), rules.Int(-n), false)
		holds(fmt.Sprintf("literal %+d", d), equals(n, "id"), rules.Value{}, false)
		holds(fmt.Sprintf("in %+d", d), in([]any{n}, "id"), rules.Value{}, false)
		holds(fmt.Sprintf("contains literal %+d", d), containsValue(n, "ids"), rules.Value{}, false)
	}
	holds("float64 var rounding to it", equalsVar("v", "id"), rules.Number(float64(bigID)), false)
	holds("float64 var of its rounding", equalsVar("v", "rounded"), rules.Number(float64(bigID)), true)
	holds("int64 var of the rounded claim", equalsVar("v", "rounded"), rules.Int(bigID), false)
	holds("int64 literal", equals(int64(bigID), "id"), rules.Value{}, true)
	holds("uint64 literal", equals(uint64(bigID), "id"), rules.Value{}, true)
	holds("float64 literal rounding to it", equals(float64(bigID), "id"), rules.Value{}, false)
	holds("json.Number literal", equals(json.Number("1234567890123456789"), "id"), rules.Value{}, true)
	holds("json.Number literal +1", equals(json.Number("1234567890123456790"), "id"), rules.Value{}, false)
	holds("in int64", in([]any{int64(1), int64(bigID)}, "id"), rules.Value{}, true)
	holds("contains int64 literal", containsValue(int64(bigID), "ids"), rules.Value{}, true)
	holds("includes int64 literal", includes([]any{int64(bigID)}, "ids"), rules.Value{}, true)
	holds("includes neighbour", includes([]any{int64(bigID + 1)}, "ids"), rules.Value{}, false)
	holds("string literal is not a number", equals("1234567890123456789", "id"), rules.Value{}, false)

	// The ends of 64 bits, and beyond.
	holds("uint64 max", equalsVar("v", "max"), rules.Uint(math.MaxUint64), true)
	holds("uint64 max-1", equalsVar("v", "max"), rules.Uint(math.MaxUint64-1), false)
	holds("uint64 max vs -1", equalsVar("v", "max"), rules.Int(-1), false)
	holds("int64 min", equalsVar("v", "min"), rules.Int(math.MinInt64), true)
	holds("int64 min+1", equalsVar("v", "min"), rules.Int(math.MinInt64+1), false)
	holds("int64 min vs its magnitude", equalsVar("v", "min"), rules.Uint(1<<63), false)
	holds("beyond 64 bits, its text", equalsVar("v", "huge"), rules.String("123456789012345678901234567890"), true)
	holds("beyond 64 bits, other text", equalsVar("v", "huge"), rules.String("123456789012345678901234567891"), false)
	holds("beyond 64 bits vs int64", equalsVar("v", "huge"), rules.Int(math.MaxInt64), false)
	holds("beyond 64 bits vs uint64", equalsVar("v", "huge"), rules.Uint(math.MaxUint64), false)
	holds("beyond 64 bits vs float64", equalsVar("v", "huge"), rules.Number(1.2345678901234568e29), false)

	// float64 claims against integer variables.
	holds("float claim, int64 var", equalsVar("v", "f"), rules.Int(42), true)
	holds("float claim, uint64 var", equalsVar("v", "f"), rules.Uint(42), true)
	holds("float claim, int64 neighbour", equalsVar("v", "f"), rules.Int(43), false)
	holds("fractional claim, int64 var", equalsVar("v", "half"), rules.Int(42), false)
	holds("fractional claim, float var", equalsVar("v", "half"), rules.Number(42.5), true)
	holds("2^53 claim, int64 var", equalsVar("v", "two53"), rules.Int(1<<53), true)
	holds("2^53 claim, int64 2^53+1", equalsVar("v", "two53"), rules.Int(1<<53+1), false)
	holds("2^53 claim, int64 2^53-1", equalsVar("v", "two53"), rules.Int(1<<53-1), false)
}

// TestCheckCompileErrors checks that every check that can't be enforced is
// refused when compiled, saying which and why.
func TestCheckCompileErrors(t *testing.T) {
	long := make([]string, 33)
	for i := range long {
		long[i] = "a"
	}
	tests := []struct {
		name     string
		spec     rules.Spec
		wantText string
	}{
		{"empty path", rules.Spec{Checks: []rules.Check{equals("x")}}, "empty path"},
		{"empty name", rules.Spec{Checks: []rules.Check{equals("x", "realm_access", "")}}, "empty name"},
		{"empty first name", rules.Spec{Checks: []rules.Check{present(true, "")}}, "empty name"},
		{"path too long", rules.Spec{Checks: []rules.Check{present(true, long...)}}, "longer than 32"},
		{"no test", rules.Spec{Checks: []rules.Check{{Path: []string{"sub"}}}}, "no test"},
		{"unknown test", rules.Spec{Checks: []rules.Check{{Path: []string{"sub"}, Op: 99}}}, "no test"},
		{"equals without value", rules.Spec{Checks: []rules.Check{check(rules.OpEquals, "sub")}}, "no value"},
		{"contains without value", rules.Spec{Checks: []rules.Check{check(rules.OpContains, "groups")}}, "no value"},
		{"equals null", rules.Spec{Checks: []rules.Check{equals((*int)(nil), "sub")}}, "null"},
		{"contains NaN", rules.Spec{Checks: []rules.Check{containsValue(math.NaN(), "groups")}}, "finite"},
		{"equals var and literal", rules.Spec{Checks: []rules.Check{{Path: []string{"sub"}, Op: rules.OpEquals, Match: rules.Match{Var: "u", Value: "alice"}}}}, "both"},
		{"in no values", rules.Spec{Checks: []rules.Check{in(nil, "tier")}}, "at least one value"},
		{"in null", rules.Spec{Checks: []rules.Check{in([]any{"gold", nil}, "tier")}}, "null"},
		{"in NaN", rules.Spec{Checks: []rules.Check{in([]any{math.Inf(1)}, "tier")}}, "finite"},
		{"empty prefix", rules.Spec{Checks: []rules.Check{prefix("", "email")}}, "empty prefix"},
		{"empty suffix", rules.Spec{Checks: []rules.Check{suffix("", "email")}}, "empty suffix"},
		{"includes nil", rules.Spec{Checks: []rules.Check{includes(nil, "perms")}}, "includes has no value"},
		{"includes null", rules.Spec{Checks: []rules.Check{includes(map[string]any(nil), "perms")}}, "null"},
		{"includes too deep", rules.Spec{Checks: []rules.Check{includes(nestedScope(40), "perms")}}, "deeper"},
		{"includes not JSON", rules.Spec{Checks: []rules.Check{includes(make(chan int), "perms")}}, "JSON"},
		{"second check named", rules.Spec{Checks: []rules.Check{present(true, "a"), prefix("", "b")}}, "check[1]"},
		{"bad check in alternative", rules.Spec{AnyOf: []rules.Spec{{Checks: []rules.Check{in(nil, "tier")}}}}, "any_of[0]: check[0]"},
		{"allow_missing with public", rules.Spec{Public: true, AllowMissing: true}, "public"},
		{"allow_missing in an alternative", rules.Spec{AnyOf: []rules.Spec{{AllowMissing: true, Scopes: []string{"x"}}}}, "allow_missing"},
		{"public with checks", rules.Spec{Public: true, Checks: []rules.Check{present(true, "sub")}}, "public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.Compile(tt.spec)
			if !errors.Is(err, rules.ErrInvalidRule) {
				t.Fatalf("Compile = %v, want ErrInvalidRule", err)
			}
			if r != nil {
				t.Errorf("Compile returned a rule with its error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %s", err, tt.wantText)
			}
		})
	}
}

// TestCheckAllocsAllKinds pins checks of every kind, at depth 3, to no
// allocation, allowed or refused.
func TestCheckAllocsAllKinds(t *testing.T) {
	r := mustCompile(t, rules.Spec{Checks: deepChecks()})
	tok := &manager.Token{Type: manager.Auth, Claims: deepClaims(t)}
	vars := varsOf(r, map[string]rules.Value{"tenant": rules.String("acme"), "account": rules.Int(bigID)})
	if err := r.Check(tok, vars); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.Check(tok, vars) }); n != 0 {
		t.Errorf("Check allocates %.0f times, want 0", n)
	}
	other := varsOf(r, map[string]rules.Value{"tenant": rules.String("acme"), "account": rules.Int(bigID + 1)})
	if r.Check(tok, other) == nil {
		t.Fatal("the neighbour account holds")
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.Check(tok, other) }); n != 0 {
		t.Errorf("a refusing Check allocates %.0f times, want 0", n)
	}
	every := mustCompile(t, rules.Spec{Checks: []rules.Check{
		in([]any{"gold", 3}, "org", "billing", "tier"),
		prefix("acme-", "org", "billing", "tenant"),
		suffix("@acme.example", "email"),
		includes(map[string]any{"orders": []any{"read"}}, "org", "billing", "perms"),
		present(true, "org", "billing", "tier"),
		present(false, "act"),
	}})
	if err := every.Check(tok, rules.Vars{}); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = every.Check(tok, rules.Vars{}) }); n != 0 {
		t.Errorf("Check of every kind allocates %.0f times, want 0", n)
	}
}

// deepChecks are five checks on claims at depth 3, as an identity
// provider's nested claims need.
func deepChecks() []rules.Check {
	return []rules.Check{
		containsValue("orders-admin", "realm_access", "roles", "list"),
		equalsVar("tenant", "org", "billing", "name"),
		containsVar("account", "org", "billing", "accounts"),
		in([]any{"gold", "platinum"}, "org", "billing", "tier"),
		present(true, "org", "billing", "owner"),
	}
}

func deepClaims(t testing.TB) map[string]any {
	return claimsOf(t, `{"sub": "alice", "email": "alice@acme.example",
		"realm_access": {"roles": {"list": ["reader", "orders-admin"]}},
		"org": {"billing": {"name": "acme", "tenant": "acme-eu", "accounts": [7, 1234567890123456789], "tier": "gold",
			"owner": "alice", "perms": {"orders": ["read", "write"]}}}}`)
}

// BenchmarkChecks is what five checks at depth 3 cost over the same call
// with no checks: the rule engine alone, the token verified.
func BenchmarkChecks(b *testing.B) {
	tok := &manager.Token{Type: manager.Auth, Claims: deepClaims(b)}
	for _, bm := range []struct {
		name string
		spec rules.Spec
	}{
		{"none", rules.Spec{}},
		{"five-at-depth-3", rules.Spec{Checks: deepChecks()}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			r := mustCompile(b, bm.spec)
			// Variables by index, as adapters read them with accessors
			// prepared at start-up.
			byName := map[string]rules.Value{"tenant": rules.String("acme"), "account": rules.Int(bigID)}
			values := make([]rules.Value, len(r.Vars()))
			for i, name := range r.Vars() {
				values[i] = byName[name]
			}
			vars := rules.VarFunc(func(i int) (rules.Value, bool) { return values[i], true })
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Check(tok, vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCheckFromProto compiles the ClaimCheck of every test kind from its
// proto form and decides with it.
func TestCheckFromProto(t *testing.T) {
	str := func(s string) *annotations.Match {
		return &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: s}}
	}
	perms, err := structpb.NewValue(map[string]any{"orders": []any{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	p := &annotations.Rule{AllowMissing: true, Check: []*annotations.ClaimCheck{
		{Claim: []string{"realm_access", "roles"}, Test: &annotations.ClaimCheck_Contains{Contains: str("orders-admin")}},
		{Claim: []string{"https://acme.example/tenant"}, Test: &annotations.ClaimCheck_Equals{Equals: &annotations.Match{Kind: &annotations.Match_Field{Field: "tenant_id"}}}},
		{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Strings: []string{"gold", "platinum"}, Numbers: []float64{3}}}},
		{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Suffix{Suffix: "@acme.example"}},
		{Claim: []string{"org"}, Test: &annotations.ClaimCheck_Prefix{Prefix: "acme-"}},
		{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{Includes: perms}},
		{Claim: []string{"tid"}, Test: &annotations.ClaimCheck_Present{Present: true}},
		{Claim: []string{"act"}, Test: &annotations.ClaimCheck_Present{Present: false}},
	}}
	r, err := rules.FromProto(p)
	if err != nil {
		t.Fatalf("FromProto: %v", err)
	}
	if !r.AllowMissing() || len(r.Vars()) != 1 || r.Vars()[0] != "tenant_id" {
		t.Fatalf("AllowMissing, Vars = %v, %q; want true, [tenant_id]", r.AllowMissing(), r.Vars())
	}
	good := `{"realm_access":{"roles":["orders-admin"]},"https://acme.example/tenant":"t1","tier":"gold",
		"email":"a@acme.example","org":"acme-eu","perms":{"orders":["read","write"]},"tid":"x"}`
	tenant := varsOf(r, map[string]rules.Value{"tenant_id": rules.String("t1")})
	if err := r.Check(&manager.Token{Type: manager.Auth, Claims: claimsOf(t, good)}, tenant); err != nil {
		t.Fatalf("every check holds: Check = %v", err)
	}
	if err := r.Check(nil, tenant); err != nil {
		t.Fatalf("no token: Check = %v", err)
	}
	for name, change := range map[string]func(map[string]any){
		"role missing":    func(c map[string]any) { c["realm_access"] = map[string]any{"roles": []any{"reader"}} },
		"other tenant":    func(c map[string]any) { c["https://acme.example/tenant"] = "t2" },
		"tier not listed": func(c map[string]any) { c["tier"] = "silver" },
		"tier number":     func(c map[string]any) { c["tier"] = 3.0 }, // listed as a number: holds
		"email domain":    func(c map[string]any) { c["email"] = "a@acme.example.evil" },
		"org":             func(c map[string]any) { c["org"] = "evil-acme" },
		"perms":           func(c map[string]any) { c["perms"] = map[string]any{"orders": []any{"write"}} },
		"no tid":          func(c map[string]any) { delete(c, "tid") },
		"act":             func(c map[string]any) { c["act"] = map[string]any{"sub": "x"} },
	} {
		claims := claimsOf(t, good)
		change(claims)
		err := r.Check(&manager.Token{Type: manager.Auth, Claims: claims}, tenant)
		if want := name == "tier number"; (err == nil) != want {
			t.Errorf("%s: Check = %v, want holds = %v", name, err, want)
		}
	}
}

// TestCheckFromProtoErrors checks the proto form's own errors of checks.
func TestCheckFromProtoErrors(t *testing.T) {
	present := &annotations.ClaimCheck_Present{Present: true}
	tests := []struct {
		name     string
		rule     *annotations.Rule
		wantText string
	}{
		{"no test", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}}}}, "no test"},
		{"nil check", &annotations.Rule{Check: []*annotations.ClaimCheck{nil}}, "check[0]"},
		{"empty path", &annotations.Rule{Check: []*annotations.ClaimCheck{{Test: present}}}, "empty path"},
		{"empty name", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"realm_access", ""}, Test: present}}}, "empty name"},
		{"equals without value", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"sub"}, Test: &annotations.ClaimCheck_Equals{}}}}, "no value"},
		{"contains without value", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"groups"}, Test: &annotations.ClaimCheck_Contains{Contains: &annotations.Match{}}}}}, "no value"},
		{"contains empty field", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"groups"}, Test: &annotations.ClaimCheck_Contains{Contains: &annotations.Match{Kind: &annotations.Match_Field{}}}}}}, "empty field"},
		{"in without values", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{}}}}, "at least one value"},
		{"in NaN", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"n"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Numbers: []float64{math.NaN()}}}}}}, "finite"},
		{"empty prefix", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Prefix{}}}}, "empty prefix"},
		{"empty suffix", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Suffix{}}}}, "empty suffix"},
		{"includes nothing", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{}}}}, "no value"},
		{"includes null", &annotations.Rule{Check: []*annotations.ClaimCheck{{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{Includes: structpb.NewNullValue()}}}}, "null"},
		{"allow_missing with public", &annotations.Rule{Public: true, AllowMissing: true}, "public"},
		{"allow_missing in an alternative", &annotations.Rule{AnyOf: []*annotations.Rule{{AllowMissing: true, Scopes: []string{"x"}}}}, "allow_missing"},
		{"bad check in an alternative", &annotations.Rule{AnyOf: []*annotations.Rule{{Check: []*annotations.ClaimCheck{{Claim: []string{"x"}}}}}}, "any_of[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rules.FromProto(tt.rule)
			if !errors.Is(err, rules.ErrInvalidRule) {
				t.Fatalf("FromProto = %v, want ErrInvalidRule", err)
			}
			if r != nil {
				t.Errorf("FromProto returned a rule with its error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %s", err, tt.wantText)
			}
		})
	}
}

// TestErrorNamesThePart checks that an error deep in a rule names where,
// with the sentinel's text once.
func TestErrorNamesThePart(t *testing.T) {
	_, err := rules.Compile(rules.Spec{AnyOf: []rules.Spec{{Scopes: []string{"x"}}, {Checks: []rules.Check{present(true, "a"), prefix("", "email")}}}})
	if want := `protojwt: invalid rule: any_of[1]: check[1]: claim "email": an empty prefix holds for every string`; err == nil || err.Error() != want {
		t.Errorf("Compile error = %v, want %s", err, want)
	}
	_, err = rules.FromProto(&annotations.Rule{AnyOf: []*annotations.Rule{{AnyOf: []*annotations.Rule{{Check: []*annotations.ClaimCheck{{Claim: []string{"x"}}}}}}}})
	if want := "protojwt: invalid rule: any_of[0]: any_of[0]: check[0]: no test"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("FromProto error = %v, want %s...", err, want)
	}
}

// TestSharedPathsAgree checks rules whose checks share the first names of
// their paths, which the engine looks up once: every sequence of checks
// decides as its checks one by one do, whatever lies on the way (objects,
// strings, nulls, lists, missing members, paths deeper than the sharing
// bound), and a check that skips its lookup (a deferred variable) leaves
// the next one to look up its own path.
func TestSharedPathsAgree(t *testing.T) {
	deep := strings.Repeat(`{"k":`, 10) + `{"v":1,"s":"x"}` + strings.Repeat("}", 10)
	claims := claimsOf(t, `{"a":{"b":{"c":"x","d":null,"e":[1],"f":{"g":true}},"s":"str","n":null},"t":"top","deep":`+deep+`}`)
	tok := &manager.Token{Type: manager.Auth, Claims: claims}
	ks := func(n int, last ...string) []string {
		p := []string{"deep"}
		for range n {
			p = append(p, "k")
		}
		return append(p, last...)
	}
	paths := [][]string{
		{"a"}, {"t"}, {"nope"}, {"a", "b"}, {"a", "s"}, {"a", "n"}, {"a", "x"},
		{"a", "b", "c"}, {"a", "b", "d"}, {"a", "b", "e"}, {"a", "b", "zz"}, {"a", "b", "f", "g"}, {"a", "b", "c", "x"},
		{"a", "s", "x"}, {"a", "s", "c"}, {"a", "n", "c"}, {"a", "s", "x", "y"}, {"a", "n", "x"}, {"a", "x", "y"}, {"t", "x"}, {"a", "b", "e", "0"},
		ks(10, "v"), ks(10, "s"), ks(9, "k", "v"), ks(8, "k", "nope"), ks(10), ks(4, "v"), ks(11, "v"),
	}
	var checks []rules.Check
	for _, p := range paths {
		checks = append(checks, present(true, p...), present(false, p...), equals("x", p...), prefix("s", p...), containsValue(1, p...))
	}
	single := make([]bool, len(checks))
	for i, c := range checks {
		single[i] = mustCompile(t, rules.Spec{Checks: []rules.Check{c}}).Check(tok, rules.Vars{}) == nil
	}
	// A deferred variable between two checks: its lookup is skipped.
	deferredVar := equalsVar("v", "a", "b", "c")
	for i := range checks {
		for j := range checks {
			want := single[i] && single[j]
			r := mustCompile(t, rules.Spec{Checks: []rules.Check{checks[i], checks[j]}})
			if got := r.Check(tok, rules.Vars{}) == nil; got != want {
				t.Fatalf("checks %v, %v: holds = %v, one by one %v, %v", checks[i], checks[j], got, single[i], single[j])
			}
			r = mustCompile(t, rules.Spec{Checks: []rules.Check{checks[i], deferredVar, checks[j]}})
			if got := r.Check(tok, rules.Deferred) == nil; got != want {
				t.Fatalf("checks %v, deferred, %v: holds = %v, want %v", checks[i], checks[j], got, want)
			}
		}
	}
	// Triples: a lookup that stopped early must not lend the next test the
	// objects of an older one.
	var few []int
	for i, c := range checks {
		if len(c.Path) >= 3 && c.Path[0] == "a" && (c.Op == rules.OpPresent || c.Op == rules.OpEquals) {
			few = append(few, i)
		}
	}
	for _, i := range few {
		for _, j := range few {
			for _, k := range few {
				want := single[i] && single[j] && single[k]
				r := mustCompile(t, rules.Spec{Checks: []rules.Check{checks[i], checks[j], checks[k]}})
				if got := r.Check(tok, rules.Vars{}) == nil; got != want {
					t.Fatalf("checks %v, %v, %v: holds = %v, want %v", checks[i], checks[j], checks[k], got, want)
				}
			}
		}
	}
	// In alternatives, each condition looks up its own paths.
	alt := mustCompile(t, rules.Spec{
		Checks: []rules.Check{present(true, "a", "b", "c")},
		AnyOf: []rules.Spec{
			{Checks: []rules.Check{present(true, "a", "b", "zz")}},
			{Checks: []rules.Check{present(true, "a", "b", "f", "g"), equals("x", "a", "b", "c")}},
		},
	})
	if err := alt.Check(tok, rules.Vars{}); err != nil {
		t.Errorf("the second alternative holds: Check = %v", err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = alt.Check(tok, rules.Vars{}) }); n != 0 {
		t.Errorf("Check allocates %.0f times", n)
	}
}
