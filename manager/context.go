package manager

import "context"

// tokenKey is the context key of the current token.
type tokenKey struct{}

// NewContext returns a copy of ctx that carries t as the current token.
func NewContext(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// FromContext returns the current token stored in ctx by [NewContext]: in a
// handler behind protojwt's interceptor or HTTP guard, the verified token of
// the caller. It reports false when ctx carries none.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(*Token)
	return t, ok && t != nil
}
