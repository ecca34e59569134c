package tokensource_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
	"github.com/protojwt/protojwt/tokensource"
)

// loginService stands for the service that issued the client's tokens: it
// rotates refresh tokens with a Manager, as a Refresh endpoint does.
type loginService struct{ m *manager.Manager }

func newLoginService() *loginService {
	store, err := revocation.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	m, err := manager.New(manager.Config{
		Issuer: "example", Algorithm: "HS256", Secret: []byte(strings.Repeat("s", 32)),
	}, manager.WithRevocation(store))
	if err != nil {
		log.Fatal(err)
	}
	return &loginService{m: m}
}

// login returns the tokens of a password login.
func (l *loginService) login(sub string) (auth, refresh string) {
	a, err := l.m.AuthToken(sub, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := l.m.RefreshToken(sub, nil)
	if err != nil {
		log.Fatal(err)
	}
	return a.Signed, r.Signed
}

// refresh is the client's tokensource.RefreshFunc. A real client calls the
// login service's Refresh method here, over gRPC, connect or HTTP.
func (l *loginService) refresh(ctx context.Context, refreshToken string) (string, string, error) {
	auth, next, err := l.m.RotateRefreshToken(ctx, refreshToken, nil)
	if err != nil {
		return "", "", err
	}
	return auth.Signed, next.Signed, nil
}

// verifyBearer is a server's check of the Authorization value; the
// interceptor, connectauth and httpauth packages do it for real services.
func (l *loginService) verifyBearer(ctx context.Context, value string) (*manager.Token, error) {
	signed, ok := strings.CutPrefix(value, "Bearer ")
	if !ok {
		return nil, manager.ErrNoToken
	}
	return l.m.Verify(ctx, signed)
}

func ExamplePerRPCCredentials() {
	login := newLoginService()
	auth, refresh := login.login("alice")
	addr := startGRPC(login) // a gRPC server on loopback

	src, err := tokensource.New(auth, refresh, login.refresh)
	if err != nil {
		log.Fatal(err)
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()), // use TLS beyond loopback
		grpc.WithPerRPCCredentials(tokensource.PerRPCCredentials(src, tokensource.WithInsecureTransport())))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	// Output: SERVING <nil>
}

// startGRPC serves the health service on loopback to callers with a valid
// token, and returns its address.
func startGRPC(login *loginService) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get("authorization"); len(v) != 1 {
			return nil, status.Error(codes.Unauthenticated, "no token")
		} else if _, err := login.verifyBearer(ctx, v[0]); err != nil {
			return nil, status.Error(codes.Unauthenticated, "invalid token")
		}
		return next(ctx, req)
	}))
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	return lis.Addr().String()
}

func ExampleConnectInterceptor() {
	login := newLoginService()
	auth, refresh := login.login("alice")
	const greet = "/greet.v1.GreetService/Greet"
	srv := httptest.NewServer(connect.NewUnaryHandler(greet,
		func(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			tok, err := login.verifyBearer(ctx, req.Header().Get("Authorization"))
			if err != nil {
				return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid token"))
			}
			return connect.NewResponse(wrapperspb.String(req.Msg.GetValue() + ", " + tok.Subject)), nil
		}))
	defer srv.Close()

	src, err := tokensource.New(auth, refresh, login.refresh)
	if err != nil {
		log.Fatal(err)
	}
	client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](http.DefaultClient, srv.URL+greet,
		connect.WithInterceptors(tokensource.ConnectInterceptor(src)))

	resp, err := client.CallUnary(context.Background(), connect.NewRequest(wrapperspb.String("Hello")))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Msg.GetValue())
	// Output: Hello, alice
}

func ExampleRoundTripper() {
	login := newLoginService()
	auth, refresh := login.login("alice")
	guard := httpauth.New(login.m)
	srv := httptest.NewServer(guard.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := manager.FromContext(r.Context())
		fmt.Fprintf(w, "Hello, %s", tok.Subject)
	})))
	defer srv.Close()

	src, err := tokensource.New(auth, refresh, login.refresh)
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: tokensource.RoundTripper(src, nil)} // https, or http to loopback

	resp, err := client.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: Hello, alice
}

// A client resumes its login from a saved refresh token, saves each
// rotated one, and stops when the login is revoked.
func ExampleNew() {
	login := newLoginService()
	_, refresh := login.login("alice")
	saved := refresh // what the client stored, in a keychain or a file

	var later atomic.Int64 // how far the example moves the client's clock
	src, err := tokensource.New("", saved, login.refresh,
		tokensource.WithSaveRefreshToken(func(_ context.Context, rotated string) error {
			saved = rotated
			fmt.Println("saved the rotated refresh token")
			return nil
		}),
		tokensource.WithClock(func() time.Time { return time.Now().Add(time.Duration(later.Load())) }))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := src.Token(context.Background()); err != nil { // no auth token yet: refreshes
		log.Fatal(err)
	}

	// A thief replays the first refresh token: the login service revokes
	// the whole login.
	_, _, err = login.m.RotateRefreshToken(context.Background(), refresh, nil)
	fmt.Println(errors.Is(err, manager.ErrRefreshReuse))

	later.Store(int64(2 * time.Hour)) // the auth token has expired
	_, err = src.Token(context.Background())
	fmt.Println(errors.Is(err, tokensource.ErrLoginEnded))
	// Output:
	// saved the rotated refresh token
	// true
	// true
}

// A RefreshFunc over HTTP: CheckResponse turns a denial into an error
// that tells a login that is over from a passing failure.
func ExampleCheckResponse() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"token revoked","reason":"TOKEN_REVOKED"}`)
	}))
	defer srv.Close()

	refresh := func(ctx context.Context, refreshToken string) (string, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/refresh", nil)
		if err != nil {
			return "", "", err
		}
		req.Header.Set("Authorization", "Bearer "+refreshToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		if err := tokensource.CheckResponse(resp); err != nil {
			return "", "", err
		}
		var tokens struct {
			Auth    string `json:"auth_token"`
			Refresh string `json:"refresh_token"`
		}
		err = jsonDecode(resp.Body, &tokens)
		return tokens.Auth, tokens.Refresh, err
	}
	src, err := tokensource.New("", "a-revoked-refresh-token", refresh)
	if err != nil {
		log.Fatal(err)
	}
	_, err = src.Token(context.Background())
	fmt.Println(errors.Is(err, tokensource.ErrLoginEnded))
	// Output: true
}

func jsonDecode(r io.Reader, v any) error {
	return json.NewDecoder(io.LimitReader(r, 1<<16)).Decode(v)
}
