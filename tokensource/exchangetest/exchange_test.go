package exchangetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

// userScopes are what alice's token grants: the edge's scope and what
// the services behind it need.
var userScopes = []string{"orders", "inventory:read", "billing:read"}

// exchangeFor is the Exchange of service client for audience aud.
func (p *provider) exchangeFor(client, aud string, scope ...string) tokensource.ExchangeConfig {
	return tokensource.ExchangeConfig{
		Issuer: p.issuer, ClientID: client, ClientSecret: secrets[client],
		Audience: aud, Scope: scope,
	}
}

// chain is orders (the edge) → inventory → billing, each hop over
// transport i with an exchanged token. inventory requires the user's
// scope and act.sub = orders; billing requires act.sub = inventory with
// act.act.sub = orders.
type chain struct {
	p                          *provider
	orders, inventory, billing *service
}

func startChain(t *testing.T, p *provider, i int, ordersCfg, inventoryCfg tokensource.ExchangeConfig) *chain {
	t.Helper()
	c := &chain{p: p}
	rule, reqs := actorRule("billing:read", "inventory", "orders")
	c.billing = startService(t, p, "billing", rule, reqs, nil)
	toBilling := c.billing.clientOf(t, i, tokensource.Exchange(inventoryCfg))
	rule, reqs = actorRule("inventory:read", "orders")
	c.inventory = startService(t, p, "inventory", rule, reqs, func(ctx context.Context) error { return toBilling(ctx) })
	toInventory := c.inventory.clientOf(t, i, tokensource.Exchange(ordersCfg))
	rule, reqs = actorRule("orders")
	c.orders = startService(t, p, "orders", rule, reqs, func(ctx context.Context) error { return toInventory(ctx) })
	return c
}

func defaultChain(t *testing.T, i int) *chain {
	p := startProvider(t)
	return startChain(t, p, i,
		p.exchangeFor("orders", "inventory", "inventory:read", "billing:read"),
		p.exchangeFor("inventory", "billing", "billing:read"))
}

// call calls orders over transport i with token.
func (c *chain) call(t *testing.T, i int, token string) error {
	return c.orders.clientOf(t, i, tokensource.Static(token))(context.Background())
}

// TestExchangeChain: alice calls orders, which calls inventory, which
// calls billing, each with a token exchanged at the provider, over gRPC,
// connect and HTTP. Each service's rule checks the user's scope and who
// acts for her; billing sees both services in a nested act.
func TestExchangeChain(t *testing.T) {
	for i, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			c := defaultChain(t, i)
			alice := c.p.userToken(t, "alice", []string{"orders"}, userScopes...)
			if err := c.call(t, i, alice); err != nil {
				t.Fatal(err)
			}
			inv, bill := c.inventory.last(), c.billing.last()
			if inv == nil || bill == nil {
				t.Fatal("the chain did not reach billing")
			}
			for _, tt := range []struct {
				tok  *manager.Token
				want string
			}{
				{inv, `{"sub":"orders"}`},
				{bill, `{"act":{"sub":"orders"},"sub":"inventory"}`},
			} {
				if tt.tok.Subject != "alice" {
					t.Errorf("subject %q, want alice", tt.tok.Subject)
				}
				if got := jsonOf(t, tt.tok.Claims["act"]); got != tt.want {
					t.Errorf("act %s, want %s", got, tt.want)
				}
				if tt.tok.Signed == alice {
					t.Error("alice's own token was sent on")
				}
			}
			if got := jsonOf(t, bill.Claims["aud"]); !strings.Contains(got, `"billing"`) {
				t.Errorf("billing's token has aud %s", got)
			}
		})
	}
}

// TestExchangeCacheHits: many calls of one user make one exchange per
// hop; another user's token is another exchange.
func TestExchangeCacheHits(t *testing.T) {
	for i, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			c := defaultChain(t, i)
			alice := c.p.userToken(t, "alice", []string{"orders"}, userScopes...)
			bob := c.p.userToken(t, "bob", []string{"orders"}, userScopes...)
			for range 5 {
				for _, tok := range []string{alice, bob} {
					if err := c.call(t, i, tok); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := c.p.exchanges.Load(); n != 4 {
				t.Fatalf("%d exchanges for 2 users over 2 hops, want 4", n)
			}
			if n := c.billing.handled(); n != 10 {
				t.Fatalf("billing handled %d calls, want 10", n)
			}
		})
	}
}

// TestExchangeConcurrentCallers: 60 concurrent calls of 3 users through
// the chain, under -race: one exchange per user and hop.
func TestExchangeConcurrentCallers(t *testing.T) {
	for i, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			c := defaultChain(t, i)
			var users []string
			for _, u := range []string{"alice", "bob", "carol"} {
				users = append(users, c.p.userToken(t, u, []string{"orders"}, userScopes...))
			}
			var wg sync.WaitGroup
			for n := range 60 {
				wg.Go(func() {
					if err := c.call(t, i, users[n%3]); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if n := c.p.exchanges.Load(); n != 6 {
				t.Fatalf("%d exchanges for 3 users over 2 hops, want 6", n)
			}
		})
	}
}

// offsetClock is a local clock that is off the real one by a settable
// amount.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// TestExchangeExpiry: an exchanged token is used until the margin before
// its expires_in ends, then exchanged again; the provider's tokens live 5
// minutes.
func TestExchangeExpiry(t *testing.T) {
	p := startProvider(t)
	p.life.Store(int64(5 * time.Minute))
	clock := &offsetClock{}
	cfg := p.exchangeFor("orders", "inventory", "inventory:read")
	cfg.Clock = clock.now
	rule, reqs := actorRule("inventory:read", "orders")
	inventory := startService(t, p, "inventory", rule, reqs, nil)
	rule, reqs = actorRule("orders")
	toInventory := inventory.clientOf(t, 2, tokensource.Exchange(cfg))
	orders := startService(t, p, "orders", rule, reqs, func(ctx context.Context) error { return toInventory(ctx) })
	alice := p.userToken(t, "alice", []string{"orders"}, userScopes...)
	call := func() {
		t.Helper()
		if err := orders.clientOf(t, 2, tokensource.Static(alice))(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	call()
	first := inventory.last().Signed
	clock.advance(3*time.Minute + 55*time.Second) // kept until 4 min
	call()
	if n := p.exchanges.Load(); n != 1 || inventory.last().Signed != first {
		t.Fatalf("%d exchanges before the margin, want 1", n)
	}
	clock.advance(10 * time.Second)
	call()
	if n := p.exchanges.Load(); n != 2 || inventory.last().Signed == first {
		t.Fatalf("%d exchanges after the margin, want 2 and a new token", n)
	}
}

// TestExchangeClockSkew: a client whose clock is 5 or 15 minutes off,
// either way, keeps exchanged tokens for their expires_in: one exchange,
// accepted downstream, on every call.
func TestExchangeClockSkew(t *testing.T) {
	p := startProvider(t)
	rule, reqs := actorRule("inventory:read", "orders")
	inventory := startService(t, p, "inventory", rule, reqs, nil)
	alice := p.userToken(t, "alice", []string{"orders"}, userScopes...)
	ctx := manager.NewContext(context.Background(), &manager.Token{Type: manager.Auth, Signed: alice})
	for _, skew := range []time.Duration{-15 * time.Minute, -5 * time.Minute, 5 * time.Minute, 15 * time.Minute} {
		for i, transport := range transports {
			t.Run(fmt.Sprintf("%v/%s", skew, transport), func(t *testing.T) {
				clock := &offsetClock{}
				clock.advance(skew)
				cfg := p.exchangeFor("orders", "inventory", "inventory:read")
				cfg.Clock = clock.now
				call := inventory.clientOf(t, i, tokensource.Exchange(cfg))
				before := p.exchanges.Load()
				for range 10 {
					if err := call(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if n := p.exchanges.Load() - before; n != 1 {
					t.Fatalf("%d exchanges for 10 calls, want 1", n)
				}
			})
		}
	}
}

// TestExchangeRefused: the provider refuses an exchange the delegation
// policy does not allow, or a client it can't authenticate; the call fails
// with ErrExchangeRefused (PermissionDenied) and nothing reaches the
// downstream service, neither the caller's token nor any other. No error
// holds a token or the secret.
func TestExchangeRefused(t *testing.T) {
	p := startProvider(t)
	rule, reqs := actorRule("inventory:read", "orders")
	inventory := startService(t, p, "inventory", rule, reqs, nil)
	alice := p.userToken(t, "alice", []string{"orders"}, userScopes...)
	forWeb := p.userToken(t, "alice", []string{"web"}, userScopes...)
	narrow := p.userToken(t, "alice", []string{"orders"}, "orders")
	ordersOwn := p.userToken(t, "orders", []string{"orders"})
	billingOwn := p.userToken(t, "billing", []string{"orders"})

	tests := []struct {
		name    string
		subject string
		change  func(*tokensource.ExchangeConfig)
	}{
		{"audience not delegated", alice, func(c *tokensource.ExchangeConfig) { c.Audience = "billing" }},
		{"scope the user lacks", narrow, nil},
		{"subject token of another client", forWeb, nil},
		{"wrong client secret", alice, func(c *tokensource.ExchangeConfig) { c.ClientSecret = "guess" }},
		{"unknown client", alice, func(c *tokensource.ExchangeConfig) { c.ClientID, c.ClientSecret = "intruder", "x" }},
		{"actor token of another service", alice, func(c *tokensource.ExchangeConfig) { c.Actor = tokensource.Static(billingOwn) }},
		{"subject token forged", alice[:len(alice)-4] + "AAAA", nil},
	}
	for _, tt := range tests {
		for i, transport := range transports {
			t.Run(tt.name+"/"+transport, func(t *testing.T) {
				cfg := p.exchangeFor("orders", "inventory", "inventory:read")
				if tt.change != nil {
					tt.change(&cfg)
				}
				ctx := manager.NewContext(context.Background(), &manager.Token{Type: manager.Auth, Signed: tt.subject})
				handled := inventory.handled()
				err := inventory.clientOf(t, i, tokensource.Exchange(cfg))(ctx)
				if !errors.Is(err, tokensource.ErrExchangeRefused) {
					t.Fatalf("call: %v, want ErrExchangeRefused", err)
				}
				switch i {
				case 0:
					if code := status.Code(err); code != codes.PermissionDenied {
						t.Fatalf("gRPC code %v, want PermissionDenied", code)
					}
				case 1:
					if code := connect.CodeOf(err); code != connect.CodePermissionDenied {
						t.Fatalf("connect code %v, want permission_denied", code)
					}
				}
				if inventory.handled() != handled {
					t.Fatal("a call reached inventory")
				}
				for _, secret := range []string{tt.subject, alice, secrets["orders"], billingOwn} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q holds a token or a secret", err)
					}
				}
			})
		}
	}
	// The service's own token as actor_token: act names it on its word.
	cfg := p.exchangeFor("orders", "inventory", "inventory:read")
	cfg.Actor = tokensource.Static(ordersOwn)
	ctx := manager.NewContext(context.Background(), &manager.Token{Type: manager.Auth, Signed: alice})
	if err := inventory.clientOf(t, 2, tokensource.Exchange(cfg))(ctx); err != nil {
		t.Fatalf("exchange with an actor token: %v", err)
	}
	if got := jsonOf(t, inventory.last().Claims["act"]); got != `{"sub":"orders"}` {
		t.Fatalf("act %s", got)
	}
}

// TestForwardNeedsTheSameAudience: forwarding alice's token for orders to
// inventory, which accepts only tokens for itself, is refused there: the
// audience problem that Exchange solves.
func TestForwardNeedsTheSameAudience(t *testing.T) {
	p := startProvider(t)
	rule, reqs := actorRule("inventory:read")
	inventory := startService(t, p, "inventory", rule, reqs, nil)
	alice := p.userToken(t, "alice", []string{"orders"}, userScopes...)
	ctx := manager.NewContext(context.Background(), &manager.Token{Type: manager.Auth, Signed: alice})
	for i, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			err := inventory.clientOf(t, i, tokensource.Forward())(ctx)
			var re *tokensource.ResponseError
			switch {
			case i == 0 && status.Code(err) == codes.Unauthenticated:
			case i == 1 && connect.CodeOf(err) == connect.CodeUnauthenticated:
			case i == 2 && errors.As(err, &re) && re.StatusCode == http.StatusUnauthorized:
			default:
				t.Fatalf("forwarded token for orders at inventory: %v, want it refused as unauthenticated", err)
			}
			if inventory.handled() != 0 {
				t.Fatal("inventory handled a token for orders")
			}
		})
	}
	// The same token exchanged for inventory passes.
	if err := inventory.clientOf(t, 2, tokensource.Exchange(p.exchangeFor("orders", "inventory", "inventory:read")))(ctx); err != nil {
		t.Fatal(err)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
