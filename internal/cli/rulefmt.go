package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/protojwt/protojwt/annotations"
)

// formatRule writes a rule on one line, in the order the engine checks it:
// "public", or the token type ("auth", "refresh") and allow_missing, then
// claims (role="admin", sub=field:username), checks
// (check(realm_access.roles contains "admin")), scope={JSON}, scopes=a,b,
// expr(...) and any_of(alternative | alternative).
func formatRule(r *annotations.Rule) string {
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
		parts = append(parts, formatName(name)+"="+formatMatch(r.GetClaims()[name]))
	}
	for _, c := range r.GetCheck() {
		parts = append(parts, "check("+formatCheck(c)+")")
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

// formatMatch writes what a claim must equal: field:path, or a JSON literal.
func formatMatch(m *annotations.Match) string {
	switch k := m.GetKind().(type) {
	case *annotations.Match_Field:
		return "field:" + k.Field
	case *annotations.Match_StringValue:
		return compactJSON(k.StringValue)
	case *annotations.Match_NumberValue:
		return strconv.FormatFloat(k.NumberValue, 'g', -1, 64)
	case *annotations.Match_BoolValue:
		return strconv.FormatBool(k.BoolValue)
	}
	return "<no value>"
}

// formatCheck writes a claim check as "path test value":
// realm_access.roles contains "orders-admin", tier in ["gold","platinum"],
// email suffix "@acme.example", perms includes {"orders":["read"]},
// tid present, act absent.
func formatCheck(c *annotations.ClaimCheck) string {
	path := formatPath(c.GetClaim())
	switch t := c.GetTest().(type) {
	case *annotations.ClaimCheck_Equals:
		return path + " equals " + formatMatch(t.Equals)
	case *annotations.ClaimCheck_Contains:
		return path + " contains " + formatMatch(t.Contains)
	case *annotations.ClaimCheck_In:
		values := []any{}
		for _, v := range t.In.GetStrings() {
			values = append(values, v)
		}
		for _, v := range t.In.GetNumbers() {
			values = append(values, formattedNumber(v))
		}
		return path + " in " + compactJSON(values)
	case *annotations.ClaimCheck_Prefix:
		return path + " prefix " + compactJSON(t.Prefix)
	case *annotations.ClaimCheck_Suffix:
		return path + " suffix " + compactJSON(t.Suffix)
	case *annotations.ClaimCheck_Includes:
		if t.Includes == nil || t.Includes.GetKind() == nil {
			return path + " includes <no value>"
		}
		return path + " includes " + compactJSON(t.Includes.AsInterface())
	case *annotations.ClaimCheck_Present:
		if t.Present {
			return path + " present"
		}
		return path + " absent"
	}
	return path + " <no test>"
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

// formattedNumber is a number that JSON writes as strconv's shortest form,
// without an exponent for integers.
type formattedNumber float64

// MarshalJSON writes n as formatMatch writes numbers.
func (n formattedNumber) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(n), 'g', -1, 64)), nil
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

// ruleJSON writes r as protojson with the .proto field names, compacted:
// protojson's own spacing is not stable.
func ruleJSON(r *annotations.Rule) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(r)
	if err != nil {
		return nil
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil
	}
	return out.Bytes()
}
