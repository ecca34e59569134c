package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/manager"
)

// Algorithms are the algorithms compared: one of each family.
var Algorithms = []string{"HS256", "RS256", "ES256", "EdDSA"}

// Issuer is the issuer of every benchmark token.
const Issuer = "https://issuer.bench"

// Subject is the subject of every benchmark token and the value of every
// request, so that [EchoRule] holds.
const Subject = "alice"

// Keys are the keys of one algorithm: a protojwt Config that signs, and the
// key golang-jwt verifies with.
type Keys struct {
	Config    manager.Config
	VerifyKey any
}

// NewKeys generates the keys of alg.
func NewKeys(alg string) (Keys, error) {
	cfg := manager.Config{Issuer: Issuer, Algorithm: alg}
	var verify any
	switch alg {
	case "HS256":
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret)
		verify = cfg.Secret
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return Keys{}, err
		}
		cfg.PrivateKey, verify = k, &k.PublicKey
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return Keys{}, err
		}
		cfg.PrivateKey, verify = k, &k.PublicKey
	case "EdDSA":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return Keys{}, err
		}
		cfg.PrivateKey, verify = priv, pub
	default:
		return Keys{}, fmt.Errorf("bench: no keys for %s", alg)
	}
	return Keys{Config: cfg, VerifyKey: verify}, nil
}

// Tokens issues n distinct auth tokens for Subject with the scope "read".
func Tokens(m *manager.Manager, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		tok, err := m.AuthToken(Subject, "read", nil)
		if err != nil {
			return nil, err
		}
		out[i] = tok.Signed
	}
	return out, nil
}

// Peer is the usual stack's verification: golang-jwt's Parse with the
// checks a protojwt Manager makes (algorithm, signature, exp required, iat,
// nbf, issuer) and the token type, as an AuthFunc of go-grpc-middleware or
// an HTTP middleware would call it.
type Peer struct {
	keyfunc jwt.Keyfunc
	opts    []jwt.ParserOption
	parser  *jwt.Parser
}

// NewPeer returns the Peer of alg with its verification key.
func NewPeer(alg string, key any) *Peer {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	return &Peer{
		keyfunc: func(*jwt.Token) (any, error) { return key, nil },
		opts:    opts,
		parser:  jwt.NewParser(opts...),
	}
}

// Parse verifies raw as the usual AuthFunc does: [jwt.Parse], then the
// token's type.
func (p *Peer) Parse(raw string) (jwt.MapClaims, error) {
	return checkType(jwt.Parse(raw, p.keyfunc, p.opts...))
}

// ParseReused is Parse with one [jwt.Parser] built ahead, golang-jwt at its
// most economical.
func (p *Peer) ParseReused(raw string) (jwt.MapClaims, error) {
	return checkType(p.parser.Parse(raw, p.keyfunc))
}

func checkType(t *jwt.Token, err error) (jwt.MapClaims, error) {
	if err != nil {
		return nil, err
	}
	claims, _ := t.Claims.(jwt.MapClaims)
	if claims["type"] != "auth" {
		return nil, errors.New("bench: not an auth token")
	}
	return claims, nil
}

// claimsKey is the context key of the peer's claims.
type claimsKey struct{}

// AuthFunc is the go-grpc-middleware auth function of the peer stack.
func (p *Peer) AuthFunc(ctx context.Context) (context.Context, error) {
	raw, err := auth.AuthFromMD(ctx, "bearer")
	if err != nil {
		return nil, err
	}
	claims, err := p.Parse(raw)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "invalid token")
	}
	return context.WithValue(ctx, claimsKey{}, claims), nil
}

// Middleware is the net/http middleware of the peer stack: the bearer
// token, [jwt.Parse], and, as the protojwt route requires, the sub claim
// equal to the {user} path value and the scope "read".
func (p *Peer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		claims, err := p.Parse(h[7:])
		if err != nil {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		if sub, _ := claims["sub"].(string); sub != r.PathValue("user") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if scope, _ := claims["scope"].(string); !strings.Contains(" "+scope+" ", " read ") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	})
}

// Stacks, the columns of the comparison.
const (
	StackNone  = "none"          // no authentication at all
	StackPeer  = "peer"          // go-grpc-middleware auth or an HTTP middleware, with golang-jwt
	StackCold  = "protojwt-cold" // protojwt, verification cache off, a new token each call
	StackWarm  = "protojwt-warm" // protojwt, verification cache on, the same token each call
	serverSize = 1 << 20
)

// Stacks lists the stacks in column order.
var Stacks = []string{StackNone, StackPeer, StackCold, StackWarm}

// Setup is everything one algorithm's benchmarks need.
type Setup struct {
	Alg  string
	Keys Keys
	Peer *Peer
	Warm *manager.Manager // verification cache on (the default)
	Cold *manager.Manager // verification cache off
	// Token is the token of the warm and unauthenticated runs; Fresh are
	// distinct tokens, a new one for each call of a cold run.
	Token string
	Fresh []string
}

// NewSetup generates the keys and tokens of alg.
func NewSetup(alg string) (*Setup, error) {
	keys, err := NewKeys(alg)
	if err != nil {
		return nil, err
	}
	warm, err := manager.New(keys.Config)
	if err != nil {
		return nil, err
	}
	cold, err := manager.New(keys.Config, manager.WithVerifyCache(0))
	if err != nil {
		return nil, err
	}
	fresh, err := Tokens(warm, 256)
	if err != nil {
		return nil, err
	}
	token, err := Tokens(warm, 1)
	if err != nil {
		return nil, err
	}
	return &Setup{Alg: alg, Keys: keys, Peer: NewPeer(alg, keys.VerifyKey), Warm: warm, Cold: cold, Token: token[0], Fresh: fresh}, nil
}

// Manager returns the Manager of a protojwt stack, nil for the others.
func (s *Setup) Manager(stack string) *manager.Manager {
	switch stack {
	case StackCold:
		return s.Cold
	case StackWarm:
		return s.Warm
	}
	return nil
}

// UnaryInterceptor returns the server interceptor of stack, nil for none.
func (s *Setup) UnaryInterceptor(stack string) (grpc.UnaryServerInterceptor, error) {
	switch stack {
	case StackNone:
		return nil, nil
	case StackPeer:
		return auth.UnaryServerInterceptor(s.Peer.AuthFunc), nil
	}
	files, err := Files()
	if err != nil {
		return nil, err
	}
	i, err := interceptor.New(s.Manager(stack), interceptor.WithResolver(files))
	if err != nil {
		return nil, err
	}
	return i.Unary(), nil
}

// GRPCServer is the benchmark service over bufconn, with a client.
type GRPCServer struct {
	Conn *grpc.ClientConn
	srv  *grpc.Server
}

// StartGRPC serves the benchmark service with stack's interceptor.
func (s *Setup) StartGRPC(stack string) (*GRPCServer, error) {
	unary, err := s.UnaryInterceptor(stack)
	if err != nil {
		return nil, err
	}
	var opts []grpc.ServerOption
	if unary != nil {
		opts = append(opts, grpc.UnaryInterceptor(unary))
	}
	lis := bufconn.Listen(serverSize)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&echoServiceDesc, struct{}{})
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		return nil, err
	}
	return &GRPCServer{Conn: conn, srv: srv}, nil
}

// Echo calls the benchmark method with value, the metadata of ctx.
func (g *GRPCServer) Echo(ctx context.Context, value *wrapperspb.StringValue) error {
	return g.Conn.Invoke(ctx, EchoMethod, value, new(wrapperspb.StringValue))
}

// Close stops the server and the client.
func (g *GRPCServer) Close() {
	g.Conn.Close()
	g.srv.Stop()
}

// UserRoute is the pattern of the benchmark HTTP route.
const UserRoute = "GET /users/{user}"

// Bare is the benchmark HTTP handler: 204 No Content.
var Bare = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusNoContent)
})

// HTTPHandler returns a mux that serves [UserRoute] with Bare behind stack.
func (s *Setup) HTTPHandler(stack string) (http.Handler, error) {
	h := http.Handler(Bare)
	switch stack {
	case StackNone:
	case StackPeer:
		h = s.Peer.Middleware(Bare)
	default:
		mw, err := httpauth.New(s.Manager(stack)).Compile(
			httpauth.ClaimFromPath("sub", "user"),
			httpauth.Scopes("read"),
		)
		if err != nil {
			return nil, err
		}
		h = mw(Bare)
	}
	mux := http.NewServeMux()
	mux.Handle(UserRoute, h)
	return mux, nil
}
