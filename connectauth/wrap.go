package connectauth

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// Wrap returns a handler that authenticates each RPC from its headers
// before next reads its body, and then calls next: serve the mux of the
// connect handlers through it, and give the same Interceptor to the
// handlers too.
//
//	mux := http.NewServeMux()
//	mux.Handle(pbconnect.NewUsersServiceHandler(srv,
//		connect.WithInterceptors(auth), connect.WithReadMaxBytes(4<<20)))
//	log.Fatal(http.ListenAndServe(addr, auth.Wrap(mux)))
//
// connect-go decodes a request (and decompresses it) before any
// interceptor runs, so an interceptor alone lets a caller without a token
// make the server read and allocate a whole message before it is refused.
// Wrap refuses such a call first, from the headers alone: no token where
// the rule needs one, a token that does not verify, a token of the wrong
// type, a procedure of the resolver that declares no rule, and, when the
// rule does not read the request, a token without the claims or scope it
// needs. The denial is the interceptor's (the same code and ErrorInfo
// reason), written in the protocol of the request: Connect, gRPC or
// gRPC-Web. The body is never read, and the handler never runs.
//
// A call Wrap lets through carries its verified token in its context
// ([manager.FromContext]), and the interceptor then checks the parts of the
// rule that read the request (claims bound to request fields, an
// expression that reads request) once the message is decoded, without
// verifying the token again; it checks that the token has not expired
// since. The decision hook is told one decision per call: Wrap's refusal,
// or the interceptor's decision. The interceptor trusts only a token that
// Wrap of the same Interceptor verified for the same procedure from the
// same header value, through a context key no other package can set;
// anything else it verifies itself, so Wrap is optional and the
// interceptor enforces every rule without it, except that only Wrap can
// check the proof of a sender-constrained token (see [WithDPoP]): without
// Wrap, such a token is refused.
//
// Wrap reads the procedure from the URL path, "/package.Service/Method",
// as connect routes it: put Wrap inside any [http.StripPrefix]. Requests
// it can't attribute to a procedure of the resolver, or whose method and
// content type are not those of an RPC (a CORS preflight, a text/plain
// POST), go to next unchanged: the mux answers them (404, 405 or 415, none
// of which reads the body), and the interceptor still decides any RPC
// that reaches a handler, after decoding it. Public procedures, those an
// option opens, and calls that a rule with allow_missing lets in without a
// token go through too.
//
// Under dry run ([WithDryRun], or a rule's dry_run) Wrap refuses nothing: a
// call goes on to the interceptor, which decides it once its message is
// read and reports that one decision; a token that did not verify is not
// passed on.
//
// Wrap bounds what refusing costs, not what an authenticated caller may
// send: limit that with [connect.WithReadMaxBytes] on the handlers (the
// size of a message once decompressed, which [http.MaxBytesHandler] can't
// see, since it counts the bytes on the wire) and with [http.Server]'s
// timeouts. A nil next is [http.DefaultServeMux], as for [http.Server].
// Wrap answers in the protocol of the request with
// [connect.NewErrorWriter].
func (i *Interceptor) Wrap(next http.Handler) http.Handler {
	if next == nil {
		next = http.DefaultServeMux
	}
	return &wrapped{i: i, next: next}
}

// errorWriter writes a denial in the protocol of the request. It holds
// nothing of an Interceptor, so all share it.
var errorWriter = connect.NewErrorWriter()

// wrapped is the handler Wrap returns.
type wrapped struct {
	i    *Interceptor
	next http.Handler
}

func (w *wrapped) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	procedure := r.URL.Path
	e := w.i.core.Table.Lookup(procedure)
	if e.Open || !w.i.declares(procedure, e) || !errorWriter.IsSupported(r) {
		w.next.ServeHTTP(rw, r)
		return
	}
	raw, dpopScheme, readErr := w.i.token(r.Header, e)
	p := w.i.presented(r, dpopScheme, procedure, e)
	tok, err := w.i.core.Decider.Authenticate(r.Context(), procedure, e.Rule, raw, readErr, &p)
	if err != nil {
		_ = errorWriter.Write(rw, r, w.i.withNonce(w.i.denialError(procedure, err), err))
		return
	}
	if tok != nil {
		ctx := manager.NewContext(r.Context(), tok)
		ctx = context.WithValue(ctx, verifiedKey{}, &verified{i: w.i, procedure: procedure, raw: raw, tok: tok})
		r = r.WithContext(ctx)
	}
	w.next.ServeHTTP(rw, r)
}

// declares reports whether procedure, whose entry is e, is a procedure of
// the resolver or one an option names: one with a rule, or one the
// resolver describes without a rule, which is denied. Other paths are not
// Wrap's to answer.
func (i *Interceptor) declares(procedure string, e *methodrules.Entry) bool {
	if e.Rule != nil {
		return true
	}
	return i.core.Denials.Undeclared(procedure)
}

// verifiedKey is the context key of what Wrap verified. It is unexported,
// so that nothing but Wrap can give the interceptor a token it trusts.
type verifiedKey struct{}

// verified is what Wrap verified for one call: the Interceptor that did,
// the procedure, the raw token and the verified token.
type verified struct {
	i         *Interceptor
	procedure string
	raw       string
	tok       *manager.Token
}

// decide decides a call when the interceptor sees it, as
// [decide.Decider.Decide] does: with the token that Wrap of this Interceptor
// verified for this procedure and this raw token when it ran for the call,
// else verifying raw. It returns the verified token, or the denial.
func (i *Interceptor) decide(ctx context.Context, procedure string, e *methodrules.Entry, raw string, dpopScheme bool, readErr error, vars rules.Vars) (*manager.Token, error) {
	if v, ok := ctx.Value(verifiedKey{}).(*verified); ok && v.i == i && v.procedure == procedure && readErr == nil && v.raw == raw {
		if err := i.core.Decider.DecideVerified(ctx, procedure, e.Rule, v.tok, vars); err != nil {
			return nil, err
		}
		return v.tok, nil
	}
	// The interceptor sees neither the host nor the TLS state: a bound
	// token that Wrap did not check is refused.
	return i.core.Decider.Decide(ctx, procedure, e.Rule, raw, readErr, &binding.Presented{DPoP: dpopScheme, Blind: true}, vars)
}
