package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt/dpop"
	pb "github.com/protojwt/protojwt/examples/quickstart/quickstartpb"
)

func newProofSigner(t *testing.T) *dpop.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newTestAccounts returns the quickstart's accounts on a manager of a
// random development secret.
func newTestAccounts(t *testing.T) *accounts {
	t.Helper()
	t.Setenv("JWT_SECRET", "")
	m, err := newManager(func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	proofs, err := dpop.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	return &accounts{m: m, proofs: proofs}
}

// boundTo returns the cnf.jkt of a token the manager of a issued: "" for
// a bearer token.
func boundTo(t *testing.T, a *accounts, token string) string {
	t.Helper()
	tok, err := a.m.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify(issued token): %v", err)
	}
	b, err := dpop.BindingOf(tok.Claims)
	if err != nil {
		t.Fatal(err)
	}
	return b.JKT
}

// loginCase is a login and the proofs sent with it: proofs gets the URL
// the login goes to.
type loginCase struct {
	name    string
	proofs  func(url string) []string
	wantJKT bool // a bound login; false with wantErr false: a bearer one
	wantErr bool
}

func loginCases(t *testing.T, s *dpop.Signer) []loginCase {
	proof := func(method, url string) string {
		p, err := s.Proof(dpop.Call{Method: method, URL: url}, "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	replayed := map[string]string{}
	return []loginCase{
		{"no proof: bearer tokens", func(string) []string { return nil }, false, false},
		{"proof: bound tokens", func(u string) []string { return []string{proof("POST", u)} }, true, false},
		{"proof for another URL", func(u string) []string { return []string{proof("POST", u+"x")} }, false, true},
		{"proof for another method", func(u string) []string { return []string{proof("GET", u)} }, false, true},
		{"two proofs", func(u string) []string { return []string{proof("POST", u), proof("POST", u)} }, false, true},
		{"empty proof", func(string) []string { return []string{""} }, false, true},
		{"not a proof", func(string) []string { return []string{"a.b.c"} }, false, true},
		{"replayed proof", func(u string) []string {
			if replayed[u] == "" {
				replayed[u] = proof("POST", u)
			}
			return []string{replayed[u]}
		}, false, true},
	}
}

func TestHTTPLoginWithProof(t *testing.T) {
	a := newTestAccounts(t)
	srv := httptest.NewServer(newHTTPHandler(a.m, a, nil))
	defer srv.Close()
	s := newProofSigner(t)
	login := func(proofs []string) (*http.Response, tokens) {
		form := url.Values{"username": {"alice"}, "password": {"wonderland"}}
		req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, p := range proofs {
			req.Header.Add("DPoP", p)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got tokens
		_ = json.NewDecoder(resp.Body).Decode(&got)
		return resp, got
	}
	for _, tt := range loginCases(t, s) {
		t.Run(tt.name, func(t *testing.T) {
			proofs := tt.proofs(srv.URL + "/login")
			if tt.name == "replayed proof" {
				login(proofs) // its first use
			}
			resp, got := login(proofs)
			if tt.wantErr {
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			checkLogin(t, a, got, tt.wantJKT, s.Thumbprint())
		})
	}
}

func mustProof(t *testing.T, s *dpop.Signer, method, url string) string {
	t.Helper()
	p, err := s.Proof(dpop.Call{Method: method, URL: url}, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkLogin checks that a login's tokens are bound to jkt, or not bound.
func checkLogin(t *testing.T, a *accounts, got tokens, bound bool, jkt string) {
	t.Helper()
	want, wantType := "", "Bearer"
	if bound {
		want, wantType = jkt, "DPoP"
	}
	if got.Type != wantType {
		t.Errorf("token_type = %q, want %q", got.Type, wantType)
	}
	for _, tok := range []string{got.Auth, got.Refresh} {
		if jktGot := boundTo(t, a, tok); jktGot != want {
			t.Errorf("token bound to %q, want %q", jktGot, want)
		}
	}
}

func TestGRPCLoginWithProof(t *testing.T) {
	a := newTestAccounts(t)
	g, err := newGRPCServer(a.m, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go g.Serve(lis)
	defer g.Stop()
	conn, err := grpc.NewClient("passthrough:///login.test",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewQuickstartServiceClient(conn)
	s := newProofSigner(t)
	loginURL := dpop.MethodURL("http", "login.test", pb.QuickstartService_Login_FullMethodName)
	login := func(proofs []string) (*pb.LoginResponse, error) {
		ctx := context.Background()
		for _, p := range proofs {
			ctx = metadata.AppendToOutgoingContext(ctx, "dpop", p)
		}
		return client.Login(ctx, &pb.LoginRequest{Username: "alice", Password: "wonderland"})
	}
	for _, tt := range loginCases(t, s) {
		t.Run(tt.name, func(t *testing.T) {
			proofs := tt.proofs(loginURL)
			if tt.name == "replayed proof" {
				login(proofs)
			}
			resp, err := login(proofs)
			if tt.wantErr {
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("Login() = %v, want InvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			typ := "Bearer"
			if tt.wantJKT {
				typ = "DPoP"
			}
			checkLogin(t, a, tokens{Auth: resp.GetAuthToken(), Refresh: resp.GetRefreshToken(), Type: typ}, tt.wantJKT, s.Thumbprint())
		})
	}
}
