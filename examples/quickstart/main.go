// Command quickstart is the Flask_PyJWT example done with protojwt: one gRPC
// server whose rules are declared in quickstart.proto, and the same routes on
// net/http guarded by httpauth.
//
//	go run ./examples/quickstart          # gRPC on :50051, HTTP on :8080
//	go run ./examples/quickstart -demo    # start both, walk the flow, exit
//	go run ./examples/quickstart -demo -metrics # and count the decisions
//
// It is configured from the JWT_* environment (see [manager.ConfigFromEnv]);
// without JWT_SECRET or keys it uses a random development secret.
package main

import (
	"context"
	"crypto/rand"
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

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

func main() {
	demo := flag.Bool("demo", false, "start both servers on free loopback ports, walk the whole flow as a client, and exit non-zero if any step misbehaves")
	grpcAddr := flag.String("grpc", ":50051", "gRPC listen address")
	httpAddr := flag.String("http", ":8080", "HTTP listen address")
	metrics := flag.Bool("metrics", false, "count the decisions of both adapters with a decision hook and print them when the demo ends or the servers stop")
	flag.Parse()
	var counts *decisionCounts // nil: no hook
	if *metrics {
		counts = newDecisionCounts()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *demo {
		err = runDemo(ctx, os.Stdout, counts)
	} else {
		err = serve(ctx, *grpcAddr, *httpAddr, counts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// newManager builds the token manager from the JWT_* environment, filling
// in what a quickstart can: an issuer, HS256, and a random secret.
func newManager(logf func(format string, args ...any)) (*manager.Manager, error) {
	cfg, err := manager.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "protojwt-quickstart"
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = "HS256"
	}
	if cfg.Algorithm[:2] == "HS" && len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret)
		logf("JWT_SECRET is not set: using a random development secret; tokens will not outlive this process")
	}
	// One instance: an in-memory store. Several: a shared Redis store
	// (revocation/redisstore), so that logout and refresh rotation hold on
	// every instance.
	store, err := revocation.NewMemoryStore()
	if err != nil {
		return nil, err
	}
	return manager.New(cfg, manager.WithRevocation(store))
}

// servers are the quickstart's gRPC and HTTP servers.
type servers struct {
	grpc *grpc.Server
	http *http.Server
}

// newServers builds both servers; counts, when not nil, counts their
// decisions.
func newServers(logf func(string, ...any), counts *decisionCounts) (*servers, error) {
	m, err := newManager(logf)
	if err != nil {
		return nil, err
	}
	var hook func(context.Context, protojwt.Decision) // nil: no hook
	if counts != nil {
		hook = counts.hook
	}
	proofs, err := dpop.NewVerifier()
	if err != nil {
		return nil, err
	}
	a := &accounts{m: m, proofs: proofs}
	g, err := newGRPCServer(m, a, hook)
	if err != nil {
		return nil, err
	}
	return &servers{
		grpc: g,
		http: &http.Server{Handler: newHTTPHandler(m, a, hook), ReadHeaderTimeout: 5 * time.Second},
	}, nil
}

// start serves on the two listeners until shutdown; errors reach errc.
func (s *servers) start(grpcLis, httpLis net.Listener, errc chan<- error) {
	go func() { errc <- s.grpc.Serve(grpcLis) }()
	go func() {
		if err := s.http.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
}

func (s *servers) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.grpc.GracefulStop()
	_ = s.http.Shutdown(ctx)
}

// serve runs both servers until ctx ends; counts, when not nil, counts
// their decisions and is printed when they stop.
func serve(ctx context.Context, grpcAddr, httpAddr string, counts *decisionCounts) error {
	s, err := newServers(log.Printf, counts)
	if err != nil {
		return err
	}
	grpcLis, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return err
	}
	httpLis, err := net.Listen("tcp", httpAddr)
	if err != nil {
		grpcLis.Close()
		return err
	}
	errc := make(chan error, 2)
	s.start(grpcLis, httpLis, errc)
	log.Printf("gRPC on %s (reflection and health enabled), HTTP on %s", grpcLis.Addr(), httpLis.Addr())
	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	s.shutdown()
	if counts != nil {
		counts.print(os.Stdout)
	}
	return err
}
