package tokensource

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// PerRPCCredentials returns grpc-go call credentials that send the tokens
// of src as "authorization: Bearer <token>", for
// grpc.WithPerRPCCredentials (every call of a connection) or
// grpc.PerRPCCredentials (one call). They require transport security
// unless WithInsecureTransport is given.
//
// A call whose token can't be had fails without being sent, with a status
// error that wraps the error of src: Unauthenticated for ErrLoginEnded,
// Canceled or DeadlineExceeded when the call's context ended first,
// Unavailable (or the login service's own code) for a passing failure.
func PerRPCCredentials(src Source, opts ...TransportOption) credentials.PerRPCCredentials {
	return &perRPCCredentials{src: src, insecure: newTransportConfig(opts).insecure}
}

type perRPCCredentials struct {
	src      Source
	insecure bool
}

// GetRequestMetadata returns the authorization metadata of a call.
func (c *perRPCCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if !c.insecure {
		// gRPC checks this too; checked again so that no token is read for
		// a connection that must not carry it.
		ri, _ := credentials.RequestInfoFromContext(ctx)
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
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity reports whether the credentials need a secure
// connection: true unless WithInsecureTransport was given.
func (c *perRPCCredentials) RequireTransportSecurity() bool { return !c.insecure }

// statusError is an error of src as a gRPC status of code; errors.Is and
// errors.As see the error of src through it, and protojwt.ReasonOf the
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
