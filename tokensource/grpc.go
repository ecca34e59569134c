package tokensource

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt/dpop"
)

// PerRPCCredentials returns grpc-go call credentials that send the tokens
// of src as "authorization: Bearer <token>" (with [WithDPoP], "DPoP <token>"
// and a proof in metadata "dpop"), for
// [grpc.WithPerRPCCredentials] (every call of a connection) or
// [grpc.PerRPCCredentials] (one call). They require transport security
// unless [WithInsecureTransport] is given.
//
// A call whose token can't be had fails without being sent, with a status
// error that wraps the error of src: Unauthenticated for [ErrLoginEnded],
// Canceled or DeadlineExceeded when the call's context ended first,
// Unavailable (or the login service's own code) for a passing failure.
func PerRPCCredentials(src Source, opts ...TransportOption) credentials.PerRPCCredentials {
	c := newTransportConfig(opts)
	creds := &perRPCCredentials{src: src, insecure: c.insecure, dpop: c.dpop}
	if c.dpop != nil && c.baseURL != "" {
		base, err := dpop.ParseBaseURL(c.baseURL)
		creds.base, creds.baseErr = &base, err
	}
	return creds
}

type perRPCCredentials struct {
	src      Source
	insecure bool
	dpop     *DPoP
	base     *dpop.BaseURL // WithBaseURL's, for the htu of proofs
	baseErr  error
}

// GetRequestMetadata returns the authorization metadata of a call.
func (c *perRPCCredentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	ri, _ := credentials.RequestInfoFromContext(ctx)
	if !c.insecure {
		// gRPC checks this too; checked again so that no token is read for
		// a connection that must not carry it.
		if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
			return nil, &statusError{code: codes.Unauthenticated, err: errors.Join(errInsecure, err)}
		}
	}
	tok, err := c.src.Token(ctx)
	if err != nil {
		return nil, &statusError{code: codeOf(ctx, err), err: err}
	}
	if tok == "" {
		return nil, nil
	}
	if c.dpop == nil {
		return map[string]string{"authorization": "Bearer " + tok}, nil
	}
	proof, err := c.proof(ctx, ri, uri, tok)
	if err != nil {
		return nil, &statusError{code: codes.Unauthenticated, err: err}
	}
	return map[string]string{"authorization": "DPoP " + tok, "dpop": proof}, nil
}

// proof returns the DPoP proof of a call: htm POST and htu the method's URL
// on the connection (uri, which gRPC gives as https://{authority}/{service}
// whatever the connection) or under [WithBaseURL].
func (c *perRPCCredentials) proof(ctx context.Context, ri credentials.RequestInfo, uri []string, tok string) (string, error) {
	if c.baseErr != nil {
		return "", fmt.Errorf("tokensource: WithBaseURL: %w", c.baseErr)
	}
	if ri.Method == "" || len(uri) == 0 {
		return "", errors.New("tokensource: gRPC gave the call credentials no method or URI")
	}
	u, err := url.Parse(uri[0])
	if err != nil || u.Host == "" {
		return "", errors.New("tokensource: gRPC gave the call credentials a URI without authority")
	}
	var htu string
	if c.base != nil {
		htu = c.base.MethodURL(ri.Method)
	} else {
		scheme := "http"
		if credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity) == nil && ri.AuthInfo != nil {
			scheme = "https"
		}
		htu = dpop.MethodURL(scheme, u.Host, ri.Method)
	}
	proof, nonce, err := c.dpop.proof("POST", htu, tok, u.Host)
	if err != nil {
		return "", fmt.Errorf("tokensource: DPoP proof: %w", err)
	}
	c.dpop.noteCall(ctx, u.Host, nonce)
	return proof, nil
}

// RequireTransportSecurity reports whether the credentials need a secure
// connection: true unless [WithInsecureTransport] was given.
func (c *perRPCCredentials) RequireTransportSecurity() bool { return !c.insecure }

// statusError is an error of src as a gRPC status of code; [errors.Is] and
// [errors.As] see the error of src through it, and [protojwt.ReasonOf] the
// ErrorInfo of the login service's refusal.
type statusError struct {
	code codes.Code
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// GRPCStatus returns the status: the code, the message of the error, and
// the details of the login service's status when the error holds one.
func (e *statusError) GRPCStatus() *status.Status {
	var withStatus interface{ GRPCStatus() *status.Status }
	if errors.As(e.err, &withStatus) {
		if p := withStatus.GRPCStatus().Proto(); len(p.GetDetails()) > 0 {
			p.Code, p.Message = int32(e.code), e.err.Error()
			return status.FromProto(p)
		}
	}
	return status.New(e.code, e.err.Error())
}
