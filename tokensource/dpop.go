package tokensource

import (
	"context"
	"errors"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt/dpop"
)

// DPoP is a client's proof-of-possession key (RFC 9449) and the nonces its
// servers asked for. Given to [PerRPCCredentials], [ConnectInterceptor] or
// [RoundTripper] with [WithDPoP], it makes them send the auth token as
// "Authorization: DPoP <token>" with a fresh proof of the key in the
// "DPoP" header (gRPC metadata "dpop"), made for the call: htm and htu
// (gRPC and connect: POST and {scheme}://{authority}/{package.Service}/{Method};
// net/http: the request's method and URL) and ath, the token's hash.
//
// A server that demands its nonce (RFC 9449 §8) refuses a call with a
// "DPoP-Nonce" header (gRPC metadata "dpop-nonce"): the client keeps the
// nonce, by host, for its next proofs, and retries the refused call once
// with it. [RoundTripper] retries a request whose body it can send again
// (GetBody set, as [http.NewRequest] sets it), [ConnectInterceptor] a unary
// call; gRPC's call credentials can't retry, so a grpc-go client adds
// [DPoP.UnaryClientInterceptor]. Streams are not retried: they use the
// nonce the last call brought, and a refused stream's nonce is kept by
// [DPoP.StreamClientInterceptor] for the next.
//
// Tokens bound to the key are refreshed with it: the [RefreshFunc] sends the
// refresh token through transports given the same DPoP, for example
// grpc.PerRPCCredentials(PerRPCCredentials(Static(refresh), WithDPoP(d))),
// so that the login service sees the key the login is bound to. A DPoP is
// safe for concurrent use.
type DPoP struct {
	signer *dpop.Signer
	nonces sync.Map // lower-case host[:port] -> the last nonce it gave
}

// NewDPoP returns the DPoP of signer, whose Thumbprint is the cnf.jkt of
// the tokens bound to its key.
func NewDPoP(signer *dpop.Signer) (*DPoP, error) {
	if signer == nil {
		return nil, errors.New("tokensource: NewDPoP needs a signer")
	}
	return &DPoP{signer: signer}, nil
}

// WithDPoP makes [PerRPCCredentials], [ConnectInterceptor] and [RoundTripper]
// prove possession of d's key on every call that carries a token (see
// [DPoP]). [ConnectInterceptor] then needs [WithBaseURL], whose URL is the
// start of its calls' htu. By default, and with a nil d (as the nil
// *DPoP of a failed [NewDPoP]), tokens go as "Bearer" without a proof,
// which a server refuses for a DPoP-bound token: check NewDPoP's error.
func WithDPoP(d *DPoP) TransportOption {
	return transportOptionFunc(func(c *transportConfig) { c.dpop = d })
}

// proof returns a proof for a call to the host authority, with the nonce
// that host gave last, and that nonce.
func (d *DPoP) proof(method, url, token, authority string) (proof, nonce string, err error) {
	if v, ok := d.nonces.Load(strings.ToLower(authority)); ok {
		nonce = v.(string)
	}
	proof, err = d.signer.Proof(dpop.Call{Method: method, URL: url, AccessToken: token}, nonce)
	return proof, nonce, err
}

// learn keeps the nonce that the host authority gave. It reports whether
// the nonce is new: one the refused call did not carry (sent), so a retry
// with it may pass.
func (d *DPoP) learn(authority, nonce, sent string) bool {
	if nonce == "" || len(nonce) > maxNonce || authority == "" {
		return false
	}
	d.nonces.Store(strings.ToLower(authority), nonce)
	return nonce != sent
}

// maxNonce bounds a nonce kept from a server's answer.
const maxNonce = 1 << 10

// dpopCall is what [PerRPCCredentials] tells the UnaryClientInterceptor
// about the proof it sent: the host and the nonce.
type dpopCall struct {
	mu        sync.Mutex
	authority string
	nonce     string
}

// dpopCallKey marks the context of a call made by a DPoP's interceptor.
type dpopCallKey struct{ d *DPoP }

// noteCall records the host and nonce of a call's proof for the
// interceptor of d, when the call went through it.
func (d *DPoP) noteCall(ctx context.Context, authority, nonce string) {
	if c, ok := ctx.Value(dpopCallKey{d}).(*dpopCall); ok {
		c.mu.Lock()
		c.authority, c.nonce = authority, nonce
		c.mu.Unlock()
	}
}

// UnaryClientInterceptor returns a grpc-go client interceptor that keeps
// the nonces of d's servers and retries once a unary call refused with a
// new one (Unauthenticated, with "dpop-nonce" metadata): call credentials
// see no answers and can't resend. Add it with [grpc.WithUnaryInterceptor]
// next to grpc.WithPerRPCCredentials(PerRPCCredentials(src, WithDPoP(d))).
func (d *DPoP) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return d.invoke(ctx, method, req, reply, cc, invoker, opts, true)
	}
}

// invoke makes one call, keeps the nonce of its answer, and when retry is
// true and the call was refused with a new nonce, makes it once more.
func (d *DPoP) invoke(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption, retry bool) error {
	call := &dpopCall{}
	var header, trailer metadata.MD
	all := append(opts[:len(opts):len(opts)], grpc.Header(&header), grpc.Trailer(&trailer))
	err := invoker(context.WithValue(ctx, dpopCallKey{d}, call), method, req, reply, cc, all...)
	call.mu.Lock()
	fresh := d.learn(call.authority, firstOf(header, trailer, "dpop-nonce"), call.nonce)
	call.mu.Unlock()
	if err == nil || !retry || !fresh || status.Code(err) != codes.Unauthenticated {
		return err
	}
	return d.invoke(ctx, method, req, reply, cc, invoker, opts, false)
}

// StreamClientInterceptor returns a grpc-go client interceptor that keeps
// the nonce a server sends on a stream ("dpop-nonce" in its header or
// trailer), for the proofs of the next calls. A stream is not retried: one
// refused for a nonce fails, and the next one carries it. Add it with
// [grpc.WithStreamInterceptor].
func (d *DPoP) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		call := &dpopCall{}
		s, err := streamer(context.WithValue(ctx, dpopCallKey{d}, call), desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return &noncedStream{ClientStream: s, d: d, call: call}, nil
	}
}

// noncedStream keeps the nonce of its server's header and trailer.
type noncedStream struct {
	grpc.ClientStream
	d    *DPoP
	call *dpopCall
}

func (s *noncedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		// The trailer is there once RecvMsg fails; the header of a stream
		// refused at once is the trailer.
		header, _ := s.ClientStream.Header()
		s.call.mu.Lock()
		s.d.learn(s.call.authority, firstOf(header, s.ClientStream.Trailer(), "dpop-nonce"), s.call.nonce)
		s.call.mu.Unlock()
	}
	return err
}

// firstOf returns the first value of key in any of mds.
func firstOf(a, b metadata.MD, key string) string {
	if v := a.Get(key); len(v) > 0 {
		return v[0]
	}
	if v := b.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
