package httpauth

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// Handle registers h for pattern on mux behind the requirements, as
// mux.Handle(pattern, g.Require(reqs...)(h)) does, and checks the route as
// a whole when it is registered: like mux.Handle with a bad pattern, it
// panics when the requirements can't hold (see Compile), when h or mux is
// nil, and when a wildcard that [ClaimFromPath] or a [FromRule] field names,
// or that an Expr or a [FromRule] expr reads (as path.name, unless it also
// tests has(path.name)), is not a wildcard of pattern: a misspelling that
// would otherwise refuse every request with 403.
//
//	guard.Handle(mux, "GET /users/{username}", users, httpauth.ClaimFromPath("sub", "username"))
//
// A Guard with [WithPathValue] reads wildcards that ServeMux does not know:
// Handle still requires them in pattern.
func (g *Guard) Handle(mux *http.ServeMux, pattern string, h http.Handler, reqs ...Requirement) {
	if mux == nil {
		panic("httpauth: Handle " + pattern + ": nil ServeMux")
	}
	if h == nil {
		panic("httpauth: Handle " + pattern + ": nil handler")
	}
	g = g.orNew()
	rule, err := g.compile(reqs)
	if err != nil {
		panic("httpauth: Handle " + pattern + ": " + err.Error())
	}
	wildcards := patternWildcards(pattern)
	for _, name := range rule.Vars() {
		if !slices.Contains(wildcards, name) {
			panic(fmt.Sprintf("httpauth: Handle %s: a requirement compares a claim with the path wildcard {%s}, which the pattern does not have%s", pattern, name, known(wildcards)))
		}
	}
	for _, name := range rule.ExprWildcards() {
		if !slices.Contains(wildcards, name) {
			panic(fmt.Sprintf("httpauth: Handle %s: the rule's expr reads path.%s, a wildcard the pattern does not have%s", pattern, name, known(wildcards)))
		}
	}
	mux.Handle(pattern, g.wrap(rule, h))
}

// HandleFunc is Handle for a handler function.
func (g *Guard) HandleFunc(mux *http.ServeMux, pattern string, f func(http.ResponseWriter, *http.Request), reqs ...Requirement) {
	if f == nil {
		panic("httpauth: HandleFunc " + pattern + ": nil handler")
	}
	g.Handle(mux, pattern, http.HandlerFunc(f), reqs...)
}

// known lists the wildcards a pattern has, for a panic message.
func known(wildcards []string) string {
	if len(wildcards) == 0 {
		return " (it has none)"
	}
	return " (it has {" + strings.Join(wildcards, "}, {") + "})"
}

// isWildcardName reports whether name can be a ServeMux wildcard: a Go
// identifier, as net/http requires.
func isWildcardName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		if !unicode.IsLetter(c) && c != '_' && (i == 0 || !unicode.IsDigit(c)) {
			return false
		}
	}
	return true
}
