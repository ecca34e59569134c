package manager

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tenantProvider is an identity provider on loopback that gives each
// tenant an issuer of its own, {URL}/{tenant}/v2.0, with its metadata and
// JWK Set under that path; a tenant it does not know has neither (404).
// It counts the requests of each tenant.
type tenantProvider struct {
	*httptest.Server
	mu         sync.Mutex
	publishers map[string]*Manager          // by tenant
	keys       map[string]*ecdsa.PrivateKey // their private keys
	requests   map[string]int               // by tenant, known or not
	total      atomic.Int64
}

func newTenantProvider(t *testing.T, tenants ...string) *tenantProvider {
	t.Helper()
	p := &tenantProvider{publishers: map[string]*Manager{}, keys: map[string]*ecdsa.PrivateKey{}, requests: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.total.Add(1)
		tenantName, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		p.mu.Lock()
		p.requests[tenantName]++
		pub := p.publishers[tenantName]
		p.mu.Unlock()
		switch {
		case pub == nil:
			http.NotFound(w, r)
		case rest == "v2.0/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"issuer": p.issuer(tenantName), "jwks_uri": p.URL + "/" + tenantName + "/keys"})
		case rest == "keys":
			pub.JWKSHandler().ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	for _, name := range tenants {
		p.keys[name] = newP256(t)
		p.publishers[name] = newTestManager(t, Config{Issuer: p.issuer(name), Algorithm: "ES256", PrivateKey: p.keys[name], KeyID: "key-" + name})
	}
	return p
}

func (p *tenantProvider) issuer(tenantName string) string { return p.URL + "/" + tenantName + "/v2.0" }

func (p *tenantProvider) template() string { return p.URL + "/" + TenantPlaceholder + "/v2.0" }

// token returns a token of tenantName's publisher.
func (p *tenantProvider) token(t testing.TB, tenantName string) string {
	t.Helper()
	p.mu.Lock()
	pub := p.publishers[tenantName]
	p.mu.Unlock()
	tok, err := pub.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Signed
}

// requestsOf returns how many requests tenantName's paths had.
func (p *tenantProvider) requestsOf(tenantName string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[tenantName]
}

// admitTrusted admits the tenants whose names start with "trusted-".
func admitTrusted(tenant string) bool { return strings.HasPrefix(tenant, "trusted-") }

func newTestTenants(t testing.TB, p *tenantProvider, change func(*TenantConfig)) *TenantIssuers {
	t.Helper()
	tc := TenantConfig{
		Template: p.template(),
		Admit:    admitTrusted,
		Config:   Config{Discovery: true},
		Options:  []Option{WithClock(testClock), WithJWKSErrorHandler(func(error) {})},
	}
	if change != nil {
		change(&tc)
	}
	ti, err := NewTenantIssuers(tc)
	if err != nil {
		t.Fatalf("NewTenantIssuers() error = %v", err)
	}
	t.Cleanup(func() { ti.Close() })
	return ti
}

// TestTenantIssuers: each admitted tenant's tokens verify with its own
// keys, fetched on its first token; every other token is refused, those
// of tenants not admitted and of issuers outside the template without a
// fetch.
func TestTenantIssuers(t *testing.T) {
	p := newTenantProvider(t, "trusted-a", "trusted-b", "stranger")
	ti := newTestTenants(t, p, nil)
	tokA, tokB := p.token(t, "trusted-a"), p.token(t, "trusted-b")
	// a's claims, signed by b under b's kid: b's key can't sign for a.
	aIssuerSignedByB := craft(t, "ES256", p.keys["trusted-b"], kidHeader("ES256", "key-trusted-b"),
		claimsWith(map[string]any{"iss": p.issuer("trusted-a")}))
	outside := newTestManager(t, Config{Issuer: "https://other.example/trusted-a/v2.0", Algorithm: "ES256", PrivateKey: newP256(t)})

	tests := []struct {
		name    string
		token   string
		want    error
		issuer  string
		fetches string // a tenant whose paths must see no request
	}{
		{"tenant a", tokA, nil, p.issuer("trusted-a"), ""},
		{"tenant b", tokB, nil, p.issuer("trusted-b"), ""},
		{"tenant a again, cached", tokA, nil, p.issuer("trusted-a"), ""},
		{"a's issuer with b's key", aIssuerSignedByB, ErrSignature, "", ""},
		{"tenant not admitted", p.token(t, "stranger"), ErrIssuer, "", "stranger"},
		{"issuer outside the template", issue(t, outside), ErrIssuer, "", ""},
		{"tenant with a slash", craft(t, "ES256", newP256(t), nil, claimsWith(map[string]any{"iss": p.issuer("trusted-a/../x")})), ErrIssuer, "", "trusted-a/..x"},
		{"empty tenant", craft(t, "ES256", newP256(t), nil, claimsWith(map[string]any{"iss": p.issuer("")})), ErrIssuer, "", ""},
		{"tenant too long", craft(t, "ES256", newP256(t), nil, claimsWith(map[string]any{"iss": p.issuer("trusted-" + strings.Repeat("x", 130))})), ErrIssuer, "", ""},
		{"no iss", craft(t, "ES256", newP256(t), nil, claimsWith(map[string]any{"iss": nil})), ErrMalformed, "", ""},
		{"malformed", "not.a.jwt", ErrMalformed, "", ""},
		{"empty", "", ErrNoToken, "", ""},
		{"over the size bound", strings.Repeat("a", defaultMaxTokenSize+1), ErrMalformed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ti.Verify(context.Background(), tt.token)
			if tt.want == nil {
				if err != nil || tok.Issuer != tt.issuer {
					t.Fatalf("Verify() = %v, %v; want a token of %s", tok, err, tt.issuer)
				}
				return
			}
			if !errors.Is(err, tt.want) || tok != nil {
				t.Fatalf("Verify() = %v, %v; want %v", tok, err, tt.want)
			}
			if tt.fetches != "" && p.requestsOf(tt.fetches) != 0 {
				t.Errorf("%d requests for tenant %s, want none", p.requestsOf(tt.fetches), tt.fetches)
			}
		})
	}
	if n := ti.Len(); n != 2 {
		t.Errorf("Len() = %d, want 2", n)
	}
}

// TestTenantIssuersUnknownTenant: an admitted tenant the provider does
// not know is refused with ErrIssuer, and not asked for again within
// RetryAfter.
func TestTenantIssuersUnknownTenant(t *testing.T) {
	p := newTenantProvider(t, "trusted-a")
	ti := newTestTenants(t, p, func(tc *TenantConfig) { tc.RetryAfter = time.Hour })
	bogus := craft(t, "ES256", newP256(t), nil, claimsWith(map[string]any{"iss": p.issuer("trusted-ghost")}))
	for i := range 3 {
		if _, err := ti.Verify(context.Background(), bogus); !errors.Is(err, ErrIssuer) {
			t.Fatalf("Verify() %d error = %v, want ErrIssuer", i, err)
		}
	}
	if n := p.total.Load(); n != 2 { // the two metadata paths, once
		t.Errorf("%d requests to the provider, want 2: one discovery", n)
	}

	// Once RetryAfter is over, the next token tries again, once.
	short := newTestTenants(t, p, func(tc *TenantConfig) { tc.RetryAfter = 30 * time.Millisecond })
	p.total.Store(0)
	for range 2 {
		if _, err := short.Verify(context.Background(), bogus); !errors.Is(err, ErrIssuer) {
			t.Fatalf("Verify() error = %v, want ErrIssuer", err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := short.Verify(context.Background(), bogus); !errors.Is(err, ErrIssuer) {
		t.Fatalf("Verify() after RetryAfter error = %v, want ErrIssuer", err)
	}
	if n := p.total.Load(); n != 4 {
		t.Errorf("%d requests to the provider, want 4: a discovery before RetryAfter, one after", n)
	}
}

// TestTenantIssuersUnavailable: a tenant whose provider can't be reached
// is refused with ErrKeysUnavailable, a retryable outage.
func TestTenantIssuersUnavailable(t *testing.T) {
	p := newTenantProvider(t, "trusted-a")
	tok := p.token(t, "trusted-a")
	p.Close()
	ti := newTestTenants(t, p, func(tc *TenantConfig) { tc.Options = append(tc.Options, WithJWKSTimeout(time.Second)) })
	if _, err := ti.Verify(context.Background(), tok); !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrIssuer) {
		t.Fatalf("Verify() error = %v, want ErrKeysUnavailable", err)
	}
}

// TestTenantIssuersSingleFlight: many calls with tokens of one new tenant
// make one Manager: one discovery, one fetch of keys.
func TestTenantIssuersSingleFlight(t *testing.T) {
	p := newTenantProvider(t, "trusted-a")
	ti := newTestTenants(t, p, nil)
	tok := p.token(t, "trusted-a")
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 100 {
		wg.Go(func() {
			if _, err := ti.Verify(context.Background(), tok); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d calls failed", failed.Load())
	}
	if n := p.requestsOf("trusted-a"); n != 2 { // metadata, keys
		t.Errorf("%d requests for the tenant, want 2", n)
	}
}

// TestTenantIssuersBounded: no more than MaxTenants are held; the least
// recently used gives way, and is closed; unused tenants are evicted
// after IdleAfter and made again by their next token.
func TestTenantIssuersBounded(t *testing.T) {
	p := newTenantProvider(t, "trusted-a", "trusted-b", "trusted-c")
	ti := newTestTenants(t, p, func(tc *TenantConfig) { tc.MaxTenants = 2; tc.IdleAfter = time.Hour })
	for _, name := range []string{"trusted-a", "trusted-b", "trusted-c"} {
		if _, err := ti.Verify(context.Background(), p.token(t, name)); err != nil {
			t.Fatalf("Verify(%s) error = %v", name, err)
		}
	}
	if n := ti.Len(); n != 2 {
		t.Errorf("Len() = %d, want MaxTenants 2", n)
	}
	for _, name := range []string{"trusted-a", "trusted-b", "trusted-c"} {
		if _, err := ti.Verify(context.Background(), p.token(t, name)); err != nil {
			t.Errorf("Verify(%s) again error = %v: an evicted tenant is made again", name, err)
		}
	}

	idle := newTestTenants(t, p, func(tc *TenantConfig) { tc.IdleAfter = 20 * time.Millisecond })
	if _, err := idle.Verify(context.Background(), p.token(t, "trusted-a")); err != nil {
		t.Fatal(err)
	}
	m, ok := idle.Manager(p.issuer("trusted-a"))
	if !ok {
		t.Fatal("Manager() of a tenant in use: none")
	}
	eventually(t, "the idle tenant is evicted", func() bool { return idle.Len() == 0 })
	if d := m.verifier.source.(*discoveredKeys); !isDone(d.cur.Load().done) {
		t.Error("the evicted tenant's Manager was not closed")
	}
	if _, err := idle.Verify(context.Background(), p.token(t, "trusted-a")); err != nil {
		t.Errorf("Verify() after eviction error = %v", err)
	}
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestTenantEvictionWaitsForCalls: a tenant evicted while a call uses its
// Manager is closed when that call ends, not before.
func TestTenantEvictionWaitsForCalls(t *testing.T) {
	p := newTenantProvider(t, "trusted-a")
	m, err := New(Config{Issuer: p.issuer("trusted-a"), Discovery: true}, WithClock(testClock))
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant{ready: make(chan struct{}), m: m}
	close(tn.ready)
	tn.refs.Add(1) // a call in flight
	tn.evict()
	keys := m.verifier.source.(*discoveredKeys).cur.Load()
	if isDone(keys.done) {
		t.Fatal("the Manager was closed under a call")
	}
	if _, err := m.Verify(context.Background(), p.token(t, "trusted-a")); err != nil {
		t.Fatalf("the call's Verify error = %v", err)
	}
	tn.release()
	if !isDone(keys.done) {
		t.Error("the Manager was not closed when the last call ended")
	}
	if _, err := tn.verify(context.Background(), p.token(t, "trusted-a"), 0); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("verify() of an evicted tenant error = %v, want ErrKeysUnavailable", err)
	}
}

// TestTenantIssuersFlood: 10 000 tokens of random tenants, admitted or
// not, hold at most MaxTenants, fetch nothing for the tenants not
// admitted, and a bounded number of times for the admitted ones, which
// the provider does not know.
func TestTenantIssuersFlood(t *testing.T) {
	p := newTenantProvider(t, "trusted-a")
	ti := newTestTenants(t, p, func(tc *TenantConfig) { tc.MaxTenants = 50; tc.CreateEvery = time.Hour })
	tokens := make([]string, 10000)
	for i := range tokens {
		name := fmt.Sprintf("random-%d", i)
		if i%2 == 0 {
			name = fmt.Sprintf("trusted-%d", i)
		}
		// HS256 signs fast; no tenant here gets as far as a signature.
		tokens[i] = craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iss": p.issuer(name)}))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(tokens); i += 8 {
				if _, err := ti.Verify(context.Background(), tokens[i]); err == nil {
					accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 0 {
		t.Errorf("%d bogus tokens accepted", accepted.Load())
	}
	if n := ti.Len(); n > 50 {
		t.Errorf("Len() = %d, over MaxTenants", n)
	}
	// A burst of 10 creations, two metadata paths each; nothing for the
	// tenants not admitted.
	if n := p.total.Load(); n > 20 {
		t.Errorf("%d requests to the provider, want at most 20", n)
	}
	for i := 1; i < len(tokens); i += 2 {
		if p.requestsOf(fmt.Sprintf("random-%d", i)) != 0 {
			t.Fatalf("a tenant not admitted was fetched")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 8<<20 {
		t.Errorf("heap grew %d bytes over the flood", grown)
	}
	// A real tenant still gets in once the creation limit allows: here,
	// after an hour; its token is refused as retryable meanwhile.
	if _, err := ti.Verify(context.Background(), p.token(t, "trusted-a")); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("Verify() during the flood error = %v, want ErrKeysUnavailable", err)
	}
}

// TestNewTenantIssuersRefusals: every TenantConfig that can't be used.
func TestNewTenantIssuersRefusals(t *testing.T) {
	good := TenantConfig{Template: "https://login.example/{tenant}/v2.0", Admit: admitTrusted, Config: Config{Discovery: true}}
	tests := []struct {
		name   string
		change func(*TenantConfig)
	}{
		{"no placeholder", func(tc *TenantConfig) { tc.Template = "https://login.example/common/v2.0" }},
		{"two placeholders", func(tc *TenantConfig) { tc.Template = "https://login.example/{tenant}/{tenant}" }},
		{"placeholder in the host", func(tc *TenantConfig) { tc.Template = "https://{tenant}.login.example/v2.0" }},
		{"http to another host", func(tc *TenantConfig) { tc.Template = "http://login.example/{tenant}/v2.0" }},
		{"no Admit", func(tc *TenantConfig) { tc.Admit = nil }},
		{"an Issuer", func(tc *TenantConfig) { tc.Config.Issuer = "https://login.example/a/v2.0" }},
		{"no Discovery nor JWKSURL", func(tc *TenantConfig) { tc.Config.Discovery = false }},
		{"negative MaxTenants", func(tc *TenantConfig) { tc.MaxTenants = -1 }},
		{"negative IdleAfter", func(tc *TenantConfig) { tc.IdleAfter = -time.Second }},
		{"negative RetryAfter", func(tc *TenantConfig) { tc.RetryAfter = -time.Second }},
		{"negative CreateEvery", func(tc *TenantConfig) { tc.CreateEvery = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := good
			tt.change(&tc)
			ti, err := NewTenantIssuers(tc)
			if ti != nil {
				ti.Close()
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("NewTenantIssuers() error = %v, want ErrConfig", err)
			}
		})
	}
	ti, err := NewTenantIssuers(good)
	if err != nil {
		t.Fatalf("NewTenantIssuers(good) error = %v", err)
	}
	ti.Close()
}

// TestTenantIssuersClose: Close closes the tenants' Managers and stops
// every goroutine; Verify then refuses tokens as retryable.
func TestTenantIssuersClose(t *testing.T) {
	p := newTenantProvider(t, "trusted-a")
	before := fetchGoroutines()
	ti := newTestTenants(t, p, nil)
	tok := p.token(t, "trusted-a")
	if _, err := ti.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	ti.Close()
	ti.Close()
	if n := fetchGoroutines() - before; n != 0 {
		t.Errorf("%d fetching goroutines after Close", n)
	}
	if _, err := ti.Verify(context.Background(), tok); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("Verify() after Close error = %v, want ErrKeysUnavailable", err)
	}
}

// TestTenantFrontIndex: the front index only finds tokens in the cache of
// the tenant that verified them: an entry naming another tenant (a
// collision) costs a probe and the token is verified by its own tenant; a
// token of an evicted tenant is not served from it.
func TestTenantFrontIndex(t *testing.T) {
	p := newTenantProvider(t, "trusted-a", "trusted-b")
	ti := newTestTenants(t, p, nil)
	tokA, tokB := p.token(t, "trusted-a"), p.token(t, "trusted-b")
	for _, tok := range []string{tokA, tokB} {
		if _, err := ti.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	hA := maphash.String(cacheSeed, tokA)
	tenantB := (*ti.tenants.Load())[p.issuer("trusted-b")]
	ti.front[hA%frontSlots].Store(&frontEntry{hash: hA, t: tenantB.self})
	if tok, found, _ := ti.warm(context.Background(), hA, tokA, ti.epoch.Load()); found {
		t.Fatalf("warm() found a's token in b's cache: %v", tok)
	}
	tok, err := ti.Verify(context.Background(), tokA)
	if err != nil || tok.Issuer != p.issuer("trusted-a") {
		t.Fatalf("Verify() = %v, %v; want a's token", tok, err)
	}
	if tok, found, _ := ti.warm(context.Background(), hA, tokA, ti.epoch.Load()); !found || tok.Issuer != p.issuer("trusted-a") {
		t.Fatalf("warm() after Verify = %v, %v; want a's token", tok, found)
	}
	(*ti.tenants.Load())[p.issuer("trusted-a")].evict()
	if _, found, _ := ti.warm(context.Background(), hA, tokA, ti.epoch.Load()); found {
		t.Error("warm() served a token of an evicted tenant")
	}
}

// TestTenantIssuersWaiting: calls waiting for a tenant's Manager give up
// with their context, as a retryable outage; a full set of tenants all
// being made refuses a new one the same way, without a fetch.
func TestTenantIssuersWaiting(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	defer slow.Close()
	defer close(release)
	ti, err := NewTenantIssuers(TenantConfig{
		Template: slow.URL + "/{tenant}/v2.0", Admit: admitTrusted, Config: Config{Discovery: true},
		Options: []Option{WithClock(testClock), WithJWKSTimeout(5 * time.Second)}, MaxTenants: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ti.Close()
	tokenOf := func(name string) string {
		return craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"iss": slow.URL + "/" + name + "/v2.0"}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := ti.Verify(ctx, tokenOf("trusted-a")); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify() while the tenant is made error = %v, want ErrKeysUnavailable", err)
	}
	before := requests.Load()
	if _, err := ti.Verify(context.Background(), tokenOf("trusted-b")); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify() of a new tenant with every slot being made error = %v, want ErrKeysUnavailable", err)
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("%d requests for a tenant refused for room", n)
	}
}
