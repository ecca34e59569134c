package dpop

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestVerifyAccepts: proofs of every algorithm, and the htu and iat
// variations RFC 9449 allows.
func TestVerifyAccepts(t *testing.T) {
	testKeys(t)
	tests := []struct {
		name string
		edit func(t testing.TB, p *proofParts)
		call *Call
	}{
		{name: "ES256"},
		{name: "ES384", edit: func(t testing.TB, p *proofParts) { p.withKey(t, ec384, "ES384") }},
		{name: "ES512", edit: func(t testing.TB, p *proofParts) { p.withKey(t, ec521, "ES512") }},
		{name: "RS256", edit: func(t testing.TB, p *proofParts) { p.withKey(t, rsaKey, "RS256") }},
		{name: "RS512", edit: func(t testing.TB, p *proofParts) { p.withKey(t, rsaKey, "RS512") }},
		{name: "PS256", edit: func(t testing.TB, p *proofParts) { p.withKey(t, rsaKey, "PS256") }},
		{name: "PS384", edit: func(t testing.TB, p *proofParts) { p.withKey(t, rsaKey, "PS384") }},
		{name: "EdDSA", edit: func(t testing.TB, p *proofParts) { p.withKey(t, edKey, "EdDSA") }},
		{name: "Ed25519 (RFC 9864)", edit: func(t testing.TB, p *proofParts) { p.withKey(t, edKey, "Ed25519") }},
		{name: "typ in upper case", edit: func(t testing.TB, p *proofParts) { p.header["typ"] = "DPoP+JWT" }},
		{name: "htu host and scheme in upper case", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "HTTPS://API.Example.COM/orders.v1.OrderService/GetOrder"
		}},
		{name: "htu with the default port", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com:443/orders.v1.OrderService/GetOrder"
		}},
		{name: "call with the default port", call: &Call{Method: "POST", AccessToken: testToken,
			URL: "https://api.example.com:443/orders.v1.OrderService/GetOrder"}},
		{name: "http with port 80", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "http://api.example.com:80/orders.v1.OrderService/GetOrder"
		}, call: &Call{Method: "POST", AccessToken: testToken, URL: "http://api.example.com/orders.v1.OrderService/GetOrder"}},
		{name: "htu with query and fragment", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = testURL + "?a=1#frag"
		}},
		{name: "call URL with a query", call: &Call{Method: "POST", AccessToken: testToken, URL: testURL + "?page=2"}},
		{name: "htu with encoded unreserved characters", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com/orders.v1.Order%53ervice/GetOrder"
		}},
		{name: "htu percent-encoding in lower case", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com/a%2fb"
		}, call: &Call{Method: "POST", AccessToken: testToken, URL: "https://api.example.com/a%2Fb"}},
		{name: "htu with dot segments", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://api.example.com/x/../orders.v1.OrderService/./GetOrder"
		}},
		{name: "IPv6 host with the default port", edit: func(t testing.TB, p *proofParts) {
			p.claims["htu"] = "https://[::1]:443/pkg.S/M"
		}, call: &Call{Method: "POST", AccessToken: testToken, URL: "https://[::1]/pkg.S/M"}},
		{name: "iat four minutes old", edit: func(t testing.TB, p *proofParts) {
			p.claims["iat"] = testNow.Add(-4 * time.Minute).Unix()
		}},
		{name: "iat thirty seconds ahead", edit: func(t testing.TB, p *proofParts) {
			p.claims["iat"] = testNow.Add(30 * time.Second).Unix()
		}},
		{name: "iat with a fraction", edit: func(t testing.TB, p *proofParts) {
			p.claims["iat"] = float64(testNow.Unix()) + 0.25
		}},
		{name: "no token, no ath (a token request)", edit: func(t testing.TB, p *proofParts) {
			delete(p.claims, "ath")
		}, call: &Call{Method: "POST", URL: testURL}},
		{name: "unknown header and claims ignored", edit: func(t testing.TB, p *proofParts) {
			p.header["kid"] = "k1"
			p.claims["extra"] = map[string]any{"a": 1}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts(t)
			if tt.edit != nil {
				tt.edit(t, p)
			}
			call := testCall
			if tt.call != nil {
				call = *tt.call
			}
			jkt, err := Thumbprint(p.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			got, err := newTestVerifier(t).Verify(context.Background(), p.sign(t), call, jkt)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Thumbprint != jkt || got.ID != p.claims["jti"] || got.Algorithm != p.alg {
				t.Fatalf("proof %+v; want thumbprint %s, jti %v, alg %s", got, jkt, p.claims["jti"], p.alg)
			}
		})
	}
}

func TestVerifyMissing(t *testing.T) {
	_, err := newTestVerifier(t).Verify(context.Background(), "", testCall, "")
	if !errors.Is(err, ErrProofMissing) || errors.Is(err, ErrProofInvalid) {
		t.Fatalf("Verify(\"\") = %v; want ErrProofMissing alone", err)
	}
}

// TestVerifyReplay: a proof is accepted once; the same jti by another key
// is another proof; the replay cache's failure refuses.
func TestVerifyReplay(t *testing.T) {
	p := defaultParts(t)
	v := newTestVerifier(t)
	proof := p.sign(t)
	if _, err := v.Verify(context.Background(), proof, testCall, ""); err != nil {
		t.Fatalf("first use: %v", err)
	}
	for i := range 3 {
		if _, err := v.Verify(context.Background(), proof, testCall, ""); !errors.Is(err, errReplay) || !errors.Is(err, ErrProofInvalid) {
			t.Fatalf("replay %d: %v; want errReplay", i, err)
		}
	}
	// A fresh signature over the same claims is still the same jti.
	if _, err := v.Verify(context.Background(), p.sign(t), testCall, ""); !errors.Is(err, errReplay) {
		t.Fatalf("same jti, new signature: %v; want errReplay", err)
	}
	other := defaultParts(t).withKey(t, ecKey2, "ES256")
	if _, err := v.Verify(context.Background(), other.sign(t), testCall, ""); err != nil {
		t.Fatalf("same jti by another key: %v", err)
	}

	failing := newTestVerifier(t, WithReplayCache(replayFunc(func(context.Context, string, time.Time) (bool, error) {
		return false, errors.New("store down")
	})))
	if _, err := failing.Verify(context.Background(), defaultParts(t).sign(t), testCall, ""); err == nil ||
		!strings.Contains(err.Error(), "store down") {
		t.Fatalf("replay cache down: %v; want its error", err)
	}
}

type replayFunc func(ctx context.Context, id string, expires time.Time) (bool, error)

func (f replayFunc) Seen(ctx context.Context, id string, expires time.Time) (bool, error) {
	return f(ctx, id, expires)
}

// TestVerifyReplayExpiry: the replay entry lasts as long as the proof's
// iat is accepted, and is what the verifier passes to the cache.
func TestVerifyReplayExpiry(t *testing.T) {
	var gotExp time.Time
	var gotID string
	v := newTestVerifier(t, WithReplayCache(replayFunc(func(_ context.Context, id string, exp time.Time) (bool, error) {
		gotID, gotExp = id, exp
		return false, nil
	})))
	if _, err := v.Verify(context.Background(), defaultParts(t).sign(t), testCall, ""); err != nil {
		t.Fatal(err)
	}
	if !gotExp.Equal(testNow.Add(DefaultMaxAge)) || len(gotID) != 43 {
		t.Fatalf("Seen(%q, %v); want a 43-byte id until iat+max age %v", gotID, gotExp, testNow.Add(DefaultMaxAge))
	}
}

func TestVerifyAlgorithmsOption(t *testing.T) {
	v := newTestVerifier(t, WithAlgorithms("EdDSA"))
	p := defaultParts(t)
	if _, err := v.Verify(context.Background(), p.sign(t), testCall, ""); !errors.Is(err, errAlg) {
		t.Fatalf("ES256 with only EdDSA accepted: %v; want errAlg", err)
	}
	p = defaultParts(t).withKey(t, edKey, "EdDSA")
	if _, err := v.Verify(context.Background(), p.sign(t), testCall, ""); err != nil {
		t.Fatalf("EdDSA: %v", err)
	}
}

func TestVerifierOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"alg none", WithAlgorithms("none")},
		{"alg HS256", WithAlgorithms("ES256", "HS256")},
		{"no algorithms", WithAlgorithms()},
		{"max age zero", WithMaxAge(0)},
		{"max age two hours", WithMaxAge(2 * time.Hour)},
		{"negative leeway", WithLeeway(-time.Second)},
		{"leeway ten minutes", WithLeeway(10 * time.Minute)},
		{"nil replay cache", WithReplayCache(nil)},
		{"nil nonces", WithNonces(nil)},
		{"proof size 100", WithMaxProofSize(100)},
		{"proof size 1 MiB", WithMaxProofSize(1 << 20)},
		{"nil clock", WithClock(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := NewVerifier(tt.opt); !errors.Is(err, ErrVerifierConfig) || v != nil {
				t.Fatalf("NewVerifier = %v, %v; want ErrVerifierConfig", v, err)
			}
		})
	}
}

func TestVerifyMaxProofSize(t *testing.T) {
	p := defaultParts(t)
	p.claims["pad"] = strings.Repeat("x", 1000)
	proof := p.sign(t)
	if _, err := newTestVerifier(t, WithMaxProofSize(2<<10)).Verify(context.Background(), proof, testCall, ""); err != nil {
		t.Fatalf("proof under 2 KiB: %v", err)
	}
	if _, err := newTestVerifier(t, WithMaxProofSize(1<<10)).Verify(context.Background(), proof, testCall, ""); !errors.Is(err, errSize) {
		t.Fatalf("proof over 1 KiB: %v; want errSize", err)
	}
}

func TestProofFrom(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
		err    error
	}{
		{"one", []string{"a.b.c"}, "a.b.c", nil},
		{"one with spaces", []string{" a.b.c "}, "a.b.c", nil},
		{"none", nil, "", ErrProofMissing},
		{"empty", []string{""}, "", ErrProofMissing},
		{"blank", []string{"  "}, "", ErrProofMissing},
		{"two", []string{"a.b.c", "d.e.f"}, "", errValues},
		{"two, one empty", []string{"a.b.c", ""}, "", errValues},
		{"joined by a comma", []string{"a.b.c, d.e.f"}, "", errValues},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProofFrom(tt.values)
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("ProofFrom = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
			if errors.Is(tt.err, errValues) && !errors.Is(err, ErrProofInvalid) {
				t.Fatalf("%v does not wrap ErrProofInvalid", err)
			}
		})
	}
}

// TestHeaderCacheBounded: many clients' headers never grow the cache past
// its bound, and a header from the cache is checked like a new one.
func TestHeaderCacheBounded(t *testing.T) {
	c := newTextCache[*header](4 << 10)
	h := &header{}
	for i := range 1000 {
		c.put(strings.Repeat("h", 200)+string(rune('a'+i%26))+strings.Repeat("x", i%7), h)
		if c.bytes > c.max {
			t.Fatalf("cache holds %d bytes, bound %d", c.bytes, c.max)
		}
	}
}

// TestVerifyCachedHeader: a header kept from an accepted proof spares no
// check of the next proof that carries it.
func TestVerifyCachedHeader(t *testing.T) {
	v := newTestVerifier(t)
	p := defaultParts(t)
	if _, err := v.Verify(context.Background(), p.sign(t), testCall, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(p *proofParts)
		check error
	}{
		{"same header, another key's signature", func(p *proofParts) { p.key = ecKey2 }, errSignature},
		{"same header, stale iat", func(p *proofParts) { p.claims["iat"] = testNow.Add(-time.Hour).Unix() }, errIAT},
		{"same header, another htu", func(p *proofParts) { p.claims["htu"] = "https://evil.example/x" }, errHTU},
		{"same header, same jti", func(p *proofParts) {}, errReplay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := defaultParts(t)
			tt.edit(q)
			proof := q.sign(t)
			if !strings.HasPrefix(proof, strings.SplitN(p.sign(t), ".", 2)[0]+".") {
				t.Fatal("the header differs from the cached one")
			}
			if _, err := v.Verify(context.Background(), proof, testCall, ""); !errors.Is(err, tt.check) {
				t.Fatalf("Verify: %v; want %v", err, tt.check)
			}
		})
	}
	if n := len(v.headers.m); n != 1 {
		t.Fatalf("%d headers cached; want the one accepted", n)
	}
}
