// Command connect is the quickstart's service (examples/quickstart/proto)
// served by connect-go: the rules declared in quickstart.proto guard the
// same handlers under the Connect, gRPC and gRPC-Web protocols, on one
// port, through connectauth.
//
//	go run ./examples/connect            # serve on :8081 (HTTP/1.1 and h2c)
//	go run ./examples/connect -demo      # serve on loopback, walk the flow, exit
//
// With the server running, log in and call a protected procedure with curl
// (the Connect protocol is JSON over a plain POST):
//
//	TOKEN=$(curl -s -H 'Content-Type: application/json' -d '{"username":"alice","password":"wonderland"}' \
//	    localhost:8081/quickstart.v1.QuickstartService/Login | jq -r .authToken)
//	curl -s -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" -d '{}' \
//	    localhost:8081/quickstart.v1.QuickstartService/Protected
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

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/examples/quickstart/quickstartpb/quickstartpbconnect"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
)

func main() {
	demo := flag.Bool("demo", false, "serve on a free loopback port, walk the flow as a client under each protocol, and exit non-zero if any step misbehaves")
	addr := flag.String("addr", ":8081", "listen address (HTTP/1.1 and HTTP/2 without TLS)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *demo {
		err = runDemo(ctx, os.Stdout)
	} else {
		err = serve(ctx, *addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
}

// newManager builds the token manager from the JWT_* environment, filling
// in what an example can: an issuer, HS256, and a random secret.
func newManager(logf func(format string, args ...any)) (*manager.Manager, error) {
	cfg, err := manager.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "protojwt-connect-example"
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = "HS256"
	}
	if cfg.Algorithm[:2] == "HS" && len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret)
		logf("JWT_SECRET is not set: using a random development secret; tokens will not outlive this process")
	}
	store, err := revocation.NewMemoryStore()
	if err != nil {
		return nil, err
	}
	return manager.New(cfg, manager.WithRevocation(store))
}

// maxMessage is the largest request message the handlers read, once
// decompressed: the quickstart's messages are a few hundred bytes.
const maxMessage = 64 << 10

// newServer returns the HTTP server of the example: the QuickstartService
// as a connect handler behind connectauth, serving HTTP/1.1 and HTTP/2
// without TLS (gRPC needs HTTP/2).
//
// auth.Wrap refuses a call without a valid token from its headers, before
// connect reads the body; the interceptor checks the rest of each rule
// with the decoded request. [connect.WithReadMaxBytes] bounds what a caller
// with a token may make the server read: the size of a message after
// decompression, which [http.MaxBytesHandler] (bytes on the wire, for the
// whole request or stream) can't bound.
func newServer(logf func(string, ...any)) (*http.Server, error) {
	m, err := newManager(logf)
	if err != nil {
		return nil, err
	}
	auth, err := connectauth.New(m)
	if err != nil {
		return nil, err // a bad rule or field path in quickstart.proto
	}
	mux := http.NewServeMux()
	path, handler := quickstartpbconnect.NewQuickstartServiceHandler(&quickstartService{m: m},
		connect.WithInterceptors(auth), connect.WithReadMaxBytes(maxMessage))
	mux.Handle(path, handler)
	// Every procedure served has a rule or is opened: checked now, not at
	// the first call.
	if err := auth.CheckHandlers(path); err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: auth.Wrap(mux), ReadHeaderTimeout: 5 * time.Second, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv, nil
}

// serve runs the server on addr until ctx ends.
func serve(ctx context.Context, addr string) error {
	srv, err := newServer(log.Printf)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Printf("Connect, gRPC and gRPC-Web on %s", lis.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
