package interceptor_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
)

// registered returns a server behind auth's interceptors, with the test
// services and health checking registered (OpenService unless noOpen),
// never started.
func registered(auth *interceptor.Interceptor, noOpen bool) *grpc.Server {
	return registeredWith(auth.ServerOptions(), noOpen)
}

// registeredWith is registered with the server options sopts.
func registeredWith(sopts []grpc.ServerOption, noOpen bool) *grpc.Server {
	s := grpc.NewServer(sopts...)
	testpb.RegisterGuardedServiceServer(s, &guarded{})
	testpb.RegisterDefaultedServiceServer(s, defaulted{})
	if !noOpen {
		testpb.RegisterOpenServiceServer(s, open{})
	}
	healthpb.RegisterHealthServer(s, health.NewServer())
	return s
}

// TestCheckServer checks that the mistakes that would show only at the
// first call are found at start: misspelled public names and registered
// methods that declare nothing.
func TestCheckServer(t *testing.T) {
	m := newManager(t)
	undeclared := []string{methodUndeclared, "/protojwt.test.v1.OpenService/Ping", "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}
	tests := []struct {
		name     string
		opts     []interceptor.Option
		noOpen   bool     // OpenService not registered
		wantErrs []string // each must be in the error; none: no error
		wantNot  []string // none of these may be
	}{
		{
			name:     "public service not registered",
			opts:     []interceptor.Option{interceptor.WithPublicServices("protojwt.test.v1.OpenService"), interceptor.WithPublicMethods(methodUndeclared)},
			noOpen:   true,
			wantErrs: []string{"protojwt.test.v1.OpenService, which is not registered", "/grpc.health.v1.Health/Check is registered but declares no protojwt rule"},
			wantNot:  []string{"OpenService/Ping", methodUndeclared},
		},
		{
			name:     "public method not registered",
			opts:     []interceptor.Option{interceptor.WithPublicMethods("/protojwt.test.v1.OpenService/Ping")},
			noOpen:   true,
			wantErrs: []string{"/protojwt.test.v1.OpenService/Ping, which is not registered", methodUndeclared + " is registered but declares no"},
		},
		{
			name:     "undeclared methods",
			wantErrs: undeclared,
		},
		{
			name:    "everything declared or opened",
			opts:    []interceptor.Option{interceptor.WithHealthAndReflection(), interceptor.WithPublicServices("protojwt.test.v1.OpenService"), interceptor.WithPublicMethods(methodUndeclared)},
			wantNot: []string{""},
		},
		{
			name:    "allow unannotated",
			opts:    []interceptor.Option{interceptor.AllowUnannotated()},
			wantNot: []string{""},
		},
		{
			name:    "dry run: undeclared methods go on",
			opts:    []interceptor.Option{interceptor.WithDryRun()},
			wantNot: []string{""},
		},
		{
			name:     "dry run: a public service still registered",
			opts:     []interceptor.Option{interceptor.WithDryRun(), interceptor.WithPublicServices("protojwt.test.v1.OpenService")},
			noOpen:   true,
			wantErrs: []string{"protojwt.test.v1.OpenService, which is not registered"},
			wantNot:  []string{"declares no protojwt rule"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := interceptor.New(m, tt.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = auth.CheckServer(registered(auth, tt.noOpen))
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("CheckServer = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, protojwt.ErrInvalidOption) {
				t.Fatalf("CheckServer = %v, want ErrInvalidOption", err)
			}
			for _, w := range tt.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckServer error does not say %q:\n%v", w, err)
				}
			}
			for _, w := range tt.wantNot {
				if w != "" && strings.Contains(err.Error(), w) {
					t.Errorf("CheckServer error names %q:\n%v", w, err)
				}
			}
		})
	}
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.CheckServer(nil); !errors.Is(err, protojwt.ErrInvalidOption) {
		t.Errorf("CheckServer(nil) = %v, want ErrInvalidOption", err)
	}
}

// TestHealthAndReflectionOpen calls health checking without a token, once
// opened by WithHealthAndReflection, over a real server.
func TestHealthAndReflectionOpen(t *testing.T) {
	m := newManager(t)
	for _, open := range []bool{false, true} {
		var opts []interceptor.Option
		if open {
			opts = append(opts, interceptor.WithHealthAndReflection())
		}
		auth, err := interceptor.New(m, opts...)
		if err != nil {
			t.Fatal(err)
		}
		lis := bufconn.Listen(1 << 20)
		s := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary()), grpc.StreamInterceptor(auth.Stream()))
		healthpb.RegisterHealthServer(s, health.NewServer())
		go func() { _ = s.Serve(lis) }()
		conn, err := grpc.NewClient("passthrough:///bufnet",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = healthpb.NewHealthClient(conn).Check(withToken(t), &healthpb.HealthCheckRequest{})
		_ = conn.Close()
		s.Stop()
		if open {
			if err != nil {
				t.Errorf("opened health check: %v", err)
			}
			continue
		}
		checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonMethodNotDeclared)
	}
}

// TestNotDeclaredNamesTheMethod checks that the denial of a method that
// declares no rule names it, for a client to see what to declare, and that
// a method outside the resolver gets the fixed message: a caller can't put
// text of its choice in a status message.
func TestNotDeclaredNamesTheMethod(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)
	_, err := call(withToken(t), ts, methodUndeclared, &testpb.UndeclaredRequest{})
	checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonMethodNotDeclared)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, methodUndeclared) {
		t.Errorf("message %q does not name %s", msg, methodUndeclared)
	}
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.Unary()(withToken(t), nil, &grpc.UnaryServerInfo{FullMethod: "/evil.v1.X/<script>"}, nil)
	checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonMethodNotDeclared)
	if msg := status.Convert(err).Message(); strings.Contains(msg, "script") {
		t.Errorf("message %q quotes the caller's method name", msg)
	}
}

// TestUnaryOnlyServer: a server given only the interceptor's Unary runs
// its streaming methods unchecked, so CheckServer names each of them; one
// given only Stream has its unary methods named; ServerOptions guards both
// kinds, over a real transport.
func TestUnaryOnlyServer(t *testing.T) {
	m := newManager(t)
	streaming := []string{
		"/protojwt.test.v1.GuardedService/Chat", "/protojwt.test.v1.GuardedService/Watch",
		"/protojwt.test.v1.GuardedService/PublicWatch", "/grpc.health.v1.Health/Watch",
	}
	unary := []string{methodUndeclared, "/protojwt.test.v1.GuardedService/FieldTop", "/grpc.health.v1.Health/Check"}
	tests := []struct {
		name      string
		sopts     func(*interceptor.Interceptor) []grpc.ServerOption
		unguarded []string // named by CheckServer
		guarded   []string // not named
		watchErr  bool     // a Watch with no token is refused
	}{
		{
			name: "unary only",
			sopts: func(a *interceptor.Interceptor) []grpc.ServerOption {
				return []grpc.ServerOption{grpc.UnaryInterceptor(a.Unary())}
			},
			unguarded: streaming,
			guarded:   unary,
		},
		{
			name: "stream only",
			sopts: func(a *interceptor.Interceptor) []grpc.ServerOption {
				return []grpc.ServerOption{grpc.StreamInterceptor(a.Stream())}
			},
			unguarded: unary,
			guarded:   streaming,
			watchErr:  true,
		},
		{
			name:     "server options",
			sopts:    func(a *interceptor.Interceptor) []grpc.ServerOption { return a.ServerOptions() },
			guarded:  append(append([]string{}, streaming...), unary...),
			watchErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := interceptor.New(m, interceptor.WithHealthAndReflection(),
				interceptor.WithPublicServices("protojwt.test.v1.OpenService"), interceptor.WithPublicMethods(methodUndeclared))
			if err != nil {
				t.Fatal(err)
			}
			sopts := tt.sopts(auth)
			ts := serve(t, sopts...)
			err = auth.CheckServer(registeredWith(sopts, false))
			if len(tt.unguarded) == 0 {
				if err != nil {
					t.Fatalf("CheckServer = %v, want nil", err)
				}
			} else if !errors.Is(err, protojwt.ErrInvalidOption) {
				t.Fatalf("CheckServer = %v, want ErrInvalidOption", err)
			}
			for _, name := range tt.unguarded {
				if err == nil || !strings.Contains(err.Error(), name+" is not guarded") {
					t.Errorf("CheckServer does not name %s as unguarded: %v", name, err)
				}
			}
			for _, name := range tt.guarded {
				if err != nil && strings.Contains(err.Error(), name+" is not guarded") {
					t.Errorf("CheckServer names %s, which is guarded: %v", name, err)
				}
			}

			// Over the wire: a Watch with no token.
			stream, err := testpb.NewGuardedServiceClient(ts.conn).Watch(context.Background(), &testpb.WatchRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var got int
			for {
				if _, err = stream.Recv(); err != nil {
					break
				}
				got++
			}
			if tt.watchErr {
				if got != 0 {
					t.Errorf("Watch with no token received %d messages", got)
				}
				checkDenial(t, err, codes.Unauthenticated, protojwt.ReasonTokenMissing)
			} else if got == 0 {
				t.Errorf("unary-only server: Watch with no token got %v; the test expects the unguarded stream CheckServer reports", err)
			}
		})
	}
}
