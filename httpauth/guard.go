package httpauth

import (
	"fmt"
	"net/http"

	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// ErrInvalidRule means a route's requirements can't be enforced: Public with
// other requirements, two token types, a claim with no value or no
// wildcard, FromRule(nil), a Guard without a manager, and the like. Compile
// returns an error wrapping it that says why; Require makes such a route
// answer 500 with reason RULE_INVALID. It is the same value as
// interceptor.ErrInvalidRule.
var ErrInvalidRule = rules.ErrInvalidRule

var (
	errNoManager      = fmt.Errorf("%w: the Guard has no manager to verify tokens", ErrInvalidRule)
	errNilHandler     = fmt.Errorf("%w: the wrapped handler is nil", ErrInvalidRule)
	errSeveralCookies = fmt.Errorf("%w: several token cookies", manager.ErrMalformed)
)

// Guard puts protojwt's requirements in front of net/http handlers: New
// configures it, Require wraps handlers. It is immutable and safe for
// concurrent use; one Guard serves every route of a server.
type Guard struct {
	m         *manager.Manager
	cookie    string
	pathValue func(*http.Request, string) string
	onError   func(http.ResponseWriter, *http.Request, *Error)
	realm     string
	challenge string // `Bearer realm="..."`, quoted once
}

// New returns a Guard that verifies tokens with m. It can't fail: a nil m
// makes every route that needs a token invalid (see Compile), and bad option
// values are ignored as each option says.
func New(m *manager.Manager, opts ...Option) *Guard {
	g := &Guard{
		m:         m,
		pathValue: (*http.Request).PathValue,
		realm:     defaultRealm,
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(g)
		}
	}
	g.challenge = "Bearer realm=" + quote(g.realm)
	return g
}

// Require returns middleware that lets a request reach the handler only
// when the requirements hold. They are combined into one rule and compiled
// now, not per request; with none, a route needs a valid auth token. The
// handler finds the verified token with manager.FromContext(r.Context()).
//
// Requirements that can't be combined (see Compile) make middleware that
// refuses every request with 500 and reason RULE_INVALID (answered as
// WithErrorHandler says): the route fails closed. Use Compile to have the error instead,
// at start-up.
func (g *Guard) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	g = g.orNew()
	mw, err := g.Compile(reqs...)
	if err == nil {
		return mw
	}
	invalid := Error{Status: http.StatusInternalServerError, Reason: reasonRuleInvalid, Err: err}
	return func(http.Handler) http.Handler {
		return g.refusing(invalid)
	}
}

// Compile is Require returning an error wrapping ErrInvalidRule, and no
// middleware, when the requirements can't be combined: Public with other
// requirements; two token types, or one that is neither manager.Auth nor
// manager.Refresh; two requirements on one claim; a claim with a nil value
// or an empty wildcard; an empty Scope, Scopes or AnyOf alternative; two
// Scope or AnyOf requirements; FromRule with anything else, or of a rule that
// can't be compiled; the zero Requirement; or a route that needs a token on
// a Guard without a manager. The middleware refuses a nil handler with 500
// and reason RULE_INVALID.
func (g *Guard) Compile(reqs ...Requirement) (func(http.Handler) http.Handler, error) {
	g = g.orNew()
	rule, err := compile(reqs)
	if err != nil {
		return nil, err
	}
	if !rule.Public() && g.m == nil {
		return nil, errNoManager
	}
	return func(next http.Handler) http.Handler {
		return g.wrap(rule, next)
	}, nil
}

// orNew returns g, or a Guard without a manager when g is nil, so that a nil
// Guard makes invalid routes rather than a panic.
func (g *Guard) orNew() *Guard {
	if g == nil {
		return New(nil)
	}
	return g
}

// wrap returns next behind rule.
func (g *Guard) wrap(rule *rules.Rule, next http.Handler) http.Handler {
	if next == nil {
		return g.refusing(Error{Status: http.StatusInternalServerError, Reason: reasonRuleInvalid, Err: errNilHandler})
	}
	if rule.Public() {
		return next
	}
	wildcards := rule.Vars()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := g.authorize(r, rule, wildcards)
		if err != nil {
			g.deny(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(manager.NewContext(r.Context(), tok)))
	})
}

// authorize reads the request's token and decides the request with rule.
func (g *Guard) authorize(r *http.Request, rule *rules.Rule, wildcards []string) (*manager.Token, error) {
	raw, err := g.token(r)
	if err != nil {
		return nil, err
	}
	var vars rules.Vars // nil: every variable absent
	if len(wildcards) > 0 {
		vars = &pathVars{r: r, wildcards: wildcards, value: g.pathValue}
	}
	tok, err := rule.Authorize(r.Context(), g.m, raw, vars)
	if err == nil && tok == nil {
		err = manager.ErrNoToken // not expected of a rule that needs a token
	}
	return tok, err
}

// token returns the raw token of r: from its one Authorization header, or
// from the cookie when the guard reads one and r has no Authorization
// header.
func (g *Guard) token(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) > 0 || g.cookie == "" {
		return bearer.Token(values)
	}
	cookies := r.CookiesNamed(g.cookie)
	switch {
	case len(cookies) > 1:
		return "", errSeveralCookies
	case len(cookies) == 0 || cookies[0].Value == "":
		return "", manager.ErrNoToken
	}
	return cookies[0].Value, nil
}

// pathVars are the path wildcards of one request, read when the rule asks.
type pathVars struct {
	r         *http.Request
	wildcards []string
	value     func(*http.Request, string) string
}

// Var returns the value of wildcard i, absent when empty.
func (p *pathVars) Var(i int) (rules.Value, bool) {
	if i < 0 || i >= len(p.wildcards) {
		return rules.Value{}, false
	}
	v := p.value(p.r, p.wildcards[i])
	if v == "" {
		return rules.Value{}, false
	}
	return rules.String(v), true
}

// refusing returns a handler that refuses every request with e.
func (g *Guard) refusing(e Error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.refuse(w, r, e)
	})
}

// deny refuses a request that the rule or the token reader turned down with
// err: 401, 403 or 503 as rules.Classify decides.
func (g *Guard) deny(w http.ResponseWriter, r *http.Request, err error) {
	kind, reason := rules.Classify(err)
	status := http.StatusUnauthorized
	switch kind {
	case rules.PermissionDenied:
		status = http.StatusForbidden
	case rules.Unavailable:
		status = http.StatusServiceUnavailable
	}
	g.refuse(w, r, Error{Status: status, Reason: reason, Err: err})
}

// refuse hands e, a copy of its own, to the error handler or to writeError.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, e Error) {
	if g.onError != nil {
		g.onError(w, r, &e)
		return
	}
	g.writeError(w, &e)
}
