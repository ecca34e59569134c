package httpauth

import (
	"fmt"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/rules"
)

// ClaimCheck names a claim for a test on it, at any depth: Check returns
// one, and each of its methods makes the Requirement that the claim passes
// one test. The tests are those of the [ClaimCheck] message of a .proto rule.
//
//	g.Require(
//		httpauth.Check("realm_access", "roles").Contains("orders-admin"), // Keycloak
//		httpauth.Check("https://acme.example/tenant").EqualsPath("tenant"),
//		httpauth.Check("tier").In("gold", "platinum"),
//		httpauth.Check("email").Suffix("@acme.example"),
//	)
//
// A claim that fails its test is refused with 403 and reason
// CLAIM_MISMATCH; a missing or null claim fails every test but Absent.
// Every check of a route must hold; checks come after Claim and
// [ClaimFromPath] and before Scope and Scopes. See docs/rules.md for the
// checks each identity provider's tokens need.
type ClaimCheck struct {
	path []string
}

// Check names the claim at path: the claim's name, then the member names of
// nested objects, each taken whole, so that a name holding dots or slashes
// ("https://acme.example/roles", "realm_access.roles") is one name. A value
// on the way that is not an object fails the check. An empty path, an empty
// name, or a path longer than 32 names makes the requirement invalid.
func Check(path ...string) ClaimCheck {
	return ClaimCheck{path: append([]string(nil), path...)}
}

// Equals requires the claim to equal want, any value that encodes to JSON,
// as Claim does: JSON equality, numbers by exact value. A nil want is
// invalid.
func (c ClaimCheck) Equals(want any) Requirement {
	return c.requirement(rules.Check{Op: rules.OpEquals, Match: rules.Match{Value: want}})
}

// EqualsPath requires the claim to equal the request's path wildcard, read
// as [ClaimFromPath] reads it: a string, which also equals a number or bool
// claim whose JSON text it is (the path value "1234567890123456789" equals
// that integer claim exactly, never a neighbour). An empty or absent
// wildcard never matches; an empty wildcard name is invalid.
func (c ClaimCheck) EqualsPath(wildcard string) Requirement {
	return c.fromPath("EqualsPath", rules.OpEquals, wildcard)
}

// Contains requires the claim to be a list with an element equal to want
// (JSON equality, as Equals), as Keycloak's realm_access.roles, Auth0's
// permissions or Okta's groups hold names. A claim that is not a list is
// refused, a string included: Contains never matches a substring. A nil
// want is invalid.
func (c ClaimCheck) Contains(want any) Requirement {
	return c.requirement(rules.Check{Op: rules.OpContains, Match: rules.Match{Value: want}})
}

// ContainsPath requires the claim to be a list with an element equal to the
// request's path wildcard, compared as EqualsPath compares: with the
// pattern "GET /accounts/{id}", Check("accounts").ContainsPath("id") lets a
// token reach only the accounts it lists. An empty wildcard name is invalid.
func (c ClaimCheck) ContainsPath(wildcard string) Requirement {
	return c.fromPath("ContainsPath", rules.OpContains, wildcard)
}

// In requires the claim to equal one of values: strings, numbers, bools or
// any value that encodes to JSON, compared as Equals compares (the string
// "3" is not the number 3). No values, or a nil one, is invalid.
func (c ClaimCheck) In(values ...any) Requirement {
	return c.requirement(rules.Check{Op: rules.OpIn, Values: append([]any(nil), values...)})
}

// Prefix requires the claim to be a string that starts with s, byte for
// byte. An empty s, which every string starts with, is invalid.
func (c ClaimCheck) Prefix(s string) Requirement {
	return c.requirement(rules.Check{Op: rules.OpPrefix, Text: s})
}

// Suffix requires the claim to be a string that ends with s, byte for byte:
// Check("email").Suffix("@acme.example") refuses "a@acme.example.evil".
// An empty s is invalid.
func (c ClaimCheck) Suffix(s string) Requirement {
	return c.requirement(rules.Check{Op: rules.OpSuffix, Text: s})
}

// Includes requires the claim to contain want as JSON, as Scope does for
// the scope claim: every key of an object present with a containing value,
// every element of a list present in the claim's list, other values equal.
// A nil want is invalid.
func (c ClaimCheck) Includes(want any) Requirement {
	return c.requirement(rules.Check{Op: rules.OpIncludes, Value: want})
}

// Present requires the claim to exist and not be null, whatever its value:
// "", false and 0 are present.
func (c ClaimCheck) Present() Requirement {
	return c.requirement(rules.Check{Op: rules.OpPresent, Present: true})
}

// Absent requires the claim not to exist, or to be null: Check("act").
// Absent() refuses delegated tokens (RFC 8693) on a route.
func (c ClaimCheck) Absent() Requirement {
	return c.requirement(rules.Check{Op: rules.OpPresent, Present: false})
}

// requirement adds ch, on c's path, to the rule.
func (c ClaimCheck) requirement(ch rules.Check) Requirement {
	ch.Path = c.path
	return Requirement{func(b *builder) error {
		b.spec.Checks = append(b.spec.Checks, ch)
		return nil
	}}
}

// fromPath is the requirement that the claim passes the test op against a
// path wildcard.
func (c ClaimCheck) fromPath(method string, op rules.Op, wildcard string) Requirement {
	if wildcard == "" {
		return Requirement{func(*builder) error {
			return fmt.Errorf("%w: Check(%q).%s names no wildcard", protojwt.ErrInvalidRule, c.path, method)
		}}
	}
	return c.requirement(rules.Check{Op: op, Match: rules.Match{Var: wildcard}})
}

// AllowMissing lets a request with no token reach the handler, which then
// finds no token in its context ([manager.FromContext] reports false), as
// Flask-JWT-Extended's optional=True or Envoy's allow_missing do: for
// routes that show more to a signed-in caller. A token sent is read as on
// any route: one that does not verify, or does not satisfy the route's
// other requirements, is refused, never ignored. It can't be combined with
// Public, nor be an alternative of [AnyOf].
func AllowMissing() Requirement {
	return Requirement{func(b *builder) error {
		b.spec.AllowMissing = true
		return nil
	}}
}
