package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/protojwt/protojwt/annotations"
)

// Format writes a rule option on one line, in the order the engine checks
// it: "public", or the token type ("auth", "refresh"), allow_missing and
// require_binding, then claims (role="admin", sub=field:username), checks
// (check(realm_access.roles contains "admin")), scope={JSON}, scopes=a,b,
// expr(...) and any_of(alternative | alternative). It writes rules that
// don't compile too, as they are.
func Format(r *annotations.Rule) string {
	var parts []string
	if r.GetPublic() {
		parts = append(parts, "public")
	}
	switch tt := r.GetTokenType(); tt {
	case annotations.TokenType_TOKEN_TYPE_UNSPECIFIED:
		if !r.GetPublic() {
			parts = append(parts, "auth")
		}
	case annotations.TokenType_TOKEN_TYPE_AUTH:
		parts = append(parts, "auth")
	case annotations.TokenType_TOKEN_TYPE_REFRESH:
		parts = append(parts, "refresh")
	default:
		parts = append(parts, fmt.Sprintf("token_type=%d", tt))
	}
	if r.GetAllowMissing() {
		parts = append(parts, "allow_missing")
	}
	if r.GetRequireBinding() {
		parts = append(parts, "require_binding")
	}
	return strings.Join(append(parts, conditionParts(r)...), " ")
}

// conditionParts writes the claims, scope, scopes and alternatives of r.
func conditionParts(r *annotations.Rule) []string {
	var parts []string
	names := make([]string, 0, len(r.GetClaims()))
	for name := range r.GetClaims() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m, _ := matchFromProto(r.GetClaims()[name])
		parts = append(parts, formatName(name)+"="+matchText(m))
	}
	for _, c := range r.GetCheck() {
		parts = append(parts, "check("+FormatCheck(c)+")")
	}
	if r.GetScope() != nil {
		parts = append(parts, "scope="+compactJSON(r.GetScope().AsMap()))
	}
	if len(r.GetScopes()) > 0 {
		scopes := make([]string, len(r.GetScopes()))
		for i, s := range r.GetScopes() {
			scopes[i] = formatName(s)
		}
		parts = append(parts, "scopes="+strings.Join(scopes, ","))
	}
	if r.GetExpr() != "" {
		parts = append(parts, "expr("+r.GetExpr()+")")
	}
	if len(r.GetAnyOf()) > 0 {
		alts := make([]string, len(r.GetAnyOf()))
		for i, alt := range r.GetAnyOf() {
			// An alternative may not set public or a token type; show them
			// when it does, the rule being invalid then.
			var p []string
			if alt.GetPublic() {
				p = append(p, "public")
			}
			if tt := alt.GetTokenType(); tt != annotations.TokenType_TOKEN_TYPE_UNSPECIFIED {
				p = append(p, "token_type="+strings.ToLower(strings.TrimPrefix(tt.String(), "TOKEN_TYPE_")))
			}
			if alt.GetAllowMissing() {
				p = append(p, "allow_missing")
			}
			if alt.GetRequireBinding() {
				p = append(p, "require_binding")
			}
			p = append(p, conditionParts(alt)...)
			if len(p) == 0 {
				p = []string{"{}"}
			}
			alts[i] = strings.Join(p, " ")
		}
		parts = append(parts, "any_of("+strings.Join(alts, " | ")+")")
	}
	return parts
}

// FormatCheck writes a claim check as its path and test, as its operator
// writes it: realm_access.roles contains "orders-admin", tier in
// ["gold","platinum"], email suffix "@acme.example", perms includes
// {"orders":["read"]}, tid present, act absent. A check with no test is
// written "<no test>".
func FormatCheck(c *annotations.ClaimCheck) string {
	path := formatPath(c.GetClaim())
	ch, err := checkFromProto(c)
	o, ok := operatorOf(ch.Op)
	if err != nil && !ok {
		return path + " <no test>"
	}
	return path + " " + o.text(ch)
}

// label writes a compiled test's check for Decision.Err: `claim
// realm_access.roles: contains "orders-admin"`.
func label(ch Check) string {
	o, _ := operatorOf(ch.Op)
	return "claim " + formatPath(ch.Path) + ": " + o.text(ch)
}

// matchText writes what a claim must equal: field:path, or a literal.
func matchText(m Match) string {
	switch {
	case m.Var != "":
		return "field:" + m.Var
	case m.Value == nil:
		return noValue
	}
	return valueText(m.Value)
}

// valueText writes a literal: numbers in strconv's shortest form (NaN as
// NaN), other values as compact JSON.
func valueText(v any) string {
	switch t := v.(type) {
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return compactJSON(v)
}

// formatPath writes a claim path as its names joined by dots, each name
// quoted when it holds a dot or punctuation, so that a namespaced claim
// reads as one name: realm_access.roles, "https://acme.example/roles".
func formatPath(path []string) string {
	if len(path) == 0 {
		return "<no claim>"
	}
	names := make([]string, len(path))
	for i, name := range path {
		if strings.ContainsAny(name, "./:") {
			names[i] = strconv.Quote(name)
		} else {
			names[i] = formatName(name)
		}
	}
	return strings.Join(names, ".")
}

// formatName writes a claim or scope name bare when it can't be confused
// with the punctuation of the compact form, quoted otherwise.
func formatName(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n=\"(),|{}") || strconv.Quote(s) != `"`+s+`"` {
		return strconv.Quote(s)
	}
	return s
}

// compactJSON writes v as JSON without HTML escaping; object keys sorted.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
