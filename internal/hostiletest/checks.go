package hostiletest

import (
	"encoding/json"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
)

const (
	// AccountVariable is CheckRule's second request variable: an int64
	// field of the gRPC request, a path wildcard of the HTTP route.
	AccountVariable = "account_id"
	// Account is the value of AccountVariable in every request of
	// CheckCases: an integer a float64 can't hold (float64(Account) is
	// 1234567890123456768), so that only exact comparison tells it from its
	// neighbours.
	Account int64 = 1234567890123456789
)

// CheckRule is the rule CheckCases are decided by: a claim check of every
// test kind, on the names identity providers use, and allow_missing. It is
// the rule of the Checks and ChecksChat methods of protojwt's test service.
//
//	allow_missing: true
//	check: ["sub"] equals field username
//	check: ["realm_access", "roles"] contains "orders-admin"
//	check: ["https://acme.example/accounts"] contains field account_id
//	check: ["tier"] in ["gold", "platinum"]
//	check: ["email"] suffix "@acme.example"
//	check: ["tenant"] prefix "acme-"
//	check: ["perms"] includes {"orders": ["read"]}
//	check: ["tid"] present
//	check: ["act"] absent
func CheckRule() *annotations.Rule {
	field := func(f string) *annotations.Match { return &annotations.Match{Kind: &annotations.Match_Field{Field: f}} }
	perms, err := structpb.NewValue(map[string]any{"orders": []any{"read"}})
	if err != nil {
		panic(err) // a fixed, valid value
	}
	return &annotations.Rule{AllowMissing: true, Check: []*annotations.ClaimCheck{
		{Claim: []string{"sub"}, Test: &annotations.ClaimCheck_Equals{Equals: field(Variable)}},
		{Claim: []string{"realm_access", "roles"}, Test: &annotations.ClaimCheck_Contains{Contains: &annotations.Match{Kind: &annotations.Match_StringValue{StringValue: "orders-admin"}}}},
		{Claim: []string{"https://acme.example/accounts"}, Test: &annotations.ClaimCheck_Contains{Contains: field(AccountVariable)}},
		{Claim: []string{"tier"}, Test: &annotations.ClaimCheck_In{In: &annotations.Values{Strings: []string{"gold", "platinum"}}}},
		{Claim: []string{"email"}, Test: &annotations.ClaimCheck_Suffix{Suffix: "@acme.example"}},
		{Claim: []string{"tenant"}, Test: &annotations.ClaimCheck_Prefix{Prefix: "acme-"}},
		{Claim: []string{"perms"}, Test: &annotations.ClaimCheck_Includes{Includes: perms}},
		{Claim: []string{"tid"}, Test: &annotations.ClaimCheck_Present{Present: true}},
		{Claim: []string{"act"}, Test: &annotations.ClaimCheck_Present{Present: false}},
	}}
}

// checkClaims returns claims that satisfy every check of CheckRule, with
// changes applied (a nil value deletes the claim; use Null for a JSON
// null).
func checkClaims(changes map[string]any) map[string]any {
	c := map[string]any{
		"realm_access":                  map[string]any{"roles": []any{"reader", "orders-admin"}},
		"https://acme.example/accounts": []any{7, json.Number(strconv.FormatInt(Account, 10))},
		"tier":                          "gold",
		"email":                         "alice@acme.example",
		"tenant":                        "acme-eu",
		"perms":                         map[string]any{"orders": []any{"read", "write"}, "billing": []any{"read"}},
		"tid":                           "9188040d-6c67-4c5b-b112-36a304b66dad",
	}
	for k, v := range changes {
		switch v {
		case nil:
			delete(c, k)
		case null:
			c[k] = nil
		default:
			c[k] = v
		}
	}
	return c
}

// null stands for a JSON null in checkClaims' changes.
type nullValue struct{}

var null any = nullValue{}

// account returns Account+d as the JSON number text a token holds.
func account(d int64) json.Number { return json.Number(strconv.FormatInt(Account+d, 10)) }

// CheckCases returns the table of CheckRule, in a fixed order: for each
// test kind, tokens that satisfy it and tokens that miss it by a little
// (a neighbour integer, a lookalike domain, a null, a value of another JSON
// type, the claim one level off), and for allow_missing, no token and bad
// tokens sent. Every request sets Variable to Subject and AccountVariable
// to Account.
func CheckCases() []Case {
	const (
		allowed  = ""
		mismatch = protojwt.ReasonClaimMismatch
		invalid  = protojwt.ReasonTokenInvalid
	)
	with := func(changes map[string]any) func(e *Env) []string {
		return func(e *Env) []string { return bearer(e.sign(header(nil), e.claims(checkClaims(changes)))) }
	}
	accounts := func(ids ...any) func(e *Env) []string {
		return with(map[string]any{"https://acme.example/accounts": ids})
	}
	return []Case{
		// allow_missing
		{Name: "checks: no token", Authorization: func(*Env) []string { return nil }},
		{Name: "checks: a bad token sent", Authorization: func(e *Env) []string {
			tok := e.sign(header(nil), e.claims(checkClaims(nil)))
			return bearer(tok[:len(tok)-4] + "AAAA")
		}, Reason: invalid},
		{Name: "checks: a token of an unknown key", Authorization: func(e *Env) []string {
			return bearer(e.signAttacker(header(nil), e.claims(checkClaims(nil))))
		}, Reason: invalid},
		{Name: "checks: a token without the claims", Authorization: func(e *Env) []string { return bearer(e.valid(Subject)) }, Reason: mismatch},
		{Name: "checks: a refresh token with every claim", Authorization: func(e *Env) []string {
			return bearer(e.sign(header(nil), e.claims(checkClaims(map[string]any{"type": "refresh"}))))
		}, Reason: protojwt.ReasonTokenType},
		{Name: "checks: scheme alone", Authorization: func(*Env) []string { return []string{"Bearer"} }, Reason: protojwt.ReasonRequestMalformed},

		// Every check holds.
		{Name: "checks: every claim", Authorization: with(nil)},
		{Name: "checks: tier platinum", Authorization: with(map[string]any{"tier": "platinum"})},
		{Name: "checks: the account among others", Authorization: accounts(1, account(1), account(0), account(-1))},

		// equals: the request variable
		{Name: "checks: another subject", Authorization: with(map[string]any{"sub": "mallory"}), Reason: mismatch},
		{Name: "checks: subject in another case", Authorization: with(map[string]any{"sub": "Alice"}), Reason: mismatch},

		// contains: a literal, at depth 2
		{Name: "checks: roles without orders-admin", Authorization: with(map[string]any{"realm_access": map[string]any{"roles": []any{"reader"}}}), Reason: mismatch},
		{Name: "checks: role in another case", Authorization: with(map[string]any{"realm_access": map[string]any{"roles": []any{"Orders-Admin"}}}), Reason: mismatch},
		{Name: "checks: roles a string", Authorization: with(map[string]any{"realm_access": map[string]any{"roles": "orders-admin"}}), Reason: mismatch},
		{Name: "checks: roles null", Authorization: with(map[string]any{"realm_access": map[string]any{"roles": nil}}), Reason: mismatch},
		{Name: "checks: realm_access a string", Authorization: with(map[string]any{"realm_access": "orders-admin"}), Reason: mismatch},
		{Name: "checks: roles at the top level", Authorization: with(map[string]any{"realm_access": nil, "roles": []any{"orders-admin"}}), Reason: mismatch},
		{Name: "checks: roles under a dotted name", Authorization: with(map[string]any{"realm_access": nil, "realm_access.roles": []any{"orders-admin"}}), Reason: mismatch},

		// contains: the request variable, an integer beyond 2^53
		{Name: "checks: account +1", Authorization: accounts(account(1)), Reason: mismatch},
		{Name: "checks: account -1", Authorization: accounts(account(-1)), Reason: mismatch},
		{Name: "checks: account +1000", Authorization: accounts(account(1000)), Reason: mismatch},
		{Name: "checks: account -1000", Authorization: accounts(account(-1000)), Reason: mismatch},
		{Name: "checks: account as float64 rounds it", Authorization: accounts(account(-21)), Reason: mismatch},
		{Name: "checks: account as a decimal", Authorization: accounts(json.Number("1234567890123456789.5")), Reason: mismatch},
		{Name: "checks: account a number, not a list", Authorization: with(map[string]any{"https://acme.example/accounts": account(0)}), Reason: mismatch},
		{Name: "checks: accounts empty", Authorization: accounts(), Reason: mismatch},
		{Name: "checks: accounts under the split name", Authorization: with(map[string]any{
			"https://acme.example/accounts": nil, "https://acme.example": map[string]any{"accounts": []any{account(0)}},
		}), Reason: mismatch},

		// in
		{Name: "checks: tier silver", Authorization: with(map[string]any{"tier": "silver"}), Reason: mismatch},
		{Name: "checks: tier in capitals", Authorization: with(map[string]any{"tier": "GOLD"}), Reason: mismatch},
		{Name: "checks: tier a list", Authorization: with(map[string]any{"tier": []any{"gold"}}), Reason: mismatch},
		{Name: "checks: tier missing", Authorization: with(map[string]any{"tier": nil}), Reason: mismatch},
		{Name: "checks: tier null", Authorization: with(map[string]any{"tier": null}), Reason: mismatch},

		// suffix and prefix
		{Name: "checks: email of a lookalike domain", Authorization: with(map[string]any{"email": "alice@acme.example.evil"}), Reason: mismatch},
		{Name: "checks: email of another domain", Authorization: with(map[string]any{"email": "alice@evil-acme.example.org"}), Reason: mismatch},
		{Name: "checks: email a list", Authorization: with(map[string]any{"email": []any{"alice@acme.example"}}), Reason: mismatch},
		{Name: "checks: tenant prefix in the middle", Authorization: with(map[string]any{"tenant": "evil-acme-eu"}), Reason: mismatch},
		{Name: "checks: tenant missing", Authorization: with(map[string]any{"tenant": nil}), Reason: mismatch},

		// includes
		{Name: "checks: perms without orders read", Authorization: with(map[string]any{"perms": map[string]any{"orders": []any{"write"}}}), Reason: mismatch},
		{Name: "checks: perms orders a string", Authorization: with(map[string]any{"perms": map[string]any{"orders": "read"}}), Reason: mismatch},
		{Name: "checks: perms a list", Authorization: with(map[string]any{"perms": []any{"orders", "read"}}), Reason: mismatch},
		{Name: "checks: perms missing", Authorization: with(map[string]any{"perms": nil}), Reason: mismatch},

		// present and absent
		{Name: "checks: tid missing", Authorization: with(map[string]any{"tid": nil}), Reason: mismatch},
		{Name: "checks: tid null", Authorization: with(map[string]any{"tid": null}), Reason: mismatch},
		{Name: "checks: act present", Authorization: with(map[string]any{"act": map[string]any{"sub": "mallory"}}), Reason: mismatch},
		{Name: "checks: act false", Authorization: with(map[string]any{"act": false}), Reason: mismatch},
		{Name: "checks: act null is absent", Authorization: with(map[string]any{"act": null})},
	}
}
