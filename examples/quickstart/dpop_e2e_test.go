package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
	"github.com/protojwt/protojwt/tokensource"
)

// quickstartClient logs in and calls the quickstart over one transport,
// with the tokens and DPoP keys it is given.
type quickstartClient interface {
	login(t *testing.T, s *dpop.Signer) tokens
	// protected calls the protected method with src's tokens, proving
	// with d when not nil; it returns "OK" or the denial's reason.
	protected(src tokensource.Source, d *tokensource.DPoP) string
	// refresher is a token source resuming the login of refresh, which
	// refreshes with d's key.
	refresher(refresh string, d *tokensource.DPoP) *tokensource.Refresher
}

func outcome(err error) string {
	if err == nil {
		return "OK"
	}
	if reason, ok := protojwt.ReasonOf(err); ok {
		return reason
	}
	var re *tokensource.ResponseError
	if errors.As(err, &re) {
		return re.Reason
	}
	return err.Error()
}

type grpcQuickstart struct {
	conn   *grpc.ClientConn
	client pb.QuickstartServiceClient
	addr   string
}

func (c *grpcQuickstart) login(t *testing.T, s *dpop.Signer) tokens {
	t.Helper()
	p := mustProof(t, s, "POST", dpop.MethodURL("http", c.addr, pb.QuickstartService_Login_FullMethodName))
	resp, err := c.client.Login(metadata.AppendToOutgoingContext(context.Background(), "dpop", p),
		&pb.LoginRequest{Username: "alice", Password: "wonderland"})
	if err != nil {
		t.Fatal(err)
	}
	return tokens{Auth: resp.GetAuthToken(), Refresh: resp.GetRefreshToken(), Type: "DPoP"}
}

func grpcCreds(src tokensource.Source, d *tokensource.DPoP) grpc.CallOption {
	opts := []tokensource.TransportOption{tokensource.WithInsecureTransport()}
	if d != nil {
		opts = append(opts, tokensource.WithDPoP(d))
	}
	return grpc.PerRPCCredentials(tokensource.PerRPCCredentials(src, opts...))
}

func (c *grpcQuickstart) protected(src tokensource.Source, d *tokensource.DPoP) string {
	_, err := c.client.Protected(context.Background(), &pb.ProtectedRequest{}, grpcCreds(src, d))
	return outcome(err)
}

func (c *grpcQuickstart) refresher(refresh string, d *tokensource.DPoP) *tokensource.Refresher {
	src, _ := tokensource.New("", refresh, func(ctx context.Context, refresh string) (string, string, error) {
		resp, err := c.client.Refresh(ctx, &pb.RefreshRequest{}, grpcCreds(tokensource.Static(refresh), d))
		return resp.GetAuthToken(), resp.GetRefreshToken(), err
	})
	return src
}

type httpQuickstart struct{ base string }

func (c *httpQuickstart) login(t *testing.T, s *dpop.Signer) tokens {
	t.Helper()
	form := url.Values{"username": {"alice"}, "password": {"wonderland"}}
	req, _ := http.NewRequest("POST", c.base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", mustProof(t, s, "POST", c.base+"/login"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got tokens
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %d, %v", resp.StatusCode, err)
	}
	return got
}

func httpTransport(src tokensource.Source, d *tokensource.DPoP) *http.Client {
	var opts []tokensource.TransportOption
	if d != nil {
		opts = append(opts, tokensource.WithDPoP(d))
	}
	return &http.Client{Transport: tokensource.RoundTripper(src, nil, opts...)}
}

func (c *httpQuickstart) protected(src tokensource.Source, d *tokensource.DPoP) string {
	resp, err := httpTransport(src, d).Get(c.base + "/protected_route")
	if err != nil {
		return outcome(err)
	}
	defer resp.Body.Close()
	return outcome(tokensource.CheckResponse(resp))
}

func (c *httpQuickstart) refresher(refresh string, d *tokensource.DPoP) *tokensource.Refresher {
	src, _ := tokensource.New("", refresh, func(ctx context.Context, refresh string) (string, string, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/refresh", nil)
		if err != nil {
			return "", "", err
		}
		resp, err := httpTransport(tokensource.Static(refresh), d).Do(req)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		if err := tokensource.CheckResponse(resp); err != nil {
			return "", "", err
		}
		var t tokens
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&t)
		return t.Auth, t.Refresh, err
	})
	return src
}

// TestDPoPLoginEndToEnd: tokens of a DPoP login pass the real adapters
// with the client's proofs, fail without them or with another key's, and
// a refresh with the same key keeps them bound; a refresh with another
// key is refused and leaves the login to its owner.
func TestDPoPLoginEndToEnd(t *testing.T) {
	a := newTestAccounts(t)
	g, err := newGRPCServer(a.m, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(lis)
	defer g.Stop()
	srv := httptest.NewServer(newHTTPHandler(a.m, a, nil))
	defer srv.Close()

	ownerSigner, thiefSigner := newProofSigner(t), newProofSigner(t)
	owner, _ := tokensource.NewDPoP(ownerSigner)
	thief, _ := tokensource.NewDPoP(thiefSigner)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(owner.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	for name, c := range map[string]quickstartClient{
		"gRPC": &grpcQuickstart{conn: conn, client: pb.NewQuickstartServiceClient(conn), addr: lis.Addr().String()},
		"HTTP": &httpQuickstart{base: srv.URL},
	} {
		t.Run(name, func(t *testing.T) {
			login := c.login(t, ownerSigner)
			checkLogin(t, a, login, true, ownerSigner.Thumbprint())
			auth := tokensource.Static(login.Auth)
			for _, tt := range []struct {
				name string
				d    *tokensource.DPoP
				want string
			}{
				{"owner's proofs", owner, "OK"},
				{"as a bearer token", nil, protojwt.ReasonProofMissing},
				{"another key's proofs", thief, protojwt.ReasonProofInvalid},
			} {
				if got := c.protected(auth, tt.d); got != tt.want {
					t.Errorf("protected with %s: %s, want %s", tt.name, got, tt.want)
				}
			}

			// Refreshes with another key, or none, are refused; the login
			// is the owner's still.
			for _, tt := range []struct {
				name string
				d    *tokensource.DPoP
				want string
			}{
				{"another key", thief, protojwt.ReasonProofInvalid},
				{"no key", nil, protojwt.ReasonProofMissing},
			} {
				stolen := c.refresher(login.Refresh, tt.d)
				if _, err := stolen.Token(context.Background()); outcome(err) != tt.want {
					t.Errorf("refresh with %s: %v, want %s", tt.name, err, tt.want)
				}
			}
			src := c.refresher(login.Refresh, owner)
			if got := c.protected(src, owner); got != "OK" {
				t.Fatalf("protected after the owner's refresh: %s", got)
			}
			refreshed, err := src.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if jkt := boundTo(t, a, refreshed); jkt != ownerSigner.Thumbprint() {
				t.Errorf("refreshed token bound to %q, want the owner's key", jkt)
			}
			if got := c.protected(tokensource.Static(refreshed), nil); got != protojwt.ReasonProofMissing {
				t.Errorf("refreshed token as a bearer token: %s, want PROOF_MISSING", got)
			}
		})
	}
}
