package manager

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
)

// privateMembers are the JWK members of private or secret key material.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// jwksKeys decodes the keys of a JWK Set.
func jwksKeys(t *testing.T, doc []byte) []map[string]any {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWK Set %s: %v", doc, err)
	}
	if set.Keys == nil {
		t.Fatalf(`JWK Set %s has no "keys" array`, doc)
	}
	return set.Keys
}

// jwksKIDs returns the kids of a JWK Set in order, comma separated.
func jwksKIDs(t *testing.T, doc []byte) string {
	t.Helper()
	var kids []string
	for _, k := range jwksKeys(t, doc) {
		kid, _ := k["kid"].(string)
		kids = append(kids, kid)
	}
	return strings.Join(kids, ",")
}

// assertNoPrivateMembers fails t when a key of doc has private material.
func assertNoPrivateMembers(t *testing.T, doc []byte) {
	t.Helper()
	for _, k := range jwksKeys(t, doc) {
		for _, name := range privateMembers {
			if _, ok := k[name]; ok {
				t.Errorf("JWK %v has the private member %q", k["kid"], name)
			}
		}
	}
}

// jwkOf returns the public JWK of key as JSON members, with changes applied
// (a nil value deletes a member).
func jwkOf(t *testing.T, key crypto.PublicKey, changes map[string]any) map[string]any {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jwk.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]any
	if err := json.Unmarshal(b, &members); err != nil {
		t.Fatal(err)
	}
	for name, v := range changes {
		if v == nil {
			delete(members, name)
		} else {
			members[name] = v
		}
	}
	return members
}

// jwkSet encodes keys as a JWK Set document.
func jwkSet(t *testing.T, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJWKSEveryAlgorithm(t *testing.T) {
	wantKTY := map[keyFamily]string{familyRSA: "RSA", familyECDSA: "EC", familyEdDSA: "OKP"}
	for name, cfg := range algorithmConfigs(t) {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, cfg)
			doc := m.JWKS()
			assertNoPrivateMembers(t, doc)
			keys := jwksKeys(t, doc)
			if algorithms[name].family == familyHMAC {
				if len(keys) != 0 || string(doc) != `{"keys":[]}` {
					t.Fatalf("JWKS of %s = %s, want an empty set", name, doc)
				}
				return
			}
			if len(keys) != 1 {
				t.Fatalf("JWKS has %d keys, want 1: %s", len(keys), doc)
			}
			k := keys[0]
			if k["kid"] != cfg.KeyID || k["use"] != "sig" || k["alg"] != name || k["kty"] != wantKTY[algorithms[name].family] {
				t.Errorf("JWK = %v, want kid %s, use sig, alg %s", k, cfg.KeyID, name)
			}

			// The published set verifies the Manager's tokens.
			verifier := newTestManager(t, Config{Algorithm: name, JWKS: doc})
			issued, err := m.AuthToken("alice", "read", nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := verifier.Verify(context.Background(), issued.Signed)
			if err != nil {
				t.Fatalf("Verify() with the published JWKS error = %v", err)
			}
			assertSameToken(t, got, issued)
		})
	}
}

func TestJWKSHandler(t *testing.T) {
	k1, k2 := newP256(t), newP256(t)
	m := newTestManager(t, Config{Algorithm: "ES256", PrivateKey: k1, KeyID: "k1"})
	srv := httptest.NewServer(m.JWKSHandler())
	t.Cleanup(srv.Close)

	get := func(t *testing.T, method string, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range header {
			req.Header.Set(name, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}

	first, body := get(t, http.MethodGet, nil)
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || body != string(m.JWKS()) {
		t.Fatalf("GET = %d %s", first.StatusCode, body)
	}
	if ct, cc := first.Header.Get("Content-Type"), first.Header.Get("Cache-Control"); ct != "application/jwk-set+json" || cc != "public, max-age=300" {
		t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
	}
	if len(etag) < 10 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
		t.Fatalf("ETag = %q, want a strong entity tag", etag)
	}

	tests := []struct {
		name       string
		method     string
		header     map[string]string
		wantStatus int
		wantBody   bool
	}{
		{"matching If-None-Match", http.MethodGet, map[string]string{"If-None-Match": etag}, http.StatusNotModified, false},
		{"If-None-Match list", http.MethodGet, map[string]string{"If-None-Match": `"stale", ` + etag}, http.StatusNotModified, false},
		{"If-None-Match star", http.MethodGet, map[string]string{"If-None-Match": "*"}, http.StatusNotModified, false},
		{"weak If-None-Match", http.MethodGet, map[string]string{"If-None-Match": "W/" + etag}, http.StatusNotModified, false},
		{"stale If-None-Match", http.MethodGet, map[string]string{"If-None-Match": `"stale"`}, http.StatusOK, true},
		{"unquoted If-None-Match", http.MethodGet, map[string]string{"If-None-Match": strings.Trim(etag, `"`)}, http.StatusOK, true},
		{"HEAD", http.MethodHead, nil, http.StatusOK, false},
		{"POST", http.MethodPost, nil, http.StatusMethodNotAllowed, false},
		{"PUT", http.MethodPut, nil, http.StatusMethodNotAllowed, false},
		{"DELETE", http.MethodDelete, nil, http.StatusMethodNotAllowed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, tt.method, tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if gotBody := body == string(m.JWKS()); gotBody != tt.wantBody {
				t.Errorf("body %q, want the JWK Set: %v", body, tt.wantBody)
			}
			switch tt.wantStatus {
			case http.StatusMethodNotAllowed:
				if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
					t.Errorf("Allow = %q", allow)
				}
				if strings.Contains(body, `"keys"`) {
					t.Error("405 answer carries the JWK Set")
				}
			default:
				if resp.Header.Get("ETag") != etag || resp.Header.Get("Cache-Control") == "" {
					t.Errorf("headers %v lack the ETag or Cache-Control", resp.Header)
				}
			}
		})
	}

	// A rotation shows at once, under a new ETag.
	if err := m.AddKey(Key{ID: "k2", PublicKey: k2.Public()}); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, http.MethodGet, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || jwksKIDs(t, []byte(body)) != "k1,k2" {
		t.Fatalf("after AddKey: %d, ETag %q, body %s", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
}

func TestJWKSMaxAge(t *testing.T) {
	tests := []struct {
		maxAge time.Duration
		want   string
	}{
		{90 * time.Second, "public, max-age=90"},
		{time.Hour, "public, max-age=3600"},
		{0, "no-cache"},
		{500 * time.Millisecond, "no-cache"},
	}
	for _, tt := range tests {
		m := newTestManager(t, Config{Algorithm: "EdDSA", PrivateKey: testKey(t, "ed25519")}, WithJWKSMaxAge(tt.maxAge))
		rec := httptest.NewRecorder()
		m.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
		if got := rec.Header().Get("Cache-Control"); got != tt.want {
			t.Errorf("WithJWKSMaxAge(%v): Cache-Control %q, want %q", tt.maxAge, got, tt.want)
		}
	}
	if _, err := New(Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, WithJWKSMaxAge(-time.Second)); !errors.Is(err, ErrConfig) {
		t.Errorf("WithJWKSMaxAge(-1s) error = %v, want ErrConfig", err)
	}
}

func TestStaticJWKS(t *testing.T) {
	good, other := newP256(t), newP256(t)
	rsaKey, p384, ed := testKey(t, "rsa"), testKey(t, "p384"), testKey(t, "ed25519")
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usable := jwkOf(t, good.Public(), map[string]any{"kid": "good", "use": "sig", "alg": "ES256"})
	mixed := jwkSet(t,
		jwkOf(t, other.Public(), map[string]any{"kid": "enc", "use": "enc"}),
		jwkOf(t, other.Public(), map[string]any{"kid": "es384", "alg": "ES384"}),
		jwkOf(t, other.Public(), map[string]any{"kid": "sign-only", "key_ops": []string{"sign"}}),
		jwkOf(t, rsaKey.Public(), map[string]any{"kid": "rsa"}),
		jwkOf(t, p384.Public(), map[string]any{"kid": "p384"}),
		jwkOf(t, ed.Public(), map[string]any{"kid": "ed"}),
		jwkOf(t, x25519.PublicKey(), map[string]any{"kid": "x25519"}),
		map[string]any{"kty": "oct", "kid": "secret", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
		map[string]any{"kty": "XYZ", "kid": "future"},
		usable,
	)
	es := newTestManager(t, Config{Algorithm: "ES256", JWKS: mixed})
	signed := func(key crypto.Signer, kid string) string {
		return craft(t, "ES256", key, kidHeader("ES256", kid), claimsWith(nil))
	}
	// Keys that contradict the algorithm are not used: their kids are unknown.
	runVerifyCases(t, es, []verifyCase{
		{"usable key", signed(good, "good"), nil},
		{"key with use enc", signed(other, "enc"), ErrSignature},
		{"key with alg ES384", signed(other, "es384"), ErrSignature},
		{"key with key_ops sign only", signed(other, "sign-only"), ErrSignature},
		{"kid of the P-384 key", signed(other, "p384"), ErrSignature},
		{"another key under the usable kid", signed(other, "good"), ErrSignature},
		{"no kid", craft(t, "ES256", good, nil, claimsWith(nil)), ErrSignature},
		{"HS256 keyed with the oct key", craft(t, "HS256", []byte("secret-secret-secret-secret-secret"), kidHeader("HS256", "secret"), claimsWith(nil)), ErrAlgorithm},
	})
	if got := jwksKIDs(t, es.JWKS()); got != "good" {
		t.Errorf("republished JWKS kids = %q, want good", got)
	}
	for name, err := range map[string]error{
		"AddKey":    es.AddKey(Key{ID: "k2", PublicKey: other.Public()}),
		"RotateKey": es.RotateKey(Key{ID: "k2", PrivateKey: other}),
		"RemoveKey": es.RemoveKey("good"),
	} {
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s() of a Manager with Config.JWKS error = %v, want ErrConfig", name, err)
		}
	}

	// A single key without kid verifies whatever the kid, as a PublicKey does.
	single := newTestManager(t, Config{Algorithm: "ES256", JWKS: jwkSet(t, jwkOf(t, good.Public(), nil))})
	runVerifyCases(t, single, []verifyCase{
		{"single key, no kid", craft(t, "ES256", good, nil, claimsWith(nil)), nil},
		{"single key, any kid", signed(good, "any"), nil},
		{"single key, other signer", signed(other, "any"), ErrSignature},
	})

	badPoint := jwkOf(t, good.Public(), map[string]any{"kid": "bad"})
	badPoint["x"] = strings.Repeat("A", 43)
	badBase64 := jwkOf(t, good.Public(), map[string]any{"kid": "bad", "x": "!!!"})
	refused := []struct {
		name string
		cfg  Config
	}{
		{"not JSON", Config{Algorithm: "ES256", JWKS: []byte("keys")}},
		{"a JSON array", Config{Algorithm: "ES256", JWKS: []byte(`[{"kty":"EC"}]`)}},
		{"no keys member", Config{Algorithm: "ES256", JWKS: []byte(`{}`)}},
		{"keys null", Config{Algorithm: "ES256", JWKS: []byte(`{"keys":null}`)}},
		{"keys an object", Config{Algorithm: "ES256", JWKS: []byte(`{"keys":{}}`)}},
		{"no keys", Config{Algorithm: "ES256", JWKS: jwkSet(t)}},
		{"a key not an object", Config{Algorithm: "ES256", JWKS: []byte(`{"keys":[1]}`)}},
		{"a point off the curve", Config{Algorithm: "ES256", JWKS: jwkSet(t, usable, badPoint)}},
		{"bad base64", Config{Algorithm: "ES256", JWKS: jwkSet(t, usable, badBase64)}},
		{"unregistered use", Config{Algorithm: "ES256", JWKS: jwkSet(t, jwkOf(t, good.Public(), map[string]any{"use": "sign"}))}},
		{"only a key with use enc", Config{Algorithm: "ES256", JWKS: jwkSet(t, jwkOf(t, good.Public(), map[string]any{"use": "enc"}))}},
		{"only a key with another alg", Config{Algorithm: "ES256", JWKS: jwkSet(t, jwkOf(t, good.Public(), map[string]any{"alg": "ES512"}))}},
		{"only a 1024-bit RSA key", Config{Algorithm: "RS256", JWKS: jwkSet(t, jwkOf(t, testKey(t, "rsa-1024").Public(), nil))}},
		{"only keys of another kind", Config{Algorithm: "EdDSA", JWKS: jwkSet(t, jwkOf(t, rsaKey.Public(), nil), jwkOf(t, p384.Public(), nil))}},
		{"EdDSA from EC keys", Config{Algorithm: "EdDSA", JWKS: jwkSet(t, usable)}},
		{"two usable keys with one kid", Config{Algorithm: "ES256", JWKS: jwkSet(t, usable, jwkOf(t, other.Public(), map[string]any{"kid": "good"}))}},
		{"HS256 from a JWK Set", Config{Algorithm: "HS256", JWKS: mixed}},
		{"JWKS and PublicKey", Config{Algorithm: "ES256", JWKS: mixed, PublicKey: good.Public()}},
		{"JWKS and PrivateKey", Config{Algorithm: "ES256", JWKS: mixed, PrivateKey: good}},
		{"JWKS and KeyID", Config{Algorithm: "ES256", JWKS: mixed, KeyID: "good"}},
		{"JWKS and JWKSURL", Config{Algorithm: "ES256", JWKS: mixed, JWKSURL: "https://idp.test/jwks.json"}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Issuer = testIssuer
			m, err := New(tt.cfg)
			if !errors.Is(err, ErrConfig) || m != nil {
				t.Fatalf("New() = %v, %v; want ErrConfig", m, err)
			}
			for _, member := range []string{usable["x"].(string), usable["y"].(string)} {
				if strings.Contains(err.Error(), member) {
					t.Errorf("error %q quotes key material", err)
				}
			}
		})
	}
}

func TestUntypedTokens(t *testing.T) {
	untyped := craft(t, "HS256", testSecret, nil, claimsWith(nil, "type"))
	strict := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	asAuth := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithUntypedTokens(Auth))
	asRefresh := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret}, WithUntypedTokens(Refresh))
	withClaims := func(changes map[string]any, remove ...string) string {
		return craft(t, "HS256", testSecret, nil, claimsWith(changes, append(remove, "type")...))
	}

	runVerifyCases(t, strict, []verifyCase{
		{"untyped refused by default", untyped, ErrMalformed},
	})
	runVerifyCases(t, asAuth, []verifyCase{
		{"untyped accepted", untyped, nil},
		{"typed refresh stays refresh", craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": "refresh"})), nil},
		{"unknown type still refused", craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": "admin"})), ErrMalformed},
		{"empty type still refused", craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": ""})), ErrMalformed},
		{"type a number still refused", craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": 1})), ErrMalformed},
		{"type null still refused", craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"type": nil})), ErrMalformed},
		{"untyped without exp", withClaims(nil, "exp"), ErrMalformed},
		{"untyped without iat", withClaims(nil, "iat"), ErrMalformed},
		{"untyped from another issuer", withClaims(map[string]any{"iss": "https://evil.test"}), ErrIssuer},
		{"untyped and expired", withClaims(map[string]any{"exp": testNow.Unix() - 1}), ErrExpired},
		{"untyped, wrong secret", craft(t, "HS256", []byte("another-secret-0123456789abcdefgh"), nil, claimsWith(nil, "type")), ErrSignature},
	})

	for _, tc := range []struct {
		m    *Manager
		want TokenType
	}{{asAuth, Auth}, {asRefresh, Refresh}} {
		tok, err := tc.m.Verify(context.Background(), untyped)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tok.Claims["type"]; tok.Type != tc.want || ok {
			t.Errorf("untyped token = type %q, claims %v; want type %q and no type claim", tok.Type, slices.Sorted(maps.Keys(tok.Claims)), tc.want)
		}
	}

	for _, bad := range []TokenType{"admin", "AUTH", " auth"} {
		if _, err := New(Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, WithUntypedTokens(bad)); !errors.Is(err, ErrConfig) {
			t.Errorf("WithUntypedTokens(%q) error = %v, want ErrConfig", bad, err)
		}
	}
}

func FuzzParseJWKS(f *testing.F) {
	key := testKey(f, "p256")
	jwk, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1"}})
	if err != nil {
		f.Fatal(err)
	}
	doc, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(doc), `{"keys":[]}`, `{"keys":[{"kty":"oct","k":"AA"}]}`, `{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`, `null`} {
		f.Add([]byte(seed))
	}
	es256 := algorithms["ES256"]
	f.Fuzz(func(t *testing.T, doc []byte) {
		byID, _, err := parseJWKS(doc, []algorithm{es256})
		if err != nil {
			if byID != nil {
				t.Fatal("keys returned with an error")
			}
			return
		}
		if len(byID) == 0 {
			t.Fatal("an empty key set without an error")
		}
		for _, k := range byID {
			if checkPublicKey(es256, k) != nil {
				t.Fatalf("unusable key %T accepted", k)
			}
		}
	})
}
