package manager

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
)

// rawClaims returns the JSON text of valid claims of testIssuer with the
// members extra added: what a map can't hold, such as a name twice.
func rawClaims(extra string) string {
	now := testNow.Unix()
	return fmt.Sprintf(`{"iss":%q,"iat":%d,"nbf":%d,"exp":%d,"jti":"jti-1","type":"auth",%s}`,
		testIssuer, now, now, now+3600, extra)
}

// nestedScope returns a value nested depth objects deep.
func nestedScope(depth int) any {
	var v any = "x"
	for range depth {
		v = map[string]any{"admin": v}
	}
	return v
}

// TestVerifyRefusesAmbiguousJSON checks tokens signed with the right key
// whose JSON parsers may read differently, or that cost more to decode than
// their size: Verify refuses them as malformed. The positive cases mark
// the edge.
func TestVerifyRefusesAmbiguousJSON(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	hdr := map[string]any{"alg": "HS256", "typ": "JWT"}
	tests := []struct {
		name    string
		header  any
		payload any
		wantErr error
	}{
		{"plain", hdr, rawClaims(`"sub":"alice"`), nil},
		{"same name in a nested object", hdr, rawClaims(`"sub":"alice","scope":{"sub":1,"x":{"sub":2}}`), nil},
		{"surrogate pair", hdr, rawClaims(`"sub":"\ud83d\ude00"`), nil},
		{"escaped backslash before u", hdr, rawClaims(`"sub":"\\udc00"`), nil},
		{"scope nested at the bound", hdr, claimsWith(map[string]any{"scope": nestedScope(jws.MaxDepth - 1)}), nil},

		{"two sub, the last wins for encoding/json", hdr, rawClaims(`"sub":"mallory","sub":"alice"`), ErrMalformed},
		{"two sub, the first wins for others", hdr, rawClaims(`"sub":"alice","sub":"mallory"`), ErrMalformed},
		{"two sub, one escaped", hdr, rawClaims(`"sub":"alice","\u0073ub":"mallory"`), ErrMalformed},
		{"two iss", hdr, rawClaims(fmt.Sprintf(`"iss":%q`, "https://other.test")), ErrMalformed},
		{"two exp", hdr, rawClaims(`"exp":9999999999`), ErrMalformed},
		{"two type", hdr, rawClaims(`"type":"refresh"`), ErrMalformed},
		{"two scope", hdr, rawClaims(`"scope":"read","scope":"admin"`), ErrMalformed},
		{"two alg in the header", `{"alg":"HS256","typ":"JWT","alg":"HS256"}`, rawClaims(`"sub":"alice"`), ErrMalformed},
		{"two kid in the header", `{"alg":"HS256","kid":"a","kid":"b"}`, rawClaims(`"sub":"alice"`), ErrMalformed},
		{"scope nested past the bound", hdr, claimsWith(map[string]any{"scope": nestedScope(jws.MaxDepth)}), ErrMalformed},
		{"7 KiB of nested arrays", hdr, rawClaims(`"x":` + strings.Repeat("[", 2400) + strings.Repeat("]", 2400)), ErrMalformed},
		{"header nested past the bound", `{"alg":"HS256","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, rawClaims(`"sub":"alice"`), ErrMalformed},
		{"sub not UTF-8", hdr, rawClaims("\"sub\":\"alice\xff\""), ErrMalformed},
		{"sub with an encoded surrogate", hdr, rawClaims("\"sub\":\"alice\xed\xb0\x80\""), ErrMalformed},
		{"claim name not UTF-8", hdr, rawClaims("\"s\xfcb\":\"alice\""), ErrMalformed},
		{"lone high surrogate", hdr, rawClaims(`"sub":"alice\ud800"`), ErrMalformed},
		{"lone low surrogate", hdr, rawClaims(`"sub":"\udc00alice"`), ErrMalformed},
		{"header not UTF-8", "{\"alg\":\"HS256\",\"typ\":\"JWT\xff\"}", rawClaims(`"sub":"alice"`), ErrMalformed},
		{"exp as a string", hdr, claimsWith(map[string]any{"exp": fmt.Sprint(testNow.Unix() + 60)}), ErrMalformed},
		{"sub as a number", hdr, claimsWith(map[string]any{"sub": 42}), ErrMalformed},
		{"iat as an object", hdr, claimsWith(map[string]any{"iat": map[string]any{"$date": 1}}), ErrMalformed},
		{"payload an array", hdr, `[` + rawClaims(`"sub":"alice"`) + `]`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := craftRaw(t, tt.header, tt.payload)
			tok, err := m.Verify(context.Background(), signed)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify() error = %v", err)
				}
				if tok.Subject == "mallory" {
					t.Fatalf("Verify() read the subject mallory")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() = %v, %v; want %v", tok, err, tt.wantErr)
			}
		})
	}
}

// craftRaw signs payload under header with testSecret, each a JSON text
// when it is a string, else encoded as JSON.
func craftRaw(tb testing.TB, header, payload any) string {
	tb.Helper()
	raw := func(v any) any {
		if s, ok := v.(string); ok {
			return []byte(s)
		}
		return v
	}
	signingString := segment(tb, raw(header)) + "." + segment(tb, raw(payload))
	sig, err := algorithms["HS256"].method.Sign(signingString, testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return signingString + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestIssueRefusesWhatVerifyRefuses checks that a Manager does not issue a
// token it would refuse: claims nested past the bound are an error of
// AuthToken, not a token that never verifies.
func TestIssueRefusesWhatVerifyRefuses(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	if _, err := m.AuthToken("alice", nestedScope(jws.MaxDepth), nil); err == nil {
		t.Errorf("AuthToken with a scope nested past the bound: no error")
	}
	if _, err := m.AuthToken("alice", nil, map[string]any{"x": nestedScope(jws.MaxDepth)}); err == nil {
		t.Errorf("AuthToken with a claim nested past the bound: no error")
	}
	tok, err := m.AuthToken("alice", nestedScope(jws.MaxDepth-1), nil)
	if err != nil {
		t.Fatalf("AuthToken at the bound: %v", err)
	}
	if _, err := m.Verify(context.Background(), tok.Signed); err != nil {
		t.Fatalf("Verify of a token at the bound: %v", err)
	}
}

// forgedNested is a token of 7 KiB whose payload nests 2400 arrays, with a
// signature that does not verify: before the depth bound, encoding/json
// decoded it in half a millisecond with an allocation per level.
func forgedNested(tb testing.TB) string {
	return replaceSegment(craftRaw(tb, map[string]any{"alg": "HS256", "typ": "JWT"},
		rawClaims(`"x":`+strings.Repeat("[", 2400)+strings.Repeat("]", 2400))), 2, "AAAA")
}

// signSegments signs the header and payload segments, encoded already,
// with testSecret: a token whose signature verifies whatever its segments.
func signSegments(tb testing.TB, header, payload string) string {
	tb.Helper()
	sig, err := algorithms["HS256"].method.Sign(header+"."+payload, testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestVerifyRefusesDeepNestingCheaply pins the cost of tokens of deeply
// nested JSON: a forged one is refused by its signature, its payload never
// decoded; a signed one is refused as malformed by a scan, before decoding.
func TestVerifyRefusesDeepNestingCheaply(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithVerifyCache(0))
	forged := forgedNested(t)
	if len(forged) < 6<<10 || len(forged) > defaultMaxTokenSize {
		t.Fatalf("test bug: token of %d bytes", len(forged))
	}
	parts := strings.Split(forged, ".")
	signed := signSegments(t, parts[0], parts[1])
	ctx := context.Background()
	if _, err := m.Verify(ctx, forged); !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify(forged) error = %v, want ErrSignature", err)
	}
	if _, err := m.Verify(ctx, signed); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Verify(signed) error = %v, want ErrMalformed", err)
	}
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	// Forged: the header is decoded (no token verified yet), the payload
	// not even scanned.
	if allocs := testing.AllocsPerRun(50, func() { _, _ = m.Verify(ctx, forged) }); allocs > 16 {
		t.Errorf("refusing a forged token of 2400 levels allocates %v times, want at most 16", allocs)
	}
	// Signed: the payload is scanned, a few dozen allocations, where
	// decoding the levels took an allocation each.
	if allocs := testing.AllocsPerRun(50, func() { _, _ = m.Verify(ctx, signed) }); allocs > 32 {
		t.Errorf("refusing a signed token of 2400 levels allocates %v times, want at most 32", allocs)
	}
}

// oversized returns a token-shaped string of n bytes.
func oversized(n int) string {
	const head = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	return head + strings.Repeat("A", n-len(head)-44) + "." + strings.Repeat("B", 43)
}

// TestVerifyRefusesOversizedInConstantWork checks that a token over the
// size bound is refused by its length: the same allocations at 9 KiB as
// at 1 MiB, none of them proportional to the token.
func TestVerifyRefusesOversizedInConstantWork(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	ctx := context.Background()
	var first float64
	for i, n := range []int{9 << 10, 64 << 10, 1 << 20} {
		tok := oversized(n)
		if _, err := m.Verify(ctx, tok); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify(%d bytes) error = %v, want ErrMalformed", n, err)
		}
		if raceEnabled {
			continue // the race detector changes allocation counts
		}
		allocs := testing.AllocsPerRun(100, func() { _, _ = m.Verify(ctx, tok) })
		if i == 0 {
			first = allocs
		}
		if allocs != first || allocs > 6 {
			t.Errorf("Verify(%d bytes) allocates %v times, want %v and at most 6", n, allocs, first)
		}
	}
}

// BenchmarkVerifyOversized is Verify of forged tokens over the size bound:
// ns/op does not depend on the size.
func BenchmarkVerifyOversized(b *testing.B) {
	m := newTestManager(b, Config{Algorithm: "HS256", Secret: testSecret})
	ctx := context.Background()
	for _, n := range []int{9 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			tok := oversized(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(ctx, tok); err == nil {
					b.Fatal("oversized token verified")
				}
			}
		})
	}
}

// BenchmarkVerifyForged is Verify of forged tokens under the size bound
// whose payload is costly JSON, beside an ordinary forged token: what a
// flood of them costs before the signature refuses them.
func BenchmarkVerifyForged(b *testing.B) {
	m := newTestManager(b, Config{Algorithm: "HS256", Secret: testSecret}, WithVerifyCache(0))
	good, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	hdr := map[string]any{"alg": "HS256", "typ": "JWT"}
	ctx := context.Background()
	for _, bm := range []struct {
		name string
		tok  string
	}{
		{"ordinary", replaceSegment(good.Signed, 2, "AAAA")},
		{"nested", forgedNested(b)},
		{"wide-arrays", replaceSegment(craftRaw(b, hdr, rawClaims(`"x":[`+strings.Repeat("[],", 1900)+`[]]`)), 2, "AAAA")},
		{"numbers", replaceSegment(craftRaw(b, hdr, rawClaims(`"x":[`+strings.Repeat("0,", 2900)+`0]`)), 2, "AAAA")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			if len(bm.tok) > defaultMaxTokenSize {
				b.Fatalf("token of %d bytes is over the bound", len(bm.tok))
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(ctx, bm.tok); err == nil {
					b.Fatal("forged token verified")
				}
			}
		})
	}
}

// TestRemoteNeverFollowsTokenHeaders checks a verifier of a JWK Set
// against tokens that name other keys: jku, x5u and kid pointing to a URL,
// an embedded jwk. It fetches its own JWK Set only, never a URL of a
// token, and refuses every token signed with a key that set does not hold.
func TestRemoteNeverFollowsTokenHeaders(t *testing.T) {
	issuerKey, attacker := newP256(t), newP256(t)
	issuer := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: issuerKey, KeyID: "issuer-key"})
	jwks := newJWKSServer(t, issuer.JWKSHandler())
	var trapped atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		trapped.Add(1)
		http.Error(w, "never fetched", http.StatusTeapot)
	}))
	t.Cleanup(trap.Close)
	v := mustOpenRemote(t, jwks.URL, "ES256", WithJWKSRefreshUnknownKID(time.Millisecond))

	attackerJWK := func() map[string]any {
		enc := base64.RawURLEncoding.EncodeToString
		return map[string]any{"kty": "EC", "crv": "P-256", "kid": "issuer-key", "x": enc(attacker.X.FillBytes(make([]byte, 32))), "y": enc(attacker.Y.FillBytes(make([]byte, 32)))}
	}
	hdr := func(changes map[string]any) map[string]any {
		h := map[string]any{"alg": "ES256", "typ": "JWT", "kid": "issuer-key"}
		for k, val := range changes {
			h[k] = val
		}
		return h
	}
	tests := []struct {
		name    string
		key     *ecdsa.PrivateKey
		header  map[string]any
		wantErr error
	}{
		{"issuer's key, jku ignored", issuerKey, hdr(map[string]any{"jku": trap.URL + "/jwks.json"}), nil},
		{"jku to the attacker's set", attacker, hdr(map[string]any{"jku": trap.URL + "/jwks.json"}), ErrSignature},
		{"x5u to the attacker's certificate", attacker, hdr(map[string]any{"x5u": trap.URL + "/cert.pem"}), ErrSignature},
		{"embedded jwk of the attacker", attacker, hdr(map[string]any{"jwk": attackerJWK()}), ErrSignature},
		{"kid a URL", attacker, hdr(map[string]any{"kid": trap.URL + "/key"}), ErrSignature},
		{"kid a path", attacker, hdr(map[string]any{"kid": "../../../../etc/passwd"}), ErrSignature},
		{"kid a path, issuer's key", issuerKey, hdr(map[string]any{"kid": "../../../../etc/passwd"}), ErrSignature},
		{"jku and a new kid", attacker, hdr(map[string]any{"kid": randomKID(), "jku": trap.URL}), ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := craft(t, "ES256", tt.key, tt.header, claimsWith(nil))
			_, err := v.Verify(context.Background(), signed)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if n := trapped.Load(); n != 0 {
		t.Errorf("the verifier fetched a URL of a token header %d times", n)
	}
}

// TestVerifyRefusesLineBreaks checks tokens with CR or LF: Go's base64
// decoders skip them, so that a valid token with a line break in its
// signature would still verify, a second spelling of one token. Verify
// refuses them, for every algorithm.
func TestVerifyRefusesLineBreaks(t *testing.T) {
	cfgs := algorithmConfigs(t)
	for _, alg := range []string{"HS256", "RS256", "PS256", "ES256", "EdDSA"} {
		m := newTestManager(t, cfgs[alg])
		tok, err := m.AuthToken("alice", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		signed := tok.Signed
		dot := strings.LastIndexByte(signed, '.')
		for _, variant := range []struct{ name, token string }{
			{"CRLF after the signature", signed + "\r\n"},
			{"LF after the signature", signed + "\n"},
			{"CR in the signature", signed[:dot+5] + "\r" + signed[dot+5:]},
			{"LF in the signature", signed[:dot+5] + "\n" + signed[dot+5:]},
			{"LF before the signature", signed[:dot+1] + "\n" + signed[dot+1:]},
			{"LF in the payload", signed[:40] + "\n" + signed[40:]},
		} {
			t.Run(alg+"/"+variant.name, func(t *testing.T) {
				if _, err := m.Verify(context.Background(), variant.token); !errors.Is(err, ErrMalformed) {
					t.Fatalf("Verify() error = %v, want ErrMalformed", err)
				}
			})
		}
		if _, err := m.Verify(context.Background(), signed); err != nil {
			t.Fatalf("%s: the token itself: %v", alg, err)
		}
	}
}
