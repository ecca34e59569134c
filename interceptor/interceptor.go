package interceptor

import (
	"strings"

	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rpcconfig"
	"github.com/protojwt/protojwt/manager"
)

// Interceptor enforces the protojwt rules of a set of gRPC services. New
// compiles every rule; Unary and Stream return the interceptors for
// grpc.NewServer. It is immutable and safe for concurrent use.
type Interceptor struct {
	key         string // metadata key of the bearer token
	table       *methodrules.Table
	notDeclared map[string]error // denials naming the undeclared methods
	decider     decide.Decider
	opts        methodrules.Options // the names the options gave, for CheckServer
}

// New reads the rule of every method of every service in the resolver
// (protoregistry.GlobalFiles unless WithResolver says otherwise), and
// compiles it: a method's (protojwt.v1.rule), or else its service's
// (protojwt.v1.default_rule), with the request fields it names. Every rule
// that can't be compiled is reported, in one error that joins a
// *protojwt.RuleError (wrapping protojwt.ErrInvalidRule) per method or
// service, naming it and the field path at fault; a bad option is an error
// wrapping protojwt.ErrInvalidOption. v verifies the tokens: a
// *manager.Manager, a *manager.Issuers, or any manager.Verifier.
//
// Services registered after New are not in its table: their methods are
// denied as not declared unless an option opens them. CheckServer finds
// them once the server's services are registered.
func New(v manager.Verifier, opts ...Option) (*Interceptor, error) {
	cfg := rpcconfig.Default(defaultMetadataKey)
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&cfg)
		}
	}
	table, decider, err := cfg.Build(v, rpcconfig.Names{
		PublicMethods: "WithPublicMethods",
		Key:           "WithMetadataKey",
		KeyKind:       "metadata key",
		ValidKey:      rpcconfig.ValidMetadataKey,
	})
	if err != nil {
		return nil, err
	}
	return &Interceptor{
		key:         strings.ToLower(cfg.Key),
		table:       table,
		notDeclared: notDeclaredDenials(table),
		opts:        cfg.Rules,
		decider:     decider,
	}, nil
}
