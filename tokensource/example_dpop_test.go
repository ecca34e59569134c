package tokensource_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

func ExampleWithDPoP() {
	// The client's key; its thumbprint is the cnf.jkt of its tokens.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := dpop.NewSigner(key)
	if err != nil {
		log.Fatal(err)
	}
	d, err := tokensource.NewDPoP(signer)
	if err != nil {
		log.Fatal(err)
	}

	// The server: a Manager that issues tokens bound to the key, and a
	// guard that checks their proofs.
	m, err := manager.New(manager.Config{Issuer: "example", Algorithm: "HS256", Secret: []byte(strings.Repeat("s", 32))})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := m.AuthToken("alice", nil, manager.DPoPBinding(signer.Thumbprint()))
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(httpauth.New(m).Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := manager.FromContext(r.Context())
		io.WriteString(w, t.Subject)
	})))
	defer srv.Close()

	for _, opts := range [][]tokensource.TransportOption{{tokensource.WithDPoP(d)}, nil} {
		client := &http.Client{Transport: tokensource.RoundTripper(tokensource.Static(tok.Signed), nil, opts...)}
		resp, err := client.Get(srv.URL + "/orders")
		if err != nil {
			log.Fatal(err)
		}
		var denial *tokensource.ResponseError
		if err := tokensource.CheckResponse(resp); errors.As(err, &denial) {
			fmt.Println(resp.StatusCode, denial.Reason) // a bound token without its proof
		} else {
			body, _ := io.ReadAll(resp.Body)
			fmt.Println(resp.StatusCode, string(body))
		}
		resp.Body.Close()
	}
	// Output:
	// 200 alice
	// 401 PROOF_MISSING
}
