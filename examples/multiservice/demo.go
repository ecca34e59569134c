package main

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/protojwt/protojwt/examples/multiservice/orderspb"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/tokensource"
)

// demoTiming rotates keys twice a second with tokens that live 2 s, so that
// a few seconds show several rotations and the removal of retired keys.
var demoTiming = timing{
	tokenTTL: 2 * time.Second,
	rotate:   500 * time.Millisecond,
	announce: 300 * time.Millisecond,
	refresh:  50 * time.Millisecond,
}

// demoDuration is how long the demo's clients call.
const demoDuration = 4 * time.Second

// runDemo starts both services on free loopback ports, has customers call
// the orders service without pause while the auth service rotates its key,
// and has an attacker call with tokens that must be refused. It prints the
// counts and fails if a valid call failed or an invalid one passed.
func runDemo(ctx context.Context, out io.Writer, t timing, duration time.Duration) error {
	authLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ordersLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		authLis.Close()
		return err
	}
	inventoryLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closeAll([]net.Listener{authLis, ordersLis})
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := start(startCtx, authLis, ordersLis, inventoryLis, t)
	if err != nil {
		closeAll([]net.Listener{authLis, ordersLis, inventoryLis})
		return err
	}
	defer s.shutdown()

	conn, err := grpc.NewClient(ordersLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	d := &demo{
		orders:  orderspb.NewOrdersServiceClient(conn),
		http:    &http.Client{Timeout: 5 * time.Second},
		authURL: "http://" + authLis.Addr().String(),
		t:       t,
		validOK: map[string]int{},
		refused: map[string]int{},
	}
	fmt.Fprintf(out, "auth service   %s  (POST /token, GET /.well-known/jwks.json)\n", d.authURL)
	fmt.Fprintf(out, "orders service %s  (gRPC; verifies with the auth service's JWK Set)\n", ordersLis.Addr())
	fmt.Fprintf(out, "inventory      %s  (HTTP; called by orders with exchanged tokens)\n\n", inventoryLis.Addr())
	d.inventoryURL = loopbackURLOf(inventoryLis.Addr())

	runCtx, stop := context.WithTimeout(ctx, duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() {
		s.auth.rotateEvery(runCtx, t.rotate, func(format string, args ...any) {
			d.fail(&d.otherFailed, fmt.Sprintf(format, args...))
		})
	})
	for _, customer := range []string{"alice", "alice", "bob", "bob"} {
		wg.Go(func() { d.customer(runCtx, customer) })
	}
	wg.Go(func() { d.attacker(runCtx) })
	wg.Wait()

	select {
	case err := <-s.errc:
		return err
	default:
	}
	problems := d.report(out, s, duration)
	if problems > 0 {
		return fmt.Errorf("%d call(s) did not behave as they must", problems)
	}
	fmt.Fprintln(out, "\nevery valid call passed and every invalid call was refused")
	return nil
}

// demo is the client side: customers and an attacker, and what they saw.
type demo struct {
	orders       orderspb.OrdersServiceClient
	http         *http.Client
	authURL      string
	inventoryURL string
	t            timing

	mu            sync.Mutex
	validOK       map[string]int // valid calls that passed, by the kid of their token
	refused       map[string]int // invalid calls refused, by kind
	validFailed   int            // valid calls that failed
	invalidPassed int            // invalid calls not refused as they must be
	otherFailed   int            // logins and rotations that failed
	failures      []string       // the first of these, described
}

// fail counts a problem in *count and keeps the first descriptions.
func (d *demo) fail(count *int, what string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	*count++
	if len(d.failures) < 10 {
		d.failures = append(d.failures, what)
	}
}

// rpc is one call of the orders service, with the call options that carry
// its token.
type rpc func(ctx context.Context, opts ...grpc.CallOption) error

// call runs one gRPC call with the token of src (none when it gives ""),
// bounded on its own: the end of the demo never cuts a call short. The
// demo's services listen on loopback without TLS.
func (d *demo) call(src tokensource.Source, call rpc) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return call(ctx, grpc.PerRPCCredentials(tokensource.PerRPCCredentials(src, tokensource.WithInsecureTransport())))
}

// recorder is a Source that remembers the token it last gave, so that a
// call can be counted by the key that signed its token.
type recorder struct {
	tokensource.Source
	last atomic.Pointer[string]
}

func (r *recorder) Token(ctx context.Context) (string, error) {
	tok, err := r.Source.Token(ctx)
	r.last.Store(&tok)
	return tok, err
}

func (r *recorder) lastToken() string {
	if p := r.last.Load(); p != nil {
		return *p
	}
	return ""
}

// valid records the outcome of a call that must pass.
func (d *demo) valid(what, token string, err error) {
	if err != nil {
		st, _ := status.FromError(err)
		d.fail(&d.validFailed, fmt.Sprintf("valid call %s with a token of %s failed: %s %s", what, kidOf(token), st.Code(), st.Message()))
		return
	}
	d.mu.Lock()
	d.validOK[kidOf(token)]++
	d.mu.Unlock()
}

// invalid records the outcome of a call that must be refused with code.
func (d *demo) invalid(kind string, want codes.Code, err error) {
	if got := status.Code(err); got != want {
		d.fail(&d.invalidPassed, fmt.Sprintf("invalid call (%s): got %s, want %s", kind, got, want))
		return
	}
	d.mu.Lock()
	d.refused[kind]++
	d.mu.Unlock()
}

// login gets an auth token for a client of the auth service.
func (d *demo) login(ctx context.Context, id string) (token string, expires time.Time, err error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.authURL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, demoSecret(id))
	resp, err := d.http.Do(req)
	if err != nil {
		return "", time.Time{}, err
	}
	defer resp.Body.Close()
	var body tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return "", time.Time{}, fmt.Errorf("token endpoint answered %d", resp.StatusCode)
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(segment(body.AccessToken, 1), &claims); err != nil {
		return "", time.Time{}, err
	}
	return body.AccessToken, time.Unix(claims.Exp, 0), nil
}

// customer calls without pause with a token that has at least half its
// life left: alice lists and places orders, bob lists his. Its token
// source gets tokens with the client-credentials grant (there is no refresh
// token) and renews them at half their life. It starts as a new client
// twice per rotation, as many clients together would, so that tokens of
// every key are in use.
func (d *demo) customer(ctx context.Context, id string) {
	grant := func(ctx context.Context, _ string) (string, string, error) {
		token, _, err := d.login(ctx, id)
		if err != nil {
			d.fail(&d.otherFailed, fmt.Sprintf("%s can't log in: %v", id, err))
		}
		return token, "", err
	}
	list := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := d.orders.ListOrders(ctx, &orderspb.ListOrdersRequest{Customer: id}, opts...)
		return err
	}
	create := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := d.orders.CreateOrder(ctx, &orderspb.CreateOrderRequest{Item: "tea", Quantity: 1}, opts...)
		return err
	}
	for ctx.Err() == nil {
		tokens, err := tokensource.New("", "", grant, tokensource.WithRefreshMargin(d.t.tokenTTL/2))
		if err != nil {
			d.fail(&d.otherFailed, err.Error())
			return
		}
		src := &recorder{Source: tokens}
		for started := time.Now(); ctx.Err() == nil && time.Since(started) < d.t.rotate/2; {
			// A call whose token could not be had was not sent: grant
			// counted the failed login.
			err := d.call(src, list)
			if src.lastToken() == "" {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			d.valid("ListOrders", src.lastToken(), err)
			if id == "alice" {
				err := d.call(src, create)
				d.valid("CreateOrder", src.lastToken(), err)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// attacker calls with tokens that must be refused, one kind after another.
// It holds bob's credentials and reads the published JWK Set, as anyone may.
func (d *demo) attacker(ctx context.Context) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		d.fail(&d.otherFailed, "attacker: "+err.Error())
		return
	}
	// forge signs alice's token with the attacker's key under kid.
	forge := func(kid string) string {
		m, err := manager.New(manager.Config{
			Issuer: issuer, Algorithm: "ES256", PrivateKey: key, KeyID: kid, Audience: []string{audience},
		})
		if err != nil {
			return ""
		}
		tok, err := m.AuthToken("alice", "orders:read orders:write", nil)
		if err != nil {
			return ""
		}
		return tok.Signed
	}
	firstBob, firstExpires, err := d.login(context.Background(), "bob")
	if err != nil {
		d.fail(&d.otherFailed, "attacker can't log in as bob: "+err.Error())
		return
	}
	bob, bobExpires := firstBob, firstExpires
	currentBob := func() string {
		if time.Until(bobExpires) < d.t.tokenTTL/2 {
			if t, exp, err := d.login(context.Background(), "bob"); err == nil {
				bob, bobExpires = t, exp
			}
		}
		return bob
	}
	list := func(customer string) rpc {
		return func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := d.orders.ListOrders(ctx, &orderspb.ListOrdersRequest{Customer: customer}, opts...)
			return err
		}
	}
	create := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := d.orders.CreateOrder(ctx, &orderspb.CreateOrderRequest{Item: "gold", Quantity: 1000}, opts...)
		return err
	}

	attacks := []struct {
		kind  string
		token func() string // "": skip this round
		rpc   rpc
		want  codes.Code
	}{
		{"no token", func() string { return "" }, list("alice"), codes.Unauthenticated},
		{"forged, published kid", func() string { return forge(d.publishedKID()) }, list("alice"), codes.Unauthenticated},
		{"forged, random kid", func() string { return forge(randomKID()) }, list("alice"), codes.Unauthenticated},
		{"alg none", func() string { return unsignedToken("alice") }, list("alice"), codes.Unauthenticated},
		{"bob's token, sub changed", func() string { return withSubject(currentBob(), "alice") }, list("alice"), codes.Unauthenticated},
		{"bob's token, alice's orders", currentBob, list("alice"), codes.PermissionDenied},
		{"bob's token, placing an order", currentBob, create, codes.PermissionDenied},
		{"bob's expired token", func() string {
			if time.Now().Before(firstExpires.Add(time.Second)) {
				return ""
			}
			return firstBob
		}, list("bob"), codes.Unauthenticated},
	}
	for i := 0; ctx.Err() == nil; i++ {
		a := attacks[i%len(attacks)]
		token := a.token()
		if token == "" && a.kind != "no token" {
			continue
		}
		// The attacker's tokens go as they are: Static sends any token.
		d.invalid(a.kind, a.want, d.call(tokensource.Static(token), a.rpc))
		time.Sleep(2 * time.Millisecond)
	}
}

// publishedKID returns the kid of the first key of the auth service's JWK
// Set, the one that signs.
func (d *demo) publishedKID() string {
	resp, err := d.http.Get(d.authURL + "/.well-known/jwks.json")
	if err != nil {
		return "unknown"
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&set) != nil || len(set.Keys) == 0 {
		return "unknown"
	}
	return set.Keys[0].Kid
}

// report prints what happened and returns the number of problems.
func (d *demo) report(out io.Writer, s *services, duration time.Duration) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(out, "%v of calls; the auth service rotated its signing key %d times and removed %d retired keys\n\n",
		duration, s.auth.rotations.Load(), s.auth.removals.Load())

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VALID CALLS, BY SIGNING KEY\tPASSED")
	passed := 0
	byAge := func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) }
	for _, kid := range slices.SortedFunc(maps.Keys(d.validOK), byAge) {
		fmt.Fprintf(tw, "%s\t%d\n", kid, d.validOK[kid])
		passed += d.validOK[kid]
	}
	fmt.Fprintf(tw, "all keys\t%d\n\n", passed)
	fmt.Fprintln(tw, "INVALID CALLS, BY KIND\tREFUSED")
	refused := 0
	for _, kind := range slices.Sorted(maps.Keys(d.refused)) {
		fmt.Fprintf(tw, "%s\t%d\n", kind, d.refused[kind])
		refused += d.refused[kind]
	}
	fmt.Fprintf(tw, "all kinds\t%d\n", refused)
	tw.Flush()

	fmt.Fprintf(out, "\nJWK Set fetches by the orders service: %d (every %v in the background, at most one per 30s for unknown kids)\n",
		s.jwksFetch.n.Load(), d.t.refresh)
	fmt.Fprintf(out, "stock reservations at inventory by orders, on behalf of customers: %d\n", s.inventory.reserved.Load())
	fmt.Fprintf(out, "valid calls failed: %d; invalid calls not refused: %d; other failures: %d\n",
		d.validFailed, d.invalidPassed, d.otherFailed)
	for _, f := range d.failures {
		fmt.Fprintln(out, "  FAIL", f)
	}
	return d.validFailed + d.invalidPassed + d.otherFailed
}

// kidOf returns the kid header of a compact token.
func kidOf(token string) string {
	var header struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(segment(token, 0), &header)
	return header.Kid
}

// segment decodes segment i of a compact token; nil when it can't.
func segment(token string, i int) []byte {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[i])
	return b
}

// randomKID returns a kid that no key has.
func randomKID() string {
	var b [9]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// unsignedToken is a token with alg "none" for sub.
func unsignedToken(sub string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	return enc(map[string]any{"alg": "none", "typ": "JWT"}) + "." + enc(map[string]any{
		"iss": issuer, "aud": audience, "sub": sub, "type": "auth", "iat": now, "exp": now + 60, "scope": "orders:read orders:write",
	}) + "."
}

// withSubject returns token with its subject changed and its signature
// kept: what a tampering client would send.
func withSubject(token, sub string) string {
	var claims map[string]any
	if json.Unmarshal(segment(token, 1), &claims) != nil {
		return token
	}
	claims["sub"] = sub
	b, _ := json.Marshal(claims)
	parts := strings.Split(token, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}
