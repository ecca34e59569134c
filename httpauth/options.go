package httpauth

import (
	"context"
	"net/http"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/decide"
)

// defaultRealm is the realm of the WWW-Authenticate challenges when
// [WithRealm] is not given.
const defaultRealm = "protojwt"

// An Option changes how New builds a Guard. Options are applied in order; a
// later option of the same kind replaces an earlier one.
type Option interface {
	apply(*Guard)
}

// optionFunc adapts a function to Option.
type optionFunc func(*Guard)

func (f optionFunc) apply(g *Guard) { f(g) }

// WithCookie makes the guard read the token from the cookie name when the
// request has no Authorization header at all; a request that has one is
// decided by it alone, valid or not. The cookie holds the compact token
// itself, with no "Bearer " prefix; a request with several cookies of that
// name is refused as an invalid token. An empty name turns cookies off. By
// default, cookies are never read.
//
// A browser sends cookies with cross-site requests too, so a request that
// the cookie authenticates and whose method is not GET or HEAD must also
// prove it came from the application's own pages: its X-CSRF-Token header
// (see [WithCSRFHeader]) must hold CSRFToken of the cookie's token, or it is
// refused with 403 and reason CSRF_MISMATCH before the token is verified.
// So must a WebSocket handshake (a GET with "Upgrade: websocket") from
// another site: one whose Sec-Fetch-Site is "cross-site" or whose Origin is
// not the server's host; a browser can't add the header to a handshake, so
// such a handshake is refused. OPTIONS and TRACE are not authenticated by
// the cookie at all: with the cookie alone they are requests without a
// token. CSRFToken says how a browser client gets and sends the value. A
// request with an Authorization header needs no proof: a cross-site page
// can't make a browser send one.
//
// For requests from the same site the guard asks nothing more: a GET or
// HEAD, and a WebSocket handshake whose Origin is the server's, go through
// with the cookie alone, and other methods still need the proof, whatever
// their Origin or Sec-Fetch-Site say. Safe methods must not change state.
// A sibling subdomain is the same site but not the same origin: its pages
// can send the cookie and read nothing, as from any other site. Setting
// the cookie SameSite=Lax or Strict, and [http.CrossOriginProtection] in front
// of the mux, add defence in depth.
func WithCookie(name string) Option {
	return optionFunc(func(g *Guard) {
		g.cookie = name
	})
}

// WithCSRFHeader names the request header that carries the CSRF token of
// requests authenticated by the cookie of [WithCookie], for clients that
// already send one under another name (Angular's X-XSRF-TOKEN, for
// example). An empty name is ignored: the proof can't be turned off. By
// default, the header is X-CSRF-Token ([DefaultCSRFHeader]).
func WithCSRFHeader(name string) Option {
	return optionFunc(func(g *Guard) {
		if name != "" {
			g.csrfHeader = http.CanonicalHeaderKey(name)
		}
	})
}

// WithPathValue makes the guard read path wildcards, those that
// [ClaimFromPath] and [FromRule] name, with value instead of
// (*[http.Request]).PathValue: for routers that keep them elsewhere, as chi
// does (chi.URLParam) or gorilla/mux (mux.Vars(r)[name]). An empty value is
// an absent wildcard, which never equals a claim. A nil value is ignored. By
// default, the guard uses (*[http.Request]).PathValue, the wildcards of
// [http.ServeMux] patterns such as "GET /users/{username}".
func WithPathValue(value func(r *http.Request, wildcard string) string) Option {
	return optionFunc(func(g *Guard) {
		if value != nil {
			g.pathValue, g.customPath = value, true
		}
	})
}

// WithErrorHandler makes the guard refuse requests by calling handle, which
// writes the whole response: the status, headers and body are its own. It
// is given every refusal, the 401, 403 and 503 denials, as an *Error. A handler that only logs
// must still write a response. A nil handle is ignored. By default, the
// guard writes the RFC 6750 response that the package documentation
// describes.
func WithErrorHandler(handle func(w http.ResponseWriter, r *http.Request, e *Error)) Option {
	return optionFunc(func(g *Guard) {
		if handle != nil {
			g.onError = handle
		}
	})
}

// WithRealm sets the realm of the WWW-Authenticate challenges of 401 and 403
// responses. Quotes and backslashes are escaped; control characters, which
// a header can't carry, are dropped. An empty realm is ignored. By default,
// the realm is "protojwt".
func WithRealm(realm string) Option {
	return optionFunc(func(g *Guard) {
		if realm != "" {
			g.realm = realm
		}
	})
}

// WithExpressions compiles the expr of [FromRule]'s rules with x, as
// celexpr.New() provides (module github.com/protojwt/protojwt/celexpr); an
// expression sees the route's path wildcards as path. A route whose rule
// has an expr is invalid unless this option is given. A nil x is ignored.
// By default, the guard has no expression engine.
func WithExpressions(x protojwt.Expressions) Option {
	return optionFunc(func(g *Guard) {
		if x != nil {
			g.expressions = x
		}
	})
}

// WithDecisionHook calls hook with every decision the guard makes, once per
// request, allowed or denied (public routes included), with the route's
// ServeMux pattern as the procedure. The hook runs before the handler or
// the refusal: keep it fast, and never let it modify the Decision's token.
// Several hooks may be given; they are called in order. By default, there
// is no hook and deciding measures nothing.
func WithDecisionHook(hook func(context.Context, protojwt.Decision)) Option {
	return optionFunc(func(g *Guard) {
		g.hook = decide.Chain(g.hook, hook)
	})
}

// WithDetailedErrors puts the text of a refusal's cause ([protojwt.Decision]
// Err, the Err of [Error]: which claim, scope or check failed, why the
// token did not verify) into the default response, after the reason's
// fixed text, in the body's "error" member and the challenge's
// error_description. It is for development: do not use it in production,
// where the cause tells a caller how your tokens are checked. The text
// never holds the token or key material; the status and the reason are the
// same with or without it. An error handler ([WithErrorHandler]) gets the
// same Error either way. By default, the response says only the reason's
// fixed text ("claim mismatch").
func WithDetailedErrors() Option {
	return optionFunc(func(g *Guard) {
		g.detailed = true
	})
}

// WithDryRun decides and reports every request, and refuses none: a
// request that would be refused reaches the handler, and the decision hook
// ([WithDecisionHook]) gets it with [protojwt.Decision] DryRun set, Allowed
// true and the Reason and Err a refusal would have given (a CSRF proof
// missing included). It is how protojwt is turned on in front of a running
// service: watch the would-be refusals (otelprotojwt counts them apart),
// fix the routes' requirements or the clients, then remove the option. The
// handler sees a token ([manager.FromContext]) only when it verified, and a
// cookie's token only with its CSRF proof. [FromRule] of a rule with dry_run
// does the same for its route. By default, every route is enforced.
func WithDryRun() Option {
	return optionFunc(func(g *Guard) {
		g.dryRun = true
	})
}
