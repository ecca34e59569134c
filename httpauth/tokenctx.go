package httpauth

import (
	"context"
	"net/http"

	"github.com/protojwt/protojwt/manager"
)

// withToken returns the request the handler gets: r with a context that
// carries tok as [manager.NewContext] does, the copy of r and its context
// in one allocation. [http.Request.WithContext] allocates the copy and
// [context.WithValue] the context: two per request, where the guard has
// nothing else to allocate.
func withToken(r *http.Request, tok *manager.Token) *http.Request {
	tr := &tokenRequest{ctx: tokenContext{Context: r.Context(), tok: tok}}
	// WithContext's copy does not escape: it is made on the stack, then
	// copied into tr.
	tr.r = *r.WithContext(&tr.ctx)
	return &tr.r
}

// tokenRequest is the request a handler gets and its context.
type tokenRequest struct {
	r   http.Request
	ctx tokenContext
}

// tokenContext is a request's context with the verified token: under the
// key [manager.FromContext] reads, tok; under any other, what the
// request's context holds.
type tokenContext struct {
	context.Context
	tok *manager.Token
}

// Value returns the token for the key [manager.FromContext] reads, and the
// request context's value for any other.
func (c *tokenContext) Value(key any) any {
	if tokenKeyProbe.Value(key) != nil {
		return c.tok
	}
	return c.Context.Value(key)
}

// tokenKeyProbe holds a token under manager's context key, which is not
// exported: a key is that key when tokenKeyProbe has a value for it.
var tokenKeyProbe = manager.NewContext(context.Background(), new(manager.Token))
