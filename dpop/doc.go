// Package dpop holds the transport-independent parts of sender-constrained
// tokens: DPoP proofs (RFC 9449), made by clients and checked by servers,
// server nonces, and certificate-bound tokens (RFC 8705). The adapters call
// it; it imports no transport.
//
//	signer, _ := dpop.NewSigner(clientKey)          // client: its key's thumbprint goes in cnf.jkt
//	call := dpop.Call{Method: "POST", URL: dpop.MethodURL("https", "api.example", "/pkg.Svc/Get"), AccessToken: tok}
//	proof, _ := signer.Proof(call, "")              // a fresh proof per call: header DPoP / metadata dpop
//
//	v, _ := dpop.NewVerifier()                      // server: one per process
//	b, err := dpop.BindingOf(token.Claims)          // cnf.jkt, cnf["x5t#S256"], or a bearer token
//	sent, err := dpop.ProofFrom(r.Header.Values("DPoP")) // one value, or ErrProofMissing / ErrProofInvalid
//	p, err := v.Verify(ctx, sent, call, b.JKT)      // ErrProofMissing, ErrProofInvalid, ErrUseNonce
//	err = dpop.CheckCertificate(b, r.TLS.PeerCertificates[0])
//
// A [Verifier] remembers accepted proofs in a [ReplayCache] (by default a
// bounded [MemoryReplayCache]) and, given [WithNonces], demands a nonce of
// a [NonceSource]. Errors never hold a proof, a token or key material.
package dpop
