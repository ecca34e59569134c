package dpop

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeDir is the npm fixture of the interop tests: the dpop and jose
// packages, installed by `npm ci` there (.ci/run does it).
const nodeDir = "testdata/node"

// needNode skips the test when node or the fixture's packages are missing,
// saying how to install them; under CI=true it fails instead.
func needNode(t *testing.T) string {
	t.Helper()
	miss := func(what string) {
		msg := what + ": run `npm ci` in dpop/" + nodeDir + " (node and npm needed) for the interop tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		miss("node not found")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", ".package-lock.json")); err != nil {
		miss("the npm packages are not installed")
	}
	return node
}

// runNode runs a script of the fixture with in as JSON on stdin and
// decodes its JSON output into out.
func runNode(t *testing.T, node, script string, in, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = nodeDir
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("node %s output: %v\n%s", script, err, stdout)
	}
}

// TestInteropNodeProofs: proofs made by the npm dpop package (ES256,
// RS256, PS256 and Ed25519 keys) pass the Verifier, whose thumbprint is
// the package's; the same proofs for another call, replayed, or with a
// nonce the server did not issue are refused.
func TestInteropNodeProofs(t *testing.T) {
	node := needNode(t)
	const token = "access-token-of-the-interop-test"
	htu := MethodURL("https", "api.example.com", "/orders.v1.OrderService/GetOrder")
	var proofs []struct{ Alg, Proof, JKT string }
	runNode(t, node, "proofs.mjs", map[string]string{"htm": "POST", "htu": htu, "accessToken": token}, &proofs)
	if len(proofs) != 4 {
		t.Fatalf("%d proofs from node; want 4", len(proofs))
	}
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	call := Call{Method: "POST", URL: htu, AccessToken: token}
	for _, p := range proofs {
		t.Run(p.Alg, func(t *testing.T) {
			for _, bad := range []struct {
				name  string
				call  Call
				jkt   string
				check error
			}{
				{"another method", Call{Method: "POST", URL: MethodURL("https", "api.example.com", "/orders.v1.OrderService/DeleteOrder"), AccessToken: token}, p.JKT, errHTU},
				{"GET", Call{Method: "GET", URL: htu, AccessToken: token}, p.JKT, errHTM},
				{"another token", Call{Method: "POST", URL: htu, AccessToken: token + "2"}, p.JKT, errATH},
				{"another key's token", call, strings.Repeat("A", 43), errJKT},
			} {
				if _, err := v.Verify(context.Background(), p.Proof, bad.call, bad.jkt); !errors.Is(err, bad.check) {
					t.Fatalf("%s: %v; want %v", bad.name, err, bad.check)
				}
			}
			got, err := v.Verify(context.Background(), p.Proof, call, p.JKT)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Thumbprint != p.JKT || got.Algorithm != p.Alg {
				t.Fatalf("proof %+v; want thumbprint %s (node's), alg %s", got, p.JKT, p.Alg)
			}
			if _, err := v.Verify(context.Background(), p.Proof, call, p.JKT); !errors.Is(err, errReplay) {
				t.Fatalf("replayed: %v; want errReplay", err)
			}
		})
	}

	// With nonces required: node's proof with the server's nonce passes,
	// with another it is ErrUseNonce.
	src, err := NewNonceSource()
	if err != nil {
		t.Fatal(err)
	}
	nv, _ := NewVerifier(WithNonces(src))
	for _, tc := range []struct {
		nonce string
		ok    bool
	}{{src.Nonce(), true}, {"not-the-servers", false}} {
		var withNonce []struct{ Alg, Proof, JKT string }
		runNode(t, node, "proofs.mjs", map[string]string{"htm": "POST", "htu": htu, "accessToken": token, "nonce": tc.nonce}, &withNonce)
		for _, p := range withNonce {
			_, err := nv.Verify(context.Background(), p.Proof, call, p.JKT)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrUseNonce) {
				t.Errorf("%s, nonce %q: %v (want ok %v)", p.Alg, tc.nonce, err, tc.ok)
			}
		}
	}
}

// TestInteropJoseVerifies: proofs this package's Signer makes verify with
// the npm jose package (signature by the embedded jwk, typ, claims), whose
// RFC 7638 thumbprint is the Signer's; a proof whose signature belongs to
// another key is refused there.
func TestInteropJoseVerifies(t *testing.T) {
	node := needNode(t)
	testKeys(t)
	type job struct {
		Proof string `json:"proof"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		ATH   string `json:"ath"`
	}
	type result struct {
		OK    bool
		Alg   string
		JKT   string
		Error string
	}
	call := Call{Method: "POST", URL: "https://api.example.com/pkg.S/M", AccessToken: testToken}
	var jobs []job
	var signers []*Signer
	for _, tc := range []struct {
		key crypto.Signer
		alg string
	}{{ecKey, ""}, {ec384, ""}, {ec521, ""}, {rsaKey, ""}, {rsaKey, "PS256"}, {edKey, ""}, {edKey, "Ed25519"}} {
		var opts []SignerOption
		if tc.alg != "" {
			opts = append(opts, WithSignerAlgorithm(tc.alg))
		}
		s, err := NewSigner(tc.key, opts...)
		if err != nil {
			t.Fatal(err)
		}
		proof, err := s.Proof(call, "")
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
		jobs = append(jobs, job{proof, call.Method, call.URL, athOf(testToken)})
	}
	// A proof whose signature is another key's: jose must refuse it.
	other, _ := NewSigner(ecKey2)
	good, forged := strings.Split(jobs[0].Proof, "."), strings.Split(mustProof(t, other, call), ".")
	good[2] = forged[2]
	jobs = append(jobs, job{strings.Join(good, "."), call.Method, call.URL, athOf(testToken)})

	var results []result
	runNode(t, node, "verify.mjs", jobs, &results)
	if len(results) != len(jobs) {
		t.Fatalf("%d results; want %d", len(results), len(jobs))
	}
	for i, s := range signers {
		r := results[i]
		if !r.OK || r.Alg != s.Algorithm() || r.JKT != s.Thumbprint() {
			t.Errorf("%s: jose says %+v; want ok, thumbprint %s", s.Algorithm(), r, s.Thumbprint())
		}
	}
	if last := results[len(results)-1]; last.OK {
		t.Errorf("jose accepted a signature of another key: %+v", last)
	}
}

func mustProof(t *testing.T, s *Signer, call Call) string {
	t.Helper()
	p, err := s.Proof(call, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
