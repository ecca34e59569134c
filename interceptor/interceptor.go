package interceptor

import (
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/protojwt/protojwt/internal/rpcadapter"
	"github.com/protojwt/protojwt/manager"
)

// Interceptor enforces the protojwt rules of a set of gRPC services. New
// compiles every rule; ServerOptions returns both interceptors for
// [grpc.NewServer] (Unary and Stream return them one by one). Its rules are
// fixed by New; it only records which interceptors were taken, for
// CheckServer. It is safe for concurrent use.
type Interceptor struct {
	key  string // metadata key of the bearer token
	core rpcadapter.Core[error]
	// unaryTaken and streamTaken record whether Unary and Stream were
	// called, so that CheckServer finds the kind of method left unguarded.
	unaryTaken, streamTaken atomic.Bool
}

// New reads the rule of every method of every service in the resolver
// ([protoregistry.GlobalFiles] unless [WithResolver] says otherwise), and
// compiles it: a method's (protojwt.v1.rule), or else its service's
// (protojwt.v1.default_rule), with the request fields it names. Every rule
// that can't be compiled is reported, in one error that joins a
// *[protojwt.RuleError] (wrapping [protojwt.ErrInvalidRule]) per method or
// service, naming it and the field path at fault; a bad option is an error
// wrapping [protojwt.ErrInvalidOption]. v verifies the tokens: a
// *[manager.Manager], a *[manager.Issuers], or any [manager.Verifier].
//
//	auth, err := interceptor.New(m)
//	if err != nil {
//		log.Fatal(err)
//	}
//	s := grpc.NewServer(auth.ServerOptions()...)
//
// Services registered after New are not in its table: their methods are
// denied as not declared unless an option opens them. CheckServer finds
// them once the server's services are registered.
func New(v manager.Verifier, opts ...Option) (*Interceptor, error) {
	cfg := rpcadapter.Default(defaultMetadataKey)
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&cfg)
		}
	}
	core, err := rpcadapter.New(&cfg, v, rpcadapter.Names{
		PublicMethods: "WithPublicMethods",
		Key:           "WithMetadataKey",
		KeyKind:       "metadata key",
		ValidKey:      rpcadapter.ValidMetadataKey,
		Noun:          "method",
	}, denials)
	if err != nil {
		return nil, err
	}
	return &Interceptor{key: strings.ToLower(core.Key), core: *core}, nil
}

// ServerOptions returns the options that install both interceptors on a
// server, chained after any interceptor given before them and before any
// given after: grpc.ChainUnaryInterceptor(i.Unary()) and
// grpc.ChainStreamInterceptor(i.Stream()). A server given only Unary leaves
// every streaming method open; these options guard both kinds.
//
//	s := grpc.NewServer(auth.ServerOptions()...)
func (i *Interceptor) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(i.Unary()),
		grpc.ChainStreamInterceptor(i.Stream()),
	}
}
