package tokensource

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/metadata"
)

// ConnectInterceptor returns a connect-go client interceptor that sends the
// tokens of src as "Authorization: Bearer <token>" (with [WithDPoP], "DPoP
// <token>" and a proof in the "DPoP" header, whose htu is [WithBaseURL]'s URL
// and the procedure), for [connect.WithInterceptors] on a client. It leaves
// handlers alone.
//
// As [RoundTripper], it refuses to send a token over plain http:// to a host
// other than a loopback one, unless [WithInsecureTransport] is given. connect
// tells an interceptor the host of a call but not its scheme, so a client
// of a host that is not loopback needs [WithBaseURL], the URL it was built
// with: its calls then carry the token when that URL is https (or plain
// http to loopback) and the call goes to its host. Without [WithBaseURL],
// only calls to loopback hosts carry a token. A refused call fails
// without being sent, with CodeUnauthenticated.
//
// A call whose token can't be had fails without being sent, with a
// *[connect.Error] that wraps the error of src, coded as [PerRPCCredentials]
// codes it.
func ConnectInterceptor(src Source, opts ...TransportOption) connect.Interceptor {
	c := newTransportConfig(opts)
	i := &connectInterceptor{src: src, insecure: c.insecure, dpop: c.dpop}
	if c.dpop != nil {
		i.htuBase = strings.TrimSuffix(c.baseURL, "/")
		if _, err := dpop.ParseBaseURL(c.baseURL); err != nil {
			i.dpopErr = errDPoPBaseURL
		} else if u, err := url.Parse(c.baseURL); err == nil {
			i.dpopHost = u.Host
		}
	}
	if c.baseURL != "" {
		u, err := url.Parse(c.baseURL)
		switch {
		case err != nil || u.Host == "":
			i.baseErr = errBaseURL
		case u.Scheme == "https" || u.Scheme == "http" && metadata.Loopback(u.Hostname()):
			i.baseHost = u.Host
		default:
			i.baseErr = errInsecure
		}
	}
	return i
}

type connectInterceptor struct {
	src      Source
	insecure bool
	baseHost string // the host of WithBaseURL's URL when tokens may go there
	baseErr  error  // why no call may carry a token, when WithBaseURL says so
	dpop     *DPoP
	htuBase  string // WithBaseURL's URL, to which a procedure adds the htu
	dpopErr  error  // why no call can carry a proof
	dpopHost string // WithBaseURL's host: whose nonces the proofs carry
}

// errDPoPBaseURL means [ConnectInterceptor] has [WithDPoP] without a usable
// [WithBaseURL]: connect shows an interceptor neither the scheme nor the
// path of a call, which the proof's htu names.
var errDPoPBaseURL = errors.New("tokensource: ConnectInterceptor WithDPoP needs WithBaseURL, an absolute http(s) URL: the start of its proofs' htu")

// authorize sets the Authorization header of a call to the procedure, and
// with DPoP its proof; it returns the nonce the proof carries.
func (i *connectInterceptor) authorize(h http.Header, procedure, tok string) (string, error) {
	if i.dpop == nil {
		h.Set("Authorization", "Bearer "+tok)
		return "", nil
	}
	if i.dpopErr != nil {
		return "", i.dpopErr
	}
	proof, nonce, err := i.dpop.proof("POST", i.htuBase+procedure, tok, i.dpopHost)
	if err != nil {
		return "", fmt.Errorf("tokensource: DPoP proof: %w", err)
	}
	h.Set("Authorization", "DPoP "+tok)
	h.Set("DPoP", proof)
	return nonce, nil
}

// errNoScheme means a connect call to a host that is not loopback, by an
// interceptor that does not know whether the client's URL is https.
var errNoScheme = fmt.Errorf("%w: connect does not tell an interceptor the scheme of a call to a host other than loopback: give ConnectInterceptor WithBaseURL", errInsecure)

// errBaseURL means [WithBaseURL] was given a URL that is not absolute.
var errBaseURL = errors.New("tokensource: WithBaseURL needs an absolute URL")

// errOtherHost means a connect call to a host other than [WithBaseURL]'s.
var errOtherHost = errors.New("tokensource: refusing to send a token to a host other than that of WithBaseURL")

// check returns nil when a call to the host addr (host or host:port, as
// connect's Peer.Addr gives it) may carry a token.
func (i *connectInterceptor) check(addr string) error {
	switch {
	case i.insecure:
		return nil
	case i.baseErr != nil:
		return i.baseErr
	case i.baseHost != "":
		if !strings.EqualFold(addr, i.baseHost) {
			return errOtherHost
		}
		return nil
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if !metadata.Loopback(strings.Trim(host, "[]")) {
		return errNoScheme
	}
	return nil
}

func (i *connectInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if !req.Spec().IsClient {
			return next(ctx, req)
		}
		if err := i.check(req.Peer().Addr); err != nil {
			return nil, connect.NewError(connect.CodeUnauthenticated, err)
		}
		tok, err := i.src.Token(ctx)
		if err != nil {
			return nil, connectError(ctx, err)
		}
		if tok == "" {
			return next(ctx, req)
		}
		sent, err := i.authorize(req.Header(), req.Spec().Procedure, tok)
		if err != nil {
			return nil, connect.NewError(connect.CodeUnauthenticated, err)
		}
		resp, err := next(ctx, req)
		if i.dpop == nil {
			return resp, err
		}
		// Keep the server's nonce; retry once a call it refused for one.
		var ce *connect.Error
		switch {
		case err == nil:
			i.dpop.learn(i.dpopHost, resp.Header().Get("DPoP-Nonce"), sent)
			return resp, nil
		case !errors.As(err, &ce) || !i.dpop.learn(i.dpopHost, ce.Meta().Get("DPoP-Nonce"), sent) ||
			ce.Code() != connect.CodeUnauthenticated:
			return resp, err
		}
		if _, err := i.authorize(req.Header(), req.Spec().Procedure, tok); err != nil {
			return nil, connect.NewError(connect.CodeUnauthenticated, err)
		}
		resp, err = next(ctx, req)
		i.learnFrom(resp, err)
		return resp, err
	}
}

// learnFrom keeps the nonce of a unary call's answer or refusal.
func (i *connectInterceptor) learnFrom(resp connect.AnyResponse, err error) {
	var ce *connect.Error
	switch {
	case err == nil:
		i.dpop.learn(i.dpopHost, resp.Header().Get("DPoP-Nonce"), "")
	case errors.As(err, &ce):
		i.dpop.learn(i.dpopHost, ce.Meta().Get("DPoP-Nonce"), "")
	}
}

func (i *connectInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		// The request goes out with the first Send or CloseRequest, so the
		// header set here is sent; a stream that gets no token never sends.
		conn := next(ctx, spec)
		if err := i.check(conn.Peer().Addr); err != nil {
			return &failedStream{StreamingClientConn: conn, err: connect.NewError(connect.CodeUnauthenticated, err)}
		}
		tok, err := i.src.Token(ctx)
		if err != nil {
			return &failedStream{StreamingClientConn: conn, err: connectError(ctx, err)}
		}
		if tok != "" {
			if _, err := i.authorize(conn.RequestHeader(), spec.Procedure, tok); err != nil {
				return &failedStream{StreamingClientConn: conn, err: connect.NewError(connect.CodeUnauthenticated, err)}
			}
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
	if errors.As(err, &ce) && !errors.Is(err, ErrLoginEnded) && !errors.Is(err, ErrNoIncomingToken) {
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
