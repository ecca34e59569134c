// Command multiservice shows keys in production: services that trust
// each other through published keys, while the keys rotate, and a call
// from one service to another on behalf of the user.
//
//   - The auth service issues ES256 auth tokens over HTTP (POST /token, an
//     OAuth 2.0 client-credentials grant) and publishes its public keys at
//     GET /.well-known/jwks.json. It rotates its signing key on a schedule:
//     it announces the next key in the JWK Set, signs with it a little
//     later, and retires the old key once the tokens it signed have expired.
//   - The orders service (gRPC, rules declared in orders.proto) holds no key
//     of its own: it verifies tokens with the auth service's JWK Set, which
//     it fetches at start-up and refreshes in the background.
//   - The inventory service (HTTP) is called by the orders service when a
//     customer places an order, with a token that the orders service got by
//     token exchange (RFC 8693) at the auth service: the customer's sub and
//     scope, the inventory audience, and act naming the orders service. Its
//     rule requires both the customer's scope and the orders service as
//     the actor.
//
// Run them:
//
//	go run ./examples/multiservice          # auth on :8081, orders on :50052, inventory on :8082
//	go run ./examples/multiservice -demo    # both on free loopback ports; clients call
//	                                        # while keys rotate; exit non-zero on any miss
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
)

// issuer and audience are the iss and aud of the auth service's tokens,
// checked by the orders service.
const (
	issuer   = "https://auth.multiservice.example"
	audience = "orders"
)

// timing is how fast keys move. Production runs it in hours, the demo in
// fractions of a second; the rules between the values are the same.
type timing struct {
	tokenTTL time.Duration // lifetime of auth tokens (Config.AuthMaxAge)
	rotate   time.Duration // a new signing key this often
	announce time.Duration // a key is in the JWK Set this long before it signs
	refresh  time.Duration // the orders service fetches the JWK Set this often
}

// productionTiming announces keys well past the verifiers' refresh
// interval and the JWK Set's cache lifetime (5 minutes each, by default).
var productionTiming = timing{
	tokenTTL: 15 * time.Minute,
	rotate:   24 * time.Hour,
	announce: 15 * time.Minute,
	refresh:  5 * time.Minute,
}

// check reports timings under which a valid token could be refused.
func (t timing) check() error {
	switch {
	case t.announce <= t.refresh:
		return errors.New("a key must be announced longer than the verifiers take to refresh")
	case t.rotate <= t.announce:
		return errors.New("keys must rotate less often than they are announced")
	}
	return nil
}

// retention is how long a key keeps verifying after it stopped signing:
// the last token it signed expires at most tokenTTL later (exp is rounded
// down to the second). The margin covers clock skew between the services;
// across hosts, add the verifiers' Config.Leeway.
func (t timing) retention() time.Duration {
	return t.tokenTTL + 250*time.Millisecond
}

func main() {
	demo := flag.Bool("demo", false, "run both services on free loopback ports, call them while the keys rotate, print the counts, and exit non-zero if a valid call failed or an invalid one passed")
	authAddr := flag.String("auth", ":8081", "auth service (HTTP) listen address")
	ordersAddr := flag.String("orders", ":50052", "orders service (gRPC) listen address")
	inventoryAddr := flag.String("inventory", ":8082", "inventory service (HTTP) listen address")
	rotate := flag.Duration("rotate", productionTiming.rotate, "how often the auth service rotates its signing key")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *demo {
		err = runDemo(ctx, os.Stdout, demoTiming, demoDuration)
	} else {
		t := productionTiming
		t.rotate = *rotate
		err = serve(ctx, *authAddr, *ordersAddr, *inventoryAddr, t)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "multiservice:", err)
		os.Exit(1)
	}
}

// services are the three servers, started on their listeners.
type services struct {
	auth          *authService
	authHTTP      *http.Server
	orders        *grpc.Server
	ordersStop    func()             // closes the orders service's Manager
	jwksFetch     *countingTransport // the orders service's fetches of the JWK Set
	inventory     *inventoryService
	inventoryHTTP *http.Server
	inventoryStop func() // closes the inventory service's Manager
	errc          chan error
}

// start runs the auth service on authLis, then the inventory service on
// inventoryLis and the orders service on ordersLis, which fetch the auth
// service's JWK Set first.
func start(ctx context.Context, authLis, ordersLis, inventoryLis net.Listener, t timing) (*services, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	a, err := newAuthService(t)
	if err != nil {
		return nil, err
	}
	s := &services{
		auth:      a,
		authHTTP:  &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second},
		jwksFetch: &countingTransport{base: http.DefaultTransport},
		errc:      make(chan error, 3),
	}
	go func() {
		if err := s.authHTTP.Serve(authLis); !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("auth service: %w", err)
		}
	}()

	inventory, inv, im, err := newInventoryHandler(ctx, jwksURLOf(authLis.Addr()), http.DefaultClient, t)
	if err != nil {
		s.authHTTP.Close()
		return nil, fmt.Errorf("inventory service: %w", err)
	}
	s.inventory, s.inventoryStop = inv, func() { im.Close() }
	s.inventoryHTTP = &http.Server{Handler: inventory, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.inventoryHTTP.Serve(inventoryLis); !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("inventory service: %w", err)
		}
	}()

	client := &http.Client{Transport: s.jwksFetch, Timeout: 10 * time.Second}
	toInventory := newInventoryClient(loopbackURLOf(inventoryLis.Addr()), loopbackURLOf(authLis.Addr())+"/token")
	orders, m, err := newOrdersServer(ctx, jwksURLOf(authLis.Addr()), client, t, toInventory)
	if err != nil {
		s.authHTTP.Close()
		s.inventoryHTTP.Close()
		s.inventoryStop()
		return nil, fmt.Errorf("orders service: %w", err)
	}
	s.orders, s.ordersStop = orders, func() { m.Close() }
	go func() {
		if err := orders.Serve(ordersLis); err != nil {
			s.errc <- fmt.Errorf("orders service: %w", err)
		}
	}()
	return s, nil
}

// shutdown stops the services, the orders service first.
func (s *services) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.orders.GracefulStop()
	s.ordersStop()
	_ = s.inventoryHTTP.Shutdown(ctx)
	s.inventoryStop()
	_ = s.authHTTP.Shutdown(ctx)
}

// serve runs the services, and the key rotation, until ctx ends.
func serve(ctx context.Context, authAddr, ordersAddr, inventoryAddr string, t timing) error {
	var lis []net.Listener
	for _, addr := range []string{authAddr, ordersAddr, inventoryAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(lis)
			return err
		}
		lis = append(lis, l)
	}
	authLis, ordersLis, inventoryLis := lis[0], lis[1], lis[2]
	s, err := start(ctx, authLis, ordersLis, inventoryLis, t)
	if err != nil {
		closeAll(lis)
		return err
	}
	defer s.shutdown()
	go s.auth.rotateEvery(ctx, t.rotate, log.Printf)
	log.Printf("auth service on %s (POST /token, GET /.well-known/jwks.json), orders service (gRPC) on %s, inventory service (HTTP) on %s",
		authLis.Addr(), ordersLis.Addr(), inventoryLis.Addr())
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.errc:
		return err
	}
}

// jwksURLOf returns the URL of the JWK Set of the auth service listening on
// addr, over loopback: the services share a host here. Across hosts,
// serve the JWK Set over https (the Manager refuses http to other hosts).
func jwksURLOf(addr net.Addr) string {
	return loopbackURLOf(addr) + "/.well-known/jwks.json"
}

// loopbackURLOf returns the http URL of a server listening on addr, over
// loopback. Across hosts, use https: tokensource refuses to send tokens and
// secrets over plain http to other hosts.
func loopbackURLOf(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// closeAll closes listeners that no server took.
func closeAll(lis []net.Listener) {
	for _, l := range lis {
		l.Close()
	}
}
