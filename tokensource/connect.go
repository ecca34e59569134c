package tokensource

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"
)

// ConnectInterceptor returns a connect-go client interceptor that sends the
// tokens of src as "Authorization: Bearer <token>", for
// connect.WithInterceptors on a client. It leaves handlers alone.
//
// A call whose token can't be had fails without being sent, with a
// *connect.Error that wraps the error of src, coded as PerRPCCredentials
// codes it. connect sees no connection security, so use https URLs, or
// give the client's http.Client a RoundTripper of this package instead.
func ConnectInterceptor(src Source) connect.Interceptor {
	return &connectInterceptor{src: src}
}

type connectInterceptor struct {
	src Source
}

func (i *connectInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if !req.Spec().IsClient {
			return next(ctx, req)
		}
		tok, err := i.src.Token(ctx)
		if err != nil {
			return nil, connectError(ctx, err)
		}
		if tok != "" {
			req.Header().Set("Authorization", "Bearer "+tok)
		}
		return next(ctx, req)
	}
}

func (i *connectInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		// The request goes out with the first Send or CloseRequest, so the
		// header set here is sent; a stream that gets no token never sends.
		tok, err := i.src.Token(ctx)
		conn := next(ctx, spec)
		if err != nil {
			return &failedStream{StreamingClientConn: conn, err: connectError(ctx, err)}
		}
		if tok != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+tok)
		}
		return conn
	}
}

func (i *connectInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// connectError returns err, an error of Source.Token, as a connect error
// coded as codeOf codes it (connect's codes are gRPC's).
func connectError(ctx context.Context, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) && !errors.Is(err, ErrLoginEnded) {
		if code := ce.Code(); code != connect.CodeUnknown {
			return connect.NewError(code, err)
		}
	}
	return connect.NewError(connect.Code(codeOf(ctx, err)), err)
}

// failedStream is a stream whose token could not be had: it sends nothing
// and returns the error.
type failedStream struct {
	connect.StreamingClientConn
	err error
}

func (s *failedStream) Send(any) error               { return s.err }
func (s *failedStream) CloseRequest() error          { return nil }
func (s *failedStream) Receive(any) error            { return s.err }
func (s *failedStream) ResponseHeader() http.Header  { return http.Header{} }
func (s *failedStream) ResponseTrailer() http.Header { return http.Header{} }
func (s *failedStream) CloseResponse() error         { return nil }
