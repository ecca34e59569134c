package dpoptest

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
)

// Target is what a call under test is: the htm and htu its proofs must
// name, and the URL of another method or path of the same server.
type Target struct {
	Method string
	URL    string
	Other  string
}

// Request is one call to make: its Authorization values, its DPoP header
// (metadata) values, and the client certificate of its connection.
type Request struct {
	Authorization []string
	DPoP          []string
	Cert          Cert
}

// Outcome is how a call ended.
type Outcome struct {
	// Reason is the protojwt reason of the refusal, "" when allowed.
	Reason string
	// Nonce is the nonce the refusal carried (DPoP-Nonce header, gRPC
	// dpop-nonce trailer), "" when none.
	Nonce string
	// Challenge is the WWW-Authenticate of an HTTP refusal; "" on
	// transports without one.
	Challenge string
}

// Caller makes one call and says how it ended.
type Caller func(tb testing.TB, r Request) Outcome

// Case is one call of the table.
type Case struct {
	Name string
	// Nonce runs the case against the server that demands nonces.
	Nonce bool
	// Make builds the call.
	Make func(tb testing.TB, e *Env, t Target, nonce string) Request
	// Twice sends the call a first time, which must pass, then again.
	Twice bool
	// Reason is the refusal wanted, "" for a call allowed.
	Reason string
	// UseNonce: the refusal asks for the server's nonce and carries it.
	UseNonce bool
	// Certificate: the refusal is about the client certificate.
	Certificate bool
}

// dpopCall is a call with a DPoP-bound token and the given proofs.
func dpopCall(tok string, proofs ...string) Request {
	return Request{Authorization: []string{"DPoP " + tok}, DPoP: proofs}
}

// proof returns a proof by s for the call.
func proof(tb testing.TB, s *dpop.Signer, method, url, tok, nonce string) string {
	tb.Helper()
	p, err := s.Proof(dpop.Call{Method: method, URL: url, AccessToken: tok}, nonce)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Cases returns the table.
func Cases() []Case {
	good := func(tb testing.TB, e *Env, t Target, nonce string) Request {
		tok := e.DPoPToken(tb)
		return dpopCall(tok, proof(tb, e.Key, t.Method, t.URL, tok, nonce))
	}
	// skewed returns a proof made by a client whose clock is off by d.
	skewed := func(d time.Duration) func(tb testing.TB, e *Env, t Target, _ string) Request {
		return func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, e.forge(tb, nil, map[string]any{"iat": time.Now().Add(d).Unix()}, t, tok))
		}
	}
	const (
		missing = protojwt.ReasonProofMissing
		invalid = protojwt.ReasonProofInvalid
	)
	return []Case{
		{Name: "bearer token as Bearer", Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return Request{Authorization: []string{"Bearer " + e.Token(tb, nil)}}
		}},
		{Name: "DPoP-bound token with its proof", Make: good},
		{Name: "DPoP-bound token, scheme in lower case", Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return Request{Authorization: []string{"dpop " + tok}, DPoP: []string{proof(tb, e.Key, t.Method, t.URL, tok, "")}}
		}},
		{Name: "DPoP-bound token over a client certificate", Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			r := good(tb, e, t, "")
			r.Cert = ClientB
			return r
		}},
		{Name: "forged proof that holds", Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, e.forge(tb, nil, nil, t, tok))
		}},

		{Name: "bound token as Bearer", Reason: missing, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return Request{Authorization: []string{"Bearer " + tok}, DPoP: []string{proof(tb, e.Key, t.Method, t.URL, tok, "")}}
		}},
		{Name: "bound token without proof", Reason: missing, Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return dpopCall(e.DPoPToken(tb))
		}},
		{Name: "bound token with an empty proof", Reason: missing, Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return dpopCall(e.DPoPToken(tb), "")
		}},
		{Name: "bearer token with the DPoP scheme", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.Token(tb, nil)
			return dpopCall(tok, proof(tb, e.Key, t.Method, t.URL, tok, ""))
		}},
		{Name: "replayed proof", Twice: true, Reason: invalid, Make: good},
		{Name: "proof for another URL", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, proof(tb, e.Key, t.Method, t.Other, tok, ""))
		}},
		{Name: "proof for another HTTP method", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			other := "PUT"
			if t.Method == other {
				other = "POST"
			}
			return dpopCall(tok, proof(tb, e.Key, other, t.URL, tok, ""))
		}},
		{Name: "proof for another host", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			u := strings.Replace(t.URL, "://", "://evil.example.", 1)
			return dpopCall(tok, proof(tb, e.Key, t.Method, u, tok, ""))
		}},
		{Name: "stale iat", Reason: invalid, Make: skewed(-10 * time.Minute)},
		{Name: "future iat", Reason: invalid, Make: skewed(10 * time.Minute)},
		{Name: "wrong ath", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, proof(tb, e.Key, t.Method, t.URL, e.DPoPToken(tb), ""))
		}},
		{Name: "no ath", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, proof(tb, e.Key, t.Method, t.URL, "", ""))
		}},
		{Name: "another key", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, proof(tb, e.Other, t.Method, t.URL, tok, ""))
		}},
		{Name: "alg none", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, e.forge(tb, map[string]any{"alg": "none"}, nil, t, tok))
		}},
		{Name: "alg HS256", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, e.forge(tb, map[string]any{"alg": "HS256"}, nil, t, tok))
		}},
		{Name: "private jwk", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			jwk := e.jwk()
			jwk["d"] = b64(e.key.D.FillBytes(make([]byte, 32)))
			return dpopCall(tok, e.forge(tb, map[string]any{"jwk": jwk}, nil, t, tok))
		}},
		{Name: "typ jwt", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, e.forge(tb, map[string]any{"typ": "JWT"}, nil, t, tok))
		}},
		{Name: "bad signature", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			p := proof(tb, e.Key, t.Method, t.URL, tok, "")
			i := strings.LastIndexByte(p, '.') + 1
			flip := byte('A')
			if p[i] == 'A' {
				flip = 'B'
			}
			return dpopCall(tok, p[:i]+string(flip)+p[i+1:])
		}},
		{Name: "oversized proof", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, e.forge(tb, nil, map[string]any{"pad": strings.Repeat("x", 10<<10)}, t, tok))
		}},
		{Name: "two DPoP headers", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.DPoPToken(tb)
			return dpopCall(tok, proof(tb, e.Key, t.Method, t.URL, tok, ""), proof(tb, e.Key, t.Method, t.URL, tok, ""))
		}},
		{Name: "not a JWS", Reason: invalid, Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return dpopCall(e.DPoPToken(tb), "not-a-proof")
		}},
		{Name: "cnf of an unsupported method", Reason: invalid, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.Token(tb, map[string]any{"kid": "k1"})
			return Request{Authorization: []string{"Bearer " + tok}}
		}},

		{Name: "certificate-bound token over its certificate", Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return Request{Authorization: []string{"Bearer " + e.CertToken(tb)}, Cert: ClientA}
		}},
		{Name: "certificate-bound token over another client's", Reason: invalid, Certificate: true, Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return Request{Authorization: []string{"Bearer " + e.CertToken(tb)}, Cert: ClientB}
		}},
		{Name: "certificate-bound token without a certificate", Reason: missing, Certificate: true, Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return Request{Authorization: []string{"Bearer " + e.CertToken(tb)}}
		}},
		{Name: "token bound both ways, with both", Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.Token(tb, map[string]any{"jkt": e.Key.Thumbprint(), "x5t#S256": dpop.CertificateThumbprint(e.Clients[ClientA].Leaf)})
			r := dpopCall(tok, proof(tb, e.Key, t.Method, t.URL, tok, ""))
			r.Cert = ClientA
			return r
		}},
		{Name: "token bound both ways, without the certificate", Reason: missing, Certificate: true, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			tok := e.Token(tb, map[string]any{"jkt": e.Key.Thumbprint(), "x5t#S256": dpop.CertificateThumbprint(e.Clients[ClientA].Leaf)})
			return dpopCall(tok, proof(tb, e.Key, t.Method, t.URL, tok, ""))
		}},

		{Name: "nonce: the server's", Nonce: true, Make: good},
		{Name: "nonce: missing", Nonce: true, Reason: invalid, UseNonce: true, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			return good(tb, e, t, "")
		}},
		{Name: "nonce: of another server", Nonce: true, Reason: invalid, UseNonce: true, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			return good(tb, e, t, e.OtherNonces.Nonce())
		}},
		{Name: "nonce: not one", Nonce: true, Reason: invalid, UseNonce: true, Make: func(tb testing.TB, e *Env, t Target, _ string) Request {
			return good(tb, e, t, "made-up")
		}},
		{Name: "nonce: bearer token needs none", Nonce: true, Make: func(tb testing.TB, e *Env, _ Target, _ string) Request {
			return Request{Authorization: []string{"Bearer " + e.Token(tb, nil)}}
		}},
	}
}

// Server is a server under test: what its calls' proofs must name, and
// how to call it.
type Server struct {
	Target Target
	Call   Caller
}

// Run makes every case on plain, or on nonced for the cases of a server
// that demands nonces, and checks how each ended. A nil nonced skips
// those cases.
func Run(t *testing.T, e *Env, plain Server, nonced *Server) {
	for _, tt := range Cases() {
		t.Run(tt.Name, func(t *testing.T) {
			srv, nonce := plain, ""
			if tt.Nonce {
				if nonced == nil {
					t.Skip("no server demands nonces")
				}
				srv, nonce = *nonced, e.Nonces.Nonce()
			}
			r := tt.Make(t, e, srv.Target, nonce)
			if tt.Twice {
				if got := srv.Call(t, r); got.Reason != "" {
					t.Fatalf("first call refused: %+v", got)
				}
			}
			Check(t, tt, srv.Call(t, r), e.Nonces.Nonce())
		})
	}
}

// Check checks the outcome of a case; nonce is the server's current one.
func Check(tb testing.TB, tt Case, got Outcome, nonce string) {
	tb.Helper()
	if got.Reason != tt.Reason {
		tb.Fatalf("reason %q, want %q (%+v)", got.Reason, tt.Reason, got)
	}
	if tt.UseNonce && got.Nonce != nonce {
		tb.Errorf("nonce %q, want the server's %q", got.Nonce, nonce)
	}
	if !tt.UseNonce && got.Nonce != "" {
		tb.Errorf("nonce %q sent, want none", got.Nonce)
	}
	if got.Challenge == "" || tt.Reason == "" {
		return
	}
	want := `DPoP realm="protojwt", error="invalid_dpop_proof"`
	switch {
	case tt.UseNonce:
		want = `DPoP realm="protojwt", error="use_dpop_nonce"`
	case tt.Certificate:
		want = `Bearer realm="protojwt", error="invalid_token"`
	case tt.Name == "cnf of an unsupported method":
		return // a token whose binding can't be read: no proof to ask for
	}
	if !strings.HasPrefix(got.Challenge, want) {
		tb.Errorf("WWW-Authenticate %q, want %s...", got.Challenge, want)
	}
}

// forge returns a proof by the env's key with the header and claims of a
// good proof for t and tok, changed by header and claims (a nil value
// deletes a member), signed ES256 whatever alg says: HS256 is signed with
// HMAC over a key anyone knows, none not at all.
func (e *Env) forge(tb testing.TB, header, claims map[string]any, t Target, tok string) string {
	tb.Helper()
	ath := sha256.Sum256([]byte(tok))
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": e.jwk()}
	c := map[string]any{"jti": b64(jti), "htm": t.Method, "htu": t.URL, "iat": time.Now().Unix(), "ath": b64(ath[:])}
	for k, v := range header {
		h[k] = v
	}
	for k, v := range claims {
		c[k] = v
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	input := b64(hb) + "." + b64(cb)
	switch h["alg"] {
	case "none":
		return input + "."
	case "HS256":
		mac := hmac.New(sha256.New, []byte("public"))
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, e.key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return input + "." + b64(sig)
}

// jwk returns the public JWK of the env's key.
func (e *Env) jwk() map[string]any {
	pub, _ := e.key.PublicKey.Bytes() // 0x04 || x || y
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64(pub[1:33]), "y": b64(pub[33:])}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
