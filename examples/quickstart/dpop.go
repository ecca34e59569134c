package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/protojwt/protojwt/dpop"
)

// A client that holds a DPoP key (RFC 9449) logs in with a proof of it: its
// tokens are then bound to the key (cnf.jkt), the adapters accept them only
// with a fresh proof by that key, and a token stolen without the key is
// useless. The login checks the proof with the verifier the adapters check
// calls' proofs with, so no proof is accepted twice anywhere. A refresh
// keeps the login bound: the adapters check the refresh token's proof as
// for any bound token, and the new tokens carry the same binding.

// errProof means a login's DPoP proof failed; the error it wraps says
// which check.
var errProof = errors.New("invalid DPoP proof")

// proofFor reads the DPoP proof of a call: "" when the client sent none.
// Several proofs, or an empty one, are an error.
func proofFor(values []string) (string, error) {
	if len(values) == 0 {
		return "", nil
	}
	proof, err := dpop.ProofFrom(values)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errProof, err)
	}
	return proof, nil
}

// loginKey checks the proof sent with a login, which introduces the
// client's key (no token yet, so no ath and no jkt to match), and returns
// the key's thumbprint: "" when the login carries no proof.
func (a *accounts) loginKey(ctx context.Context, proof string, call dpop.Call) (string, error) {
	if proof == "" {
		return "", nil
	}
	p, err := a.proofs.Verify(ctx, proof, call, "")
	if err != nil {
		return "", fmt.Errorf("%w: %w", errProof, err)
	}
	return p.Thumbprint, nil
}

// httpCall is the DPoP call of an HTTP request: its method and URL.
func httpCall(r *http.Request) dpop.Call {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return dpop.Call{Method: r.Method, URL: scheme + "://" + r.Host + r.URL.Path}
}

// grpcCall is the DPoP call of a gRPC method: POST to
// {scheme}://{authority}/{package.Service}/{Method}, https over TLS.
func grpcCall(ctx context.Context, fullMethod string) dpop.Call {
	md, _ := metadata.FromIncomingContext(ctx)
	var authority string
	if v := md.Get(":authority"); len(v) > 0 {
		authority = v[0]
	}
	scheme := "http"
	if p, ok := peer.FromContext(ctx); ok && p.AuthInfo != nil &&
		credentials.CheckSecurityLevel(p.AuthInfo, credentials.PrivacyAndIntegrity) == nil {
		scheme = "https"
	}
	return dpop.Call{Method: "POST", URL: dpop.MethodURL(scheme, authority, fullMethod)}
}

// grpcProof reads the DPoP proof of an incoming gRPC call.
func grpcProof(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return proofFor(md.Get("dpop"))
}
