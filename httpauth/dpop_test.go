package httpauth_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/internal/dpoptest"
	"github.com/protojwt/protojwt/manager"
)

// dpopServer is an httptest TLS server of one guarded route, with a client
// per client certificate.
type dpopServer struct {
	url     string
	clients map[dpoptest.Cert]*http.Client
}

// startDPoP serves "POST /orders/{id}" behind a guard of opts and reqs,
// over TLS with env's certificates.
func startDPoP(t *testing.T, env *dpoptest.Env, reqs []httpauth.Requirement, opts ...httpauth.Option) *dpopServer {
	t.Helper()
	g := httpauth.New(env.Manager, opts...)
	mux := http.NewServeMux()
	mux.Handle("POST /orders/{id}", g.Require(reqs...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := manager.FromContext(r.Context())
		if !ok {
			http.Error(w, "no token", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, tok.Subject)
	})))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = env.ServerTLS()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ds := &dpopServer{url: srv.URL, clients: map[dpoptest.Cert]*http.Client{}}
	for _, c := range []dpoptest.Cert{dpoptest.NoCert, dpoptest.ClientA, dpoptest.ClientB} {
		tr := &http.Transport{TLSClientConfig: env.ClientTLS(c), ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		ds.clients[c] = &http.Client{Transport: tr}
	}
	return ds
}

// call posts to /orders/7 with r's headers and reads how it ended.
func (ds *dpopServer) call(t testing.TB, r dpoptest.Request) dpoptest.Outcome {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ds.url+"/orders/7?view=full", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Authorization {
		req.Header.Add("Authorization", v)
	}
	for _, v := range r.DPoP {
		req.Header.Add("DPoP", v)
	}
	resp, err := ds.clients[r.Cert].Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	o := dpoptest.Outcome{Nonce: resp.Header.Get("DPoP-Nonce"), Challenge: resp.Header.Get("WWW-Authenticate")}
	if resp.StatusCode == http.StatusOK {
		if string(body) != "alice" {
			t.Fatalf("handler saw %q", body)
		}
		return o
	}
	var denial struct{ Reason string }
	if err := json.Unmarshal(body, &denial); err != nil || denial.Reason == "" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	if want := http.StatusUnauthorized; (denial.Reason == protojwt.ReasonProofMissing || denial.Reason == protojwt.ReasonProofInvalid) && resp.StatusCode != want {
		t.Fatalf("%s with status %d, want %d", denial.Reason, resp.StatusCode, want)
	}
	o.Reason = denial.Reason
	return o
}

func (ds *dpopServer) target() dpoptest.Target {
	return dpoptest.Target{Method: http.MethodPost, URL: ds.url + "/orders/7", Other: ds.url + "/orders/8"}
}

// TestDPoP runs the attack table of sender-constrained tokens over HTTPS
// with client certificates.
func TestDPoP(t *testing.T) {
	env := dpoptest.New(t)
	plain := startDPoP(t, env, nil, httpauth.WithDPoP(env.Verifier))
	nonced := startDPoP(t, env, nil, httpauth.WithDPoP(env.NonceVerifier))
	dpoptest.Run(t, env,
		dpoptest.Server{Target: plain.target(), Call: plain.call},
		&dpoptest.Server{Target: nonced.target(), Call: nonced.call})
}

// TestDPoPWithoutOption: with no WithDPoP, bound tokens are checked all
// the same, by the default verifier.
func TestDPoPWithoutOption(t *testing.T) {
	env := dpoptest.New(t)
	ds := startDPoP(t, env, nil)
	dpoptest.Run(t, env, dpoptest.Server{Target: ds.target(), Call: ds.call}, nil)
}

// TestRequireBinding: a route that requires a bound token refuses a
// bearer token with PROOF_MISSING and lets bound ones with their proof in.
func TestRequireBinding(t *testing.T) {
	env := dpoptest.New(t)
	ds := startDPoP(t, env, []httpauth.Requirement{httpauth.RequireBinding()}, httpauth.WithDPoP(env.Verifier))
	target := ds.target()
	tok := env.DPoPToken(t)
	p, err := env.Key.Proof(dpop.Call{Method: target.Method, URL: target.URL, AccessToken: tok}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    dpoptest.Request
		want string
	}{
		{"bearer token", dpoptest.Request{Authorization: []string{"Bearer " + env.Token(t, nil)}}, protojwt.ReasonProofMissing},
		{"bearer token over a certificate", dpoptest.Request{Authorization: []string{"Bearer " + env.Token(t, nil)}, Cert: dpoptest.ClientA}, protojwt.ReasonProofMissing},
		{"DPoP-bound token", dpoptest.Request{Authorization: []string{"DPoP " + tok}, DPoP: []string{p}}, ""},
		{"certificate-bound token", dpoptest.Request{Authorization: []string{"Bearer " + env.CertToken(t)}, Cert: dpoptest.ClientA}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ds.call(t, tt.r)
			if got.Reason != tt.want {
				t.Fatalf("reason %q, want %q", got.Reason, tt.want)
			}
			if tt.want != "" && !strings.HasPrefix(got.Challenge, `DPoP realm="protojwt", error="invalid_dpop_proof"`) {
				t.Errorf("WWW-Authenticate %q", got.Challenge)
			}
		})
	}
	if _, err := httpauth.New(env.Manager).Compile(httpauth.AnyOf([]httpauth.Requirement{httpauth.RequireBinding()})); !errors.Is(err, protojwt.ErrInvalidRule) {
		t.Errorf("RequireBinding in AnyOf: %v, want ErrInvalidRule", err)
	}
}

// TestDPoPPublicURL: with WithPublicURL, a proof names the public URL and
// the request's path; a bad URL makes routes invalid.
func TestDPoPPublicURL(t *testing.T) {
	env := dpoptest.New(t)
	ds := startDPoP(t, env, nil, httpauth.WithPublicURL("https://api.example.com"))
	tests := []struct {
		name, url, want string
	}{
		{"public URL", "https://api.example.com/orders/7", ""},
		{"the server's own URL", ds.url + "/orders/7", protojwt.ReasonProofInvalid},
		{"another path", "https://api.example.com/orders/8", protojwt.ReasonProofInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := env.DPoPToken(t)
			p, err := env.Key.Proof(dpop.Call{Method: http.MethodPost, URL: tt.url, AccessToken: tok}, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := ds.call(t, dpoptest.Request{Authorization: []string{"DPoP " + tok}, DPoP: []string{p}}); got.Reason != tt.want {
				t.Fatalf("reason %q, want %q", got.Reason, tt.want)
			}
		})
	}
	for _, bad := range []string{"/relative", "https://api.example.com/?q=1", "ftp://api.example.com"} {
		if _, err := httpauth.New(env.Manager, httpauth.WithPublicURL(bad)).Compile(); !errors.Is(err, protojwt.ErrInvalidOption) {
			t.Errorf("WithPublicURL(%q): Compile = %v, want ErrInvalidOption", bad, err)
		}
	}
	if _, err := httpauth.New(env.Manager, httpauth.WithPublicURL("/relative")).Compile(httpauth.Public()); err != nil {
		t.Errorf("a public route with a bad public URL: %v", err)
	}
}

// TestDPoPNonceWithErrorHandler: the DPoP-Nonce header is set before an
// error handler writes the refusal.
func TestDPoPNonceWithErrorHandler(t *testing.T) {
	env := dpoptest.New(t)
	ds := startDPoP(t, env, nil, httpauth.WithDPoP(env.NonceVerifier), httpauth.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, e *httpauth.Error) {
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"reason": e.Reason})
	}))
	target := ds.target()
	tok := env.DPoPToken(t)
	p, _ := env.Key.Proof(dpop.Call{Method: target.Method, URL: target.URL, AccessToken: tok}, "")
	got := ds.call(t, dpoptest.Request{Authorization: []string{"DPoP " + tok}, DPoP: []string{p}})
	if got.Reason != protojwt.ReasonProofInvalid || got.Nonce != env.Nonces.Nonce() {
		t.Fatalf("got %+v, want PROOF_INVALID with the nonce", got)
	}
}
