package main

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
// "public", or the token type ("auth", "refresh"), then claims
// (role="admin", sub=field:username), scope={JSON}, scopes=a,b and
// any_of(alternative | alternative).
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
