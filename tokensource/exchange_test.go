package tokensource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protojwt/protojwt/manager"
)

const (
	testClientSecret = "s3cret-of-orders"
	testSubject      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c3ViamVjdC10b2tlbi1zaWduYXR1cmU"
)

// tokenEndpoint is an httptest token endpoint whose answer each test
// writes; it records the requests it gets.
type tokenEndpoint struct {
	srv    *httptest.Server
	answer atomic.Pointer[func(w http.ResponseWriter, form url.Values)]
	calls  atomic.Int32
	mu     sync.Mutex
	forms  []url.Values
	auths  []string
}

func startTokenEndpoint(t *testing.T) *tokenEndpoint {
	t.Helper()
	te := &tokenEndpoint{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		te.calls.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		te.mu.Lock()
		te.forms = append(te.forms, r.PostForm)
		te.auths = append(te.auths, r.Header.Get("Authorization"))
		te.mu.Unlock()
		(*te.answer.Load())(w, r.PostForm)
	})
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": te.srv.URL, "token_endpoint": te.srv.URL + "/token"})
	})
	te.srv = httptest.NewServer(mux)
	t.Cleanup(te.srv.Close)
	te.answerWith(http.StatusOK, `{"access_token":"x.y.z","token_type":"Bearer","expires_in":300}`)
	return te
}

func (te *tokenEndpoint) answerWith(status int, body string) {
	f := func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
	te.answer.Store(&f)
}

func (te *tokenEndpoint) config() ExchangeConfig {
	return ExchangeConfig{
		TokenURL: te.srv.URL + "/token", ClientID: "orders", ClientSecret: testClientSecret,
		Audience: "inventory", Scope: []string{"inventory:read"},
	}
}

// withToken is a handler's context: its verified token is subject.
func withToken(subject string) context.Context {
	return manager.NewContext(context.Background(), &manager.Token{Type: manager.Auth, Signed: subject})
}

func TestExchangeRequest(t *testing.T) {
	te := startTokenEndpoint(t)
	cfg := te.config()
	cfg.Actor = Static("orders.own.token")
	tok, err := Exchange(cfg).Token(withToken(testSubject))
	if err != nil || tok != "x.y.z" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	want := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":        {testSubject},
		"subject_token_type":   {TokenTypeAccessToken},
		"requested_token_type": {TokenTypeAccessToken},
		"audience":             {"inventory"},
		"scope":                {"inventory:read"},
		"actor_token":          {"orders.own.token"},
		"actor_token_type":     {TokenTypeAccessToken},
	}
	got := te.forms[0]
	if len(got) != len(want) {
		t.Errorf("form %v, want %v", got, want)
	}
	for k, v := range want {
		if got.Get(k) != v[0] {
			t.Errorf("form %s = %q, want %q", k, got.Get(k), v[0])
		}
	}
	req := &http.Request{Header: http.Header{"Authorization": {te.auths[0]}}}
	if id, secret, ok := req.BasicAuth(); !ok || id != "orders" || secret != url.QueryEscape(testClientSecret) {
		t.Errorf("client authentication %q", te.auths[0])
	}
}

// TestExchangeFailures: every way the exchange can fail is an error, never
// the caller's token sent on, and no error holds a token or the secret.
func TestExchangeFailures(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		is     error // nil: any error
	}{
		{"invalid_grant", 400, `{"error":"invalid_grant","error_description":"subject ` + testSubject + `"}`, ErrExchangeRefused},
		{"invalid_client", 401, `{"error":"invalid_client"}`, ErrExchangeRefused},
		{"invalid_target", 400, `{"error":"invalid_target"}`, ErrExchangeRefused},
		{"forbidden", 403, ``, ErrExchangeRefused},
		{"unavailable", 503, `{"error":"temporarily_unavailable"}`, nil},
		{"server error", 500, testSubject, nil},
		{"not JSON", 200, `access_token=x.y.z`, errExchangeAnswer},
		{"no access_token", 200, `{"token_type":"Bearer","expires_in":300}`, errExchangeAnswer},
		{"empty access_token", 200, `{"access_token":"","token_type":"Bearer"}`, errExchangeAnswer},
		{"no token_type", 200, `{"access_token":"x.y.z","expires_in":300}`, errExchangeAnswer},
		{"DPoP token", 200, `{"access_token":"x.y.z","token_type":"DPoP","expires_in":300}`, errExchangeAnswer},
		{"N_A token", 200, `{"access_token":"x.y.z","token_type":"N_A","issued_token_type":"urn:ietf:params:oauth:token-type:id_token"}`, errExchangeAnswer},
		{"refresh token issued", 200, `{"access_token":"x.y.z","token_type":"Bearer","issued_token_type":"urn:ietf:params:oauth:token-type:refresh_token"}`, errExchangeAnswer},
		{"expires_in a string", 200, `{"access_token":"x.y.z","token_type":"Bearer","expires_in":"300"}`, errExchangeAnswer},
		{"expires_in negative", 200, `{"access_token":"x.y.z","token_type":"Bearer","expires_in":-1}`, errExchangeAnswer},
		{"expires_in zero", 200, `{"access_token":"x.y.z","token_type":"Bearer","expires_in":0}`, errExchangeAnswer},
		{"expires_in huge", 200, `{"access_token":"x.y.z","token_type":"Bearer","expires_in":1e300}`, errExchangeAnswer},
		{"answer too large", 200, `{"access_token":"x.y.z","token_type":"Bearer","pad":"` + strings.Repeat("x", maxExchangeBody) + `"}`, errExchangeAnswer},
	}
	te := startTokenEndpoint(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te.answerWith(tt.status, tt.body)
			tok, err := Exchange(te.config()).Token(withToken(testSubject))
			if err == nil || tok != "" {
				t.Fatalf("Token = %q, %v; want an error", tok, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
			if tt.is != ErrExchangeRefused && errors.Is(err, ErrExchangeRefused) {
				t.Fatalf("error %v is a refusal", err)
			}
			for _, secret := range []string{testSubject, testClientSecret, "x.y.z"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q holds a token or the secret", err)
				}
			}
		})
	}
}

func TestExchangeConfigRefused(t *testing.T) {
	ok := ExchangeConfig{TokenURL: "https://idp.example.com/token", ClientID: "orders", Audience: "inventory"}
	tests := []struct {
		name   string
		change func(*ExchangeConfig)
	}{
		{"no endpoint", func(c *ExchangeConfig) { c.TokenURL = "" }},
		{"http token URL", func(c *ExchangeConfig) { c.TokenURL = "http://idp.example.com/token" }},
		{"relative token URL", func(c *ExchangeConfig) { c.TokenURL = "/token" }},
		{"token URL with user info", func(c *ExchangeConfig) { c.TokenURL = "https://u:p@idp.example.com/token" }},
		{"http issuer", func(c *ExchangeConfig) { c.TokenURL, c.Issuer = "", "http://idp.example.com" }},
		{"no client", func(c *ExchangeConfig) { c.ClientID = "" }},
		{"no audience", func(c *ExchangeConfig) { c.Audience = "" }},
		{"empty scope", func(c *ExchangeConfig) { c.Scope = []string{""} }},
		{"scope with a space", func(c *ExchangeConfig) { c.Scope = []string{"a b"} }},
		{"id_token subject", func(c *ExchangeConfig) { c.SubjectTokenType = "urn:ietf:params:oauth:token-type:id_token" }},
		{"refresh token actor", func(c *ExchangeConfig) { c.ActorTokenType = "urn:ietf:params:oauth:token-type:refresh_token" }},
		{"negative margin", func(c *ExchangeConfig) { c.Margin = -time.Second }},
		{"negative timeout", func(c *ExchangeConfig) { c.Timeout = -time.Second }},
	}
	if _, err := ok.normalized(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			if _, err := Exchange(cfg).Token(withToken(testSubject)); !errors.Is(err, ErrExchangeConfig) {
				t.Fatalf("Token: %v, want ErrExchangeConfig", err)
			}
		})
	}
}

func TestExchangeWithoutIncomingToken(t *testing.T) {
	te := startTokenEndpoint(t)
	if _, err := Exchange(te.config()).Token(context.Background()); !errors.Is(err, ErrNoIncomingToken) {
		t.Fatalf("Token: %v, want ErrNoIncomingToken", err)
	}
	if te.calls.Load() != 0 {
		t.Fatal("an exchange was asked for without a subject token")
	}
}

// TestExchangeDiscoveryRFC8414 finds the token endpoint in RFC 8414's
// metadata of a provider that serves no OpenID Connect discovery document.
func TestExchangeDiscoveryRFC8414(t *testing.T) {
	te := startTokenEndpoint(t)
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/tenant", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL + "/tenant", "token_endpoint": te.srv.URL + "/token"})
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	cfg := te.config()
	cfg.TokenURL, cfg.Issuer = "", srv.URL+"/tenant"
	if tok, err := Exchange(cfg).Token(withToken(testSubject)); err != nil || tok != "x.y.z" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	if te.calls.Load() != 1 {
		t.Fatalf("%d exchanges, want 1", te.calls.Load())
	}
}

func TestExchangeDiscovery(t *testing.T) {
	te := startTokenEndpoint(t)
	cfg := te.config()
	cfg.TokenURL, cfg.Issuer = "", te.srv.URL
	src := Exchange(cfg)
	for range 3 {
		if tok, err := src.Token(withToken(testSubject)); err != nil || tok != "x.y.z" {
			t.Fatalf("Token = %q, %v", tok, err)
		}
	}

	tests := []struct {
		name string
		doc  string
	}{
		{"a member twice", `{"issuer":"%s","token_endpoint":"%s/token","token_endpoint":"https://evil.example/token"}`},
		{"other issuer", `{"issuer":"https://evil.example.com","token_endpoint":"%s/token"}`},
		{"http token endpoint", `{"issuer":"%s","token_endpoint":"http://idp.example.com/token"}`},
		{"no token endpoint", `{"issuer":"%s"}`},
		{"not JSON", `<html>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, strings.ReplaceAll(tt.doc, "%s", srv.URL))
			}))
			defer srv.Close()
			cfg := te.config()
			cfg.TokenURL, cfg.Issuer = "", srv.URL
			if _, err := Exchange(cfg).Token(withToken(testSubject)); !errors.Is(err, errDiscovery) {
				t.Fatalf("Token: %v, want a discovery error", err)
			}
		})
	}
}

// TestExchangeCacheAndExpiry: one exchange per key, kept until the margin
// before expires_in ends on the local clock, then exchanged again.
func TestExchangeCacheAndExpiry(t *testing.T) {
	te := startTokenEndpoint(t)
	clock := newFakeClock()
	cfg := te.config()
	cfg.Clock = clock.Now
	src := Exchange(cfg)
	alice, bob := withToken(testSubject), withToken(testSubject+"b")
	for range 5 {
		src.Token(alice)
		src.Token(bob)
	}
	if n := te.calls.Load(); n != 2 {
		t.Fatalf("%d exchanges for two subjects, want 2", n)
	}
	clock.Advance(4*time.Minute - time.Second) // 300 s tokens, kept until 240 s
	src.Token(alice)
	if n := te.calls.Load(); n != 2 {
		t.Fatalf("%d exchanges before the margin, want 2", n)
	}
	clock.Advance(time.Second)
	src.Token(alice)
	if n := te.calls.Load(); n != 3 {
		t.Fatalf("%d exchanges after the margin, want 3", n)
	}
	// Another audience or scope is another key.
	other := te.config()
	other.Scope = []string{"inventory:write"}
	Exchange(other).Token(alice)
	if n := te.calls.Load(); n != 4 {
		t.Fatalf("%d exchanges, want 4", n)
	}
	// A refused exchange is not kept: the next call asks again.
	te.answerWith(400, `{"error":"invalid_grant"}`)
	carol := withToken(testSubject + "c")
	for range 2 {
		if _, err := src.Token(carol); !errors.Is(err, ErrExchangeRefused) {
			t.Fatalf("Token: %v", err)
		}
	}
	if n := te.calls.Load(); n != 6 {
		t.Fatalf("%d exchanges, want 6", n)
	}
}

// TestExchangeSingleFlight: 100 callers of one key wait for one exchange;
// a caller giving up does not cancel it.
func TestExchangeSingleFlight(t *testing.T) {
	te := startTokenEndpoint(t)
	release := make(chan struct{})
	f := func(w http.ResponseWriter, _ url.Values) {
		<-release
		fmt.Fprint(w, `{"access_token":"x.y.z","token_type":"Bearer","expires_in":300}`)
	}
	te.answer.Store(&f)
	src := Exchange(te.config())
	ctx, cancel := context.WithTimeout(withToken(testSubject), 50*time.Millisecond)
	defer cancel()
	if _, err := src.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token: %v", err)
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if tok, err := src.Token(withToken(testSubject)); err != nil || tok != "x.y.z" {
				t.Errorf("Token = %q, %v", tok, err)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := te.calls.Load(); n != 1 {
		t.Fatalf("%d exchanges, want 1", n)
	}
}

func TestExchangeLifeFromToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name      string
		expiresIn string
		token     string
		want      time.Duration
	}{
		{"expires_in", `300`, "opaque", 300 * time.Second},
		{"expires_in fractional", `1.5`, "opaque", 1500 * time.Millisecond},
		{"JWT exp - iat", ``, jwt(t, map[string]any{"iat": now.Unix(), "exp": now.Unix() + 120}), 120 * time.Second},
		{"expires_in null, JWT", `null`, jwt(t, map[string]any{"iat": now.Unix(), "exp": now.Unix() + 60}), time.Minute},
		{"JWT without iat", ``, jwt(t, map[string]any{"exp": now.Unix() + 60}), 0},
		{"opaque", ``, "opaque", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lifeOf(json.RawMessage(tt.expiresIn), tt.token)
			if err != nil || got != tt.want {
				t.Fatalf("lifeOf = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestExchangeCacheBytes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newExchangeCache(3 * (exchangeEntryCost + 100))
	tok := strings.Repeat("t", 100)
	key := func(i int) exchangeKey { return exchangeKey{byte(i)} }
	for i := range 10 {
		c.put(key(i), tok, now.Add(time.Minute), now)
		if _, size := c.stats(); size > c.max {
			t.Fatalf("cache of %d bytes, bound %d", size, c.max)
		}
	}
	if n, _ := c.stats(); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
	for i := 7; i < 10; i++ {
		if _, ok := c.get(key(i), now); !ok {
			t.Fatalf("the latest entry %d was dropped", i)
		}
	}
	c.put(key(20), strings.Repeat("t", c.max), now.Add(time.Minute), now)
	if _, ok := c.get(key(20), now); ok {
		t.Fatal("a token larger than the bound was kept")
	}
	if _, ok := c.get(key(9), now.Add(time.Minute)); ok {
		t.Fatal("an entry was handed out at its end")
	}
	off := newExchangeCache(-1)
	off.put(key(1), "t", now.Add(time.Minute), now)
	if _, ok := off.get(key(1), now); ok {
		t.Fatal("a cache with a negative bound kept a token")
	}
}

func TestExchangeCacheConcurrent(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newExchangeCache(20 * (exchangeEntryCost + 10))
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for i := range 200 {
				k := exchangeKey{byte(g), byte(i % 40)}
				if tok, ok := c.get(k, now); ok && tok != fmt.Sprintf("%010d", i%40) {
					t.Errorf("key %v holds %q", k, tok)
				}
				c.put(k, fmt.Sprintf("%010d", i%40), now.Add(time.Minute), now)
			}
		})
	}
	wg.Wait()
	if n, size := c.stats(); size > c.max || n > 20 {
		t.Fatalf("%d entries of %d bytes, bound %d", n, size, c.max)
	}
}

// FuzzParseExchangeAnswer: whatever a token endpoint answers, parsing
// never panics, a token comes only with a bearer token_type, and an error
// never quotes the access token.
func FuzzParseExchangeAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"access_token":"x.y.z","token_type":"Bearer","expires_in":300}`,
		`{"access_token":"x.y.z","token_type":"bearer","issued_token_type":"urn:ietf:params:oauth:token-type:jwt"}`,
		`{"access_token":"x.y.z","token_type":"DPoP","expires_in":300}`,
		`{"access_token":"x.y.z","token_type":"N_A","issued_token_type":"urn:ietf:params:oauth:token-type:id_token"}`,
		`{"access_token":"x.y.z","token_type":"Bearer","expires_in":"300"}`,
		`{"access_token":"x.y.z","token_type":"Bearer","expires_in":1e999}`,
		`{"access_token":"","token_type":"Bearer"}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, life, err := parseExchangeAnswer(b)
		if err != nil {
			if tok != "" || life != 0 {
				t.Fatalf("an error with a token %q or a life %v", tok, life)
			}
			var answer struct {
				AccessToken     string `json:"access_token"`
				TokenType       string `json:"token_type"`
				IssuedTokenType string `json:"issued_token_type"`
			}
			// A short token may be a word of the message; a token_type
			// equal to the token is quoted as the token_type.
			if json.Unmarshal(b, &answer) == nil && len(answer.AccessToken) >= 24 &&
				!strings.Contains(answer.TokenType+" "+answer.IssuedTokenType, answer.AccessToken) &&
				strings.Contains(err.Error(), answer.AccessToken) {
				t.Fatalf("error %q quotes the access token", err)
			}
			return
		}
		if tok == "" || life < 0 {
			t.Fatalf("token %q, life %v", tok, life)
		}
	})
}
