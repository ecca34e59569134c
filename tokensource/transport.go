package tokensource

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TransportOption configures [PerRPCCredentials], [ConnectInterceptor] and
// [RoundTripper].
type TransportOption interface{ applyTransport(*transportConfig) }

type transportOptionFunc func(*transportConfig)

func (f transportOptionFunc) applyTransport(c *transportConfig) { f(c) }

type transportConfig struct {
	insecure bool
	baseURL  string
	dpop     *DPoP
}

func newTransportConfig(opts []TransportOption) transportConfig {
	var c transportConfig
	for _, o := range opts {
		o.applyTransport(&c)
	}
	return c
}

// WithInsecureTransport lets tokens go over connections without transport
// security, where a token can be read on the way: for loopback, tests and a
// sidecar that encrypts. By default, [PerRPCCredentials] requires a connection
// with privacy and integrity (TLS, ALTS), and [RoundTripper] and
// [ConnectInterceptor] refuse plain http:// except to a loopback host.
func WithInsecureTransport() TransportOption {
	return transportOptionFunc(func(c *transportConfig) { c.insecure = true })
}

// WithBaseURL tells [ConnectInterceptor] the URL its connect client was
// built with (the baseURL of a generated New...Client), which connect does
// not show an interceptor: calls carry a token when it is https, or plain
// http to a loopback host, and only to its host; with [WithDPoP], the htu of
// a call's proof is the URL and the procedure. [PerRPCCredentials] takes it,
// with [WithDPoP], as the public URL of a server behind a proxy, under which
// the htu of its methods are built (as the server's own base URL option
// does); [RoundTripper], which sees the URL of each request, ignores it. By
// default, [ConnectInterceptor] sends tokens only to loopback hosts, and
// [PerRPCCredentials] builds htu from the connection: https over TLS, http
// without, and the authority dialled.
func WithBaseURL(baseURL string) TransportOption {
	return transportOptionFunc(func(c *transportConfig) { c.baseURL = baseURL })
}

// errInsecure means a token would have gone over plain text.
var errInsecure = errors.New("tokensource: refusing to send a token without transport security (see WithInsecureTransport)")

// codeOf returns the gRPC code of err, an error of Source.Token for the
// call whose context is ctx: Unauthenticated once the login is over or
// when there is no incoming token to pass on, PermissionDenied when a
// token exchange is refused, Internal when it can't be configured, the
// context's code when the caller gave up, the code of a gRPC status error
// of the login service, and Unavailable for anything else: the next call
// may succeed.
func codeOf(ctx context.Context, err error) codes.Code {
	switch {
	case errors.Is(err, ErrLoginEnded), errors.Is(err, ErrNoIncomingToken):
		return codes.Unauthenticated
	case errors.Is(err, ErrExchangeRefused):
		return codes.PermissionDenied
	case errors.Is(err, ErrExchangeConfig):
		return codes.Internal
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return status.FromContextError(ctx.Err()).Code()
	}
	var withStatus interface{ GRPCStatus() *status.Status }
	if errors.As(err, &withStatus) {
		if code := withStatus.GRPCStatus().Code(); code != codes.OK && !restricted(code) {
			return code
		}
	}
	return codes.Unavailable
}

// restricted reports whether code is one that gRPC refuses from call
// credentials (gRFC A54), or Unknown, which says nothing a client can act on.
func restricted(code codes.Code) bool {
	switch code {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition,
		codes.Aborted, codes.OutOfRange, codes.DataLoss, codes.Unknown:
		return true
	}
	return false
}
