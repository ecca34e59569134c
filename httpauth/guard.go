package httpauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
	"google.golang.org/protobuf/proto"
)

var (
	errNoVerifier     = fmt.Errorf("%w: the Guard has no verifier to verify tokens", protojwt.ErrInvalidRule)
	errSeveralCookies = fmt.Errorf("%w: several token cookies", manager.ErrMalformed)
)

// Guard puts protojwt's requirements in front of net/http handlers: New
// configures it, Require wraps handlers. It is immutable and safe for
// concurrent use; one Guard serves every route of a server.
type Guard struct {
	v       manager.Verifier
	decider decide.Decider
	hook    func(context.Context, protojwt.Decision)
	// expressions compiles the rules' expr; nil refuses them.
	expressions protojwt.Expressions
	cookie      string
	csrfHeader  string // the header of CSRF tokens, canonical
	pathValue   func(*http.Request, string) string
	customPath  bool // pathValue is WithPathValue's, not ServeMux's
	onError     func(http.ResponseWriter, *http.Request, *Error)
	realm       string
	challenge   string // `Bearer realm="..."`, quoted once
	detailed    bool   // WithDetailedErrors: the cause's text to clients
	dryRun      bool   // WithDryRun: decided and reported, never refused
	binding     *binding.Checker
	refusals    refusals      // the responses built once, by reason
	base        *dpop.BaseURL // WithPublicURL; nil for the request's URL
	baseErr     error         // WithPublicURL's bad URL
}

// New returns a Guard that verifies tokens with v: a *[manager.Manager], a
// *[manager.Issuers], or any [manager.Verifier]. It can't fail: a nil v makes
// every route that needs a token invalid (see Compile), and bad option
// values are ignored as each option says.
func New(v manager.Verifier, opts ...Option) *Guard {
	g := &Guard{
		v:          v,
		pathValue:  (*http.Request).PathValue,
		realm:      defaultRealm,
		csrfHeader: DefaultCSRFHeader,
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(g)
		}
	}
	g.challenge = "Bearer realm=" + quote(g.realm)
	g.decider = decide.Decider{Verifier: v, Binding: g.binding, Hook: g.hook, Explain: g.detailed, DryRun: g.dryRun}
	g.refusals = newRefusals(g)
	return g
}

// Require returns middleware that lets a request reach the handler only
// when the requirements hold. They are combined into one rule and compiled
// now, not per request; with none, a route needs a valid auth token. The
// handler finds the verified token with manager.FromContext(r.Context()).
//
// Like [http.ServeMux.Handle] with a bad pattern, Require panics when the
// requirements can't hold (see Compile for the list), and its middleware
// panics when given a nil handler: the mistake shows when the route is
// registered, in main, not as a refusal at the first request. Compile
// returns the same problems as an error. Guard.Handle registers a route and
// checks its path wildcards against the pattern too.
func (g *Guard) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	mw, err := g.Compile(reqs...)
	if err != nil {
		panic("httpauth: Require: " + err.Error())
	}
	return mw
}

// Compile is Require returning an error wrapping ErrInvalidRule, and no
// middleware, when the requirements can't be combined: Public with other
// requirements; two token types, or one that is neither [manager.Auth] nor
// [manager.Refresh]; two requirements on one claim; a claim with a nil value
// or an empty wildcard; a wildcard (of [ClaimFromPath] or a [FromRule] field)
// that can't be a ServeMux wildcard name, such as the nested field path
// "owner.id", unless [WithPathValue] reads wildcards; an empty Scope, Scopes or
// [AnyOf] alternative; two Scope or [AnyOf] requirements; [FromRule] with anything
// else, or of a rule that can't be compiled; the zero Requirement; or a
// route that needs a token on a Guard without a verifier. The middleware
// panics when given a nil handler.
func (g *Guard) Compile(reqs ...Requirement) (func(http.Handler) http.Handler, error) {
	g = g.orNew()
	rule, err := g.compile(reqs)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return g.wrap(rule, next)
	}, nil
}

// compile combines reqs into the rule of a route of g, a Guard not nil.
func (g *Guard) compile(reqs []Requirement) (*rules.Rule, error) {
	rule, err := compile(reqs, rules.Env{Expressions: g.expressions})
	if err != nil {
		return nil, err
	}
	if !rule.Public() && decide.IsNil(g.v) {
		return nil, errNoVerifier
	}
	if !rule.Public() && g.baseErr != nil {
		return nil, g.baseErr
	}
	if !g.customPath {
		for _, name := range rule.Vars() {
			if !isWildcardName(name) {
				return nil, fmt.Errorf("%w: %q can't be a ServeMux path wildcard, whose name is a Go identifier (a nested field path such as \"owner.id\" never is): compare the claim with a wildcard of the pattern", protojwt.ErrInvalidRule, name)
			}
		}
	}
	return rule, nil
}

// orNew returns g, or a Guard without a verifier when g is nil: a nil
// Guard serves public routes, and Compile says why others are invalid
// rather than the program crashing on a nil pointer.
func (g *Guard) orNew() *Guard {
	if g == nil {
		return nilGuard()
	}
	return g
}

// nilGuard is the Guard without a verifier that stands for a nil one,
// made once: a Guard builds its refusals when it is made.
var nilGuard = sync.OnceValue(func() *Guard { return New(nil) })

// wrap returns next behind rule.
func (g *Guard) wrap(rule *rules.Rule, next http.Handler) http.Handler {
	if next == nil {
		panic("httpauth: nil handler")
	}
	if rule.Public() {
		if g.hook == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.decider.Open(r.Context(), procedure(r))
			next.ServeHTTP(w, r)
		})
	}
	var vars *pathVars // nil: the rule reads nothing of the request
	if len(rule.Vars()) > 0 || rule.ReadsRequest() {
		vars = &pathVars{wildcards: rule.Vars(), value: g.pathValue}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := g.authorize(r, rule, vars)
		if err != nil {
			g.deny(w, r, err)
			return
		}
		if tok != nil {
			r = withToken(r, tok)
		}
		next.ServeHTTP(w, r)
	})
}

// authorize reads the request's token and decides the request with rule.
func (g *Guard) authorize(r *http.Request, rule *rules.Rule, path *pathVars) (*manager.Token, error) {
	raw, fromCookie, dpopScheme, err := g.token(r)
	if err == nil && fromCookie && !g.csrfProven(r, raw) {
		// Decided before the token is verified: a cross-site request
		// learns nothing about the cookie's token.
		err = rules.ErrCSRF
	}
	raw, readErr := decide.Sent(raw, err)
	var vars rules.Vars // none: every variable absent
	if path != nil {
		vars = rules.VarsOf(path, r)
	}
	var name string
	if g.hook != nil {
		name = procedure(r)
	}
	p := g.presented(r, dpopScheme)
	return g.decider.Decide(r.Context(), name, rule, raw, readErr, &p, vars)
}

// token returns the raw token of r: from its one Authorization header,
// with the Bearer or the DPoP scheme (dpopScheme), or from the cookie
// (fromCookie) when the guard reads one and r has no Authorization header.
// The cookie does not authenticate OPTIONS and TRACE: a CORS preflight and
// an echo of the request are nothing a cookie's owner asked for, and TRACE
// would reflect the cookie.
func (g *Guard) token(r *http.Request) (raw string, fromCookie, dpopScheme bool, err error) {
	// The key as Header.Values would canonicalize it, read without
	// canonicalizing it again on every request.
	values := r.Header["Authorization"]
	if len(values) > 0 || g.cookie == "" {
		raw, dpopScheme, err = bearer.Credential(values, bearer.Limit(g.v))
		return raw, false, dpopScheme, err
	}
	if r.Method == http.MethodOptions || r.Method == http.MethodTrace {
		return "", false, false, manager.ErrNoToken
	}
	cookies := r.CookiesNamed(g.cookie)
	switch {
	case len(cookies) > 1:
		return "", false, false, errSeveralCookies
	case len(cookies) == 0 || cookies[0].Value == "":
		return "", false, false, manager.ErrNoToken
	}
	return cookies[0].Value, true, false, nil
}

// pathVars reads the path wildcards of a route's requests, *[http.Request],
// when its rule asks: it is the route's [rules.RequestSource].
type pathVars struct {
	wildcards []string // the rule's variables, by index
	value     func(*http.Request, string) string
}

var _ rules.RequestSource = (*pathVars)(nil)

// Message returns nil: HTTP requests are not messages.
func (p *pathVars) Message(any) proto.Message { return nil }

// Path returns the wildcards of the request's ServeMux pattern with their
// values, for expressions; an empty value is left out.
func (p *pathVars) Path(req any) map[string]string {
	r := req.(*http.Request)
	names := patternWildcards(r.Pattern)
	out := make(map[string]string, len(names)+len(p.wildcards))
	for _, names := range [][]string{names, p.wildcards} {
		for _, name := range names {
			if v := p.value(r, name); v != "" {
				out[name] = v
			}
		}
	}
	return out
}

// Var returns the value of wildcard i of req, absent when empty.
func (p *pathVars) Var(req any, i int) (rules.Value, bool) {
	if i < 0 || i >= len(p.wildcards) {
		return rules.Value{}, false
	}
	v := p.value(req.(*http.Request), p.wildcards[i])
	if v == "" {
		return rules.Value{}, false
	}
	return rules.String(v), true
}

// procedure names the route of r for decision hooks: its ServeMux pattern,
// or its method and path when it has none.
func procedure(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method + " " + r.URL.Path
}

// Deny writes the response with which the guard refuses a request for err,
// an error wrapping one of manager's sentinels, as Verify,
// RotateRefreshToken and the rule engine return them: 400, 401, 403 or 503 with
// the RFC 6750 challenge and the {"error", "reason"} body, or as
// [WithErrorHandler] says. It is for a handler that checks a token itself,
// such as a refresh route, so that its clients read the same statuses and
// reasons as the guard's refusals. A reused refresh token
// ([manager.ErrRefreshReuse]) is TOKEN_REVOKED; any other error
// TOKEN_INVALID. The response never quotes err.
func (g *Guard) Deny(w http.ResponseWriter, r *http.Request, err error) {
	g.orNew().deny(w, r, err)
}

// deny refuses a request that the rule or the token reader turned down with
// err: the reason [rules.Classify] finds, with the HTTP status of the denial
// table.
func (g *Guard) deny(w http.ResponseWriter, r *http.Request, err error) {
	_, reason := rules.Classify(err)
	g.setNonce(w, err)
	g.refuse(w, r, Error{Status: denial.Of(reason).Status, Reason: reason, Err: err})
}

// refuse hands e, a copy of its own, to the error handler or to writeError.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, e Error) {
	if g.onError != nil {
		handed := e // only the handler's copy goes to the heap
		g.onError(w, r, &handed)
		return
	}
	g.writeError(w, &e)
}

// patternWildcards returns the wildcard names of a ServeMux pattern,
// "GET /users/{id}/files/{path...}": id and path.
func patternWildcards(pattern string) []string {
	var names []string
	for {
		open := strings.IndexByte(pattern, '{')
		if open < 0 {
			return names
		}
		end := strings.IndexByte(pattern[open:], '}')
		if end < 0 {
			return names
		}
		name := strings.TrimSuffix(pattern[open+1:open+end], "...")
		if name != "" && name != "$" {
			names = append(names, name)
		}
		pattern = pattern[open+end+1:]
	}
}
