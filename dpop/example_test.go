package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/protojwt/protojwt/dpop"
)

// A client signs a proof for each call with its key; the server checks it
// against the call and the thumbprint in the token's cnf.jkt.
func Example() {
	// Client: a key of its own, whose thumbprint the issuer puts in cnf.jkt.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := dpop.NewSigner(key)
	token := "the access token, issued with cnf.jkt = signer.Thumbprint()"
	claims := map[string]any{"cnf": map[string]any{"jkt": signer.Thumbprint()}}

	call := dpop.Call{
		Method:      "POST",
		URL:         dpop.MethodURL("https", "api.example.com", "/orders.v1.OrderService/GetOrder"),
		AccessToken: token,
	}
	proof, _ := signer.Proof(call, "") // sent as the DPoP header (gRPC metadata "dpop")

	// Server: one Verifier for the process.
	verifier, _ := dpop.NewVerifier()
	binding, _ := dpop.BindingOf(claims)
	p, err := verifier.Verify(context.Background(), proof, call, binding.JKT)
	fmt.Println("accepted:", err == nil, p != nil && p.Thumbprint == binding.JKT)

	// The same proof again is a replay.
	_, err = verifier.Verify(context.Background(), proof, call, binding.JKT)
	fmt.Println("replay refused:", errors.Is(err, dpop.ErrProofInvalid))
	fmt.Println(err)

	// A proof for another method fails its htu check.
	other := call
	other.URL = dpop.MethodURL("https", "api.example.com", "/orders.v1.OrderService/DeleteOrder")
	_, err = verifier.Verify(context.Background(), proof, other, binding.JKT)
	fmt.Println(err)
	// Output:
	// accepted: true true
	// replay refused: true
	// dpop: proof of possession invalid: jti was already used
	// dpop: proof of possession invalid: htu does not match the call's URL
}
