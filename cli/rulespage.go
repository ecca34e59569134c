package cli

import (
	_ "embed"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protojwt/protojwt/annotations"
)

// The page of "rules --html": one self-contained HTML file (no external
// assets), a row per method, a search box that filters them (inline
// script), and an index by scope and role literal: who can call what
// with, say, orders:write.

// pageRow is one method of the page.
type pageRow struct {
	Service, Method, Full string
	Source                string
	Public, AllowMissing  bool
	Denied                bool // no rule: every call refused
	TokenType             string
	Claims                []string // sub=field:username, role="admin"
	Checks                []string // realm_access.roles contains "admin"
	Scopes                []string // OAuth scope names
	Scope                 string   // the scope JSON containment
	Expr                  string
	AnyOf                 []string // each alternative, compact
	DryRun                bool
	Rule                  string // the compact form, all of it
	Error                 string
	Literals              []string // the scope and role literals that can open it
	Search                string   // the text the search box matches, lower case
}

// pageLiteral is one entry of the index: a literal and the methods whose
// rule names it.
type pageLiteral struct {
	Literal string
	Methods []pageUse
}

// pageUse is a method that names a literal, and where.
type pageUse struct {
	Full  string
	Where string // "scopes", "check realm_access.roles contains", "any_of[1] scopes"
	Alone bool   // the literal's part is all the rule needs besides a token
}

// pageData is what the template renders.
type pageData struct {
	Summary  auditSummary
	Rows     []pageRow
	Literals []pageLiteral
	Errors   []string
}

// writeRulesPage writes the page of audit to w.
func writeRulesPage(w io.Writer, audit *rulesAudit) error {
	data := pageData{Summary: audit.Summary, Errors: audit.Errors}
	index := map[string][]pageUse{}
	for _, m := range audit.Methods {
		row := pageRowOf(m)
		if m.rule != nil && m.Error == "" {
			for _, u := range literalUses(m.rule, "") {
				index[u.literal] = append(index[u.literal], pageUse{Full: m.Method, Where: u.where, Alone: u.alone})
				if !contains(row.Literals, u.literal) {
					row.Literals = append(row.Literals, u.literal)
				}
			}
		}
		data.Rows = append(data.Rows, row)
	}
	for lit, uses := range index {
		data.Literals = append(data.Literals, pageLiteral{Literal: lit, Methods: uses})
	}
	sort.Slice(data.Literals, func(i, j int) bool { return data.Literals[i].Literal < data.Literals[j].Literal })
	return rulesPage.Execute(w, data)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// pageRowOf returns the row of one method.
func pageRowOf(m methodAudit) pageRow {
	service, method, _ := strings.Cut(strings.TrimPrefix(m.Method, "/"), "/")
	row := pageRow{
		Service: service, Method: method, Full: m.Method,
		Source: sourceLabel(m.Source), Public: m.Public, AllowMissing: m.AllowMissing,
		Denied: m.Denied, Rule: m.Rule, Error: m.Error,
	}
	if r := m.rule; r != nil {
		row.DryRun = r.GetDryRun()
		if !r.GetPublic() {
			row.TokenType = "auth"
			if r.GetTokenType() == annotations.TokenType_TOKEN_TYPE_REFRESH {
				row.TokenType = "refresh"
			}
		}
		names := make([]string, 0, len(r.GetClaims()))
		for name := range r.GetClaims() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			row.Claims = append(row.Claims, claimText(name, r.GetClaims()[name]))
		}
		for _, c := range r.GetCheck() {
			row.Checks = append(row.Checks, formatCheck(c))
		}
		row.Scopes = r.GetScopes()
		if r.GetScope() != nil {
			row.Scope = compactJSON(r.GetScope().AsMap())
		}
		row.Expr = r.GetExpr()
		for _, alt := range r.GetAnyOf() {
			row.AnyOf = append(row.AnyOf, strings.TrimPrefix(formatRule(alt), "auth "))
		}
	}
	if row.Public || m.Source == sourcePublicMethod || m.Source == sourcePublicService {
		row.Public = true
		row.TokenType = ""
	}
	row.Search = strings.ToLower(strings.Join([]string{row.Full, row.Source, row.Rule, row.Error, row.Expr}, " "))
	return row
}

// claimText writes a claims entry as the compact form does: sub=field:id,
// role="admin".
func claimText(name string, m *annotations.Match) string {
	if f := m.GetField(); f != "" {
		return name + "=field:" + f
	}
	switch k := m.GetKind().(type) {
	case *annotations.Match_StringValue:
		return name + "=" + compactJSON(k.StringValue)
	case *annotations.Match_NumberValue:
		return name + "=" + strconv.FormatFloat(k.NumberValue, 'g', -1, 64)
	case *annotations.Match_BoolValue:
		return name + "=" + strconv.FormatBool(k.BoolValue)
	}
	return name + "=?"
}

// stringLiteral returns the string literal of m, "" for any other.
func stringLiteral(m *annotations.Match) string { return m.GetStringValue() }

// literalUse is a literal a rule names, where, and whether that part alone
// (with a valid token) opens the method.
type literalUse struct {
	literal, where string
	alone          bool
}

// literalUses returns the scope names and the role-like literals (string
// literals of claims and checks) that r names, its alternatives' too,
// prefix naming the alternative.
func literalUses(r *annotations.Rule, prefix string) []literalUse {
	parts := len(r.GetClaims()) + len(r.GetCheck()) + len(r.GetScopes()) + len(r.GetAnyOf())
	if r.GetScope() != nil {
		parts++
	}
	if r.GetExpr() != "" {
		parts++
	}
	alone := parts == 1
	var uses []literalUse
	add := func(lit, where string) {
		if lit != "" {
			uses = append(uses, literalUse{literal: lit, where: prefix + where, alone: alone})
		}
	}
	for _, s := range r.GetScopes() {
		add(s, "scopes")
	}
	if r.GetScope() != nil {
		for _, s := range stringLeaves(structpb.NewStructValue(r.GetScope())) {
			add(s, "scope")
		}
	}
	names := make([]string, 0, len(r.GetClaims()))
	for name := range r.GetClaims() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		add(stringLiteral(r.GetClaims()[name]), "claim "+name)
	}
	for _, c := range r.GetCheck() {
		where := "check " + formatPath(c.GetClaim())
		switch {
		case c.GetEquals() != nil:
			add(stringLiteral(c.GetEquals()), where+" equals")
		case c.GetContains() != nil:
			add(stringLiteral(c.GetContains()), where+" contains")
		case c.GetIn() != nil:
			for _, s := range c.GetIn().GetStrings() {
				add(s, where+" in")
			}
		case c.GetIncludes() != nil:
			for _, s := range stringLeaves(c.GetIncludes()) {
				add(s, where+" includes")
			}
		}
	}
	for i, alt := range r.GetAnyOf() {
		for _, u := range literalUses(alt, prefix+"any_of["+strconv.Itoa(i)+"] ") {
			u.alone = u.alone && alone
			uses = append(uses, u)
		}
	}
	return uses
}

// stringLeaves returns the strings of v: itself, or its elements and
// members, at most 64.
func stringLeaves(v *structpb.Value) []string {
	var out []string
	var walk func(v *structpb.Value, depth int)
	walk = func(v *structpb.Value, depth int) {
		if depth > 8 || len(out) >= 64 {
			return
		}
		switch k := v.GetKind().(type) {
		case *structpb.Value_StringValue:
			out = append(out, k.StringValue)
		case *structpb.Value_ListValue:
			for _, e := range k.ListValue.GetValues() {
				walk(e, depth+1)
			}
		case *structpb.Value_StructValue:
			keys := make([]string, 0, len(k.StructValue.GetFields()))
			for key := range k.StructValue.GetFields() {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			for _, key := range keys {
				walk(k.StructValue.GetFields()[key], depth+1)
			}
		}
	}
	walk(v, 0)
	return out
}

// formatPath writes a claim path as the compact form does.
func formatPath(path []string) string {
	c := &annotations.ClaimCheck{Claim: path, Test: &annotations.ClaimCheck_Present{Present: true}}
	return strings.TrimSuffix(formatCheck(c), " present")
}

//go:embed rulespage.html
var rulesPageHTML string

var rulesPage = template.Must(template.New("page").Funcs(template.FuncMap{
	"join": strings.Join,
}).Parse(rulesPageHTML))
