package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt/dpop"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
	"github.com/protojwt/protojwt/tokensource"
)

// dpopSteps walks a login bound to the client's DPoP key: the login
// carries a proof of the key, the tokens then pass only with fresh proofs
// by it (tokensource signs one per call), and a refresh keeps them bound.
func (d *demo) dpopSteps() []step {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return []step{{"DPoP key", "-", "made", func() string { return err.Error() }}}
	}
	signer, err := dpop.NewSigner(key)
	if err != nil {
		return []step{{"DPoP key", "-", "made", func() string { return err.Error() }}}
	}
	proving, _ := tokensource.NewDPoP(signer) // signer is not nil
	s := newSession()
	protected := func(via string, prove bool) func() string {
		var opts []tokensource.TransportOption
		if prove {
			opts = append(opts, tokensource.WithDPoP(proving))
		}
		return func() string {
			src := tokensource.Static(s.auth[via])
			if via == "gRPC" {
				_, err := d.grpc.Protected(d.ctx, &pb.ProtectedRequest{},
					grpc.PerRPCCredentials(tokensource.PerRPCCredentials(src, append(opts, tokensource.WithInsecureTransport())...)))
				return grpcOutcome(err)
			}
			return d.get(&http.Client{Transport: tokensource.RoundTripper(src, nil, opts...)}, "/protected_route")
		}
	}
	refresh := func(via string) func() string {
		src := func() tokensource.Source { return tokensource.Static(s.refresh[via]) }
		if via == "gRPC" {
			return func() string {
				resp, err := d.grpc.Refresh(d.ctx, &pb.RefreshRequest{}, grpc.PerRPCCredentials(
					tokensource.PerRPCCredentials(src(), tokensource.WithDPoP(proving), tokensource.WithInsecureTransport())))
				if err == nil {
					s.auth[via], s.refresh[via] = resp.GetAuthToken(), resp.GetRefreshToken()
				}
				return grpcOutcome(err)
			}
		}
		return func() string {
			req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, d.base+"/refresh", nil)
			if err != nil {
				return err.Error()
			}
			client := &http.Client{Transport: tokensource.RoundTripper(src(), nil, tokensource.WithDPoP(proving))}
			return d.httpDo(client, req, func(body []byte) {
				var t tokens
				// Kept whatever they are: the steps after check that they
				// are bound.
				_ = json.Unmarshal(body, &t)
				s.auth[via], s.refresh[via] = t.Auth, t.Refresh
			})
		}
	}
	var steps []step
	for _, via := range []string{"gRPC", "HTTP"} {
		ok, proofMissing := "200", "401 PROOF_MISSING"
		if via == "gRPC" {
			ok, proofMissing = "OK", "Unauthenticated PROOF_MISSING"
		}
		steps = append(steps,
			step{"login alice with a DPoP key", via, ok, d.dpopLogin(signer, via, s)},
			step{"protected route, DPoP token with proofs", via, ok, protected(via, true)},
			step{"protected route, DPoP token as Bearer", via, proofMissing, protected(via, false)},
			step{"refresh, DPoP login: the same key", via, ok, refresh(via)},
			step{"protected route, refreshed DPoP token with proofs", via, ok, protected(via, true)},
			step{"protected route, refreshed DPoP token as Bearer", via, proofMissing, protected(via, false)},
		)
	}
	return steps
}

// dpopLogin logs alice in over via with a proof of signer's key, keeping
// the bound tokens in s.
func (d *demo) dpopLogin(signer *dpop.Signer, via string, s *session) func() string {
	return func() string {
		if via == "gRPC" {
			// The proof's htu is the Login method's URL on the connection.
			call := dpop.Call{Method: "POST", URL: dpop.MethodURL("http", d.grpcAddr, pb.QuickstartService_Login_FullMethodName)}
			proof, err := signer.Proof(call, "")
			if err != nil {
				return err.Error()
			}
			resp, err := d.grpc.Login(metadata.AppendToOutgoingContext(d.ctx, "dpop", proof),
				&pb.LoginRequest{Username: "alice", Password: "wonderland"})
			if err == nil {
				s.auth[via], s.refresh[via] = resp.GetAuthToken(), resp.GetRefreshToken()
			}
			return grpcOutcome(err)
		}
		proof, err := signer.Proof(dpop.Call{Method: "POST", URL: d.base + "/login"}, "")
		if err != nil {
			return err.Error()
		}
		form := url.Values{"username": {"alice"}, "password": {"wonderland"}}
		req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, d.base+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			return err.Error()
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var t tokens
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&t); err != nil || resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		if t.Type != "DPoP" {
			return "token_type " + t.Type
		}
		s.auth[via], s.refresh[via] = t.Auth, t.Refresh
		return "200"
	}
}
