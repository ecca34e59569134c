package interceptor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/methodrules"
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
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&cfg)
		}
	}
	if err := cfg.check(v); err != nil {
		return nil, err
	}
	mo := methodrules.Options{
		Files:               cfg.files,
		PublicMethods:       cfg.publicMethods,
		PublicServices:      cfg.publicServices,
		AllowUnannotated:    cfg.allowUnannotated,
		HealthAndReflection: cfg.healthAndReflection,
		Expressions:         cfg.expressions,
	}
	table, err := methodrules.Build(mo)
	if err != nil {
		return nil, err
	}
	return &Interceptor{
		key:         strings.ToLower(cfg.metadataKey),
		table:       table,
		notDeclared: notDeclaredDenials(table),
		opts:        mo,
		decider: decide.Decider{
			Verifier: v,
			Hook:     cfg.hook,
			Recheck:  cfg.recheck,
			Now:      cfg.now,
		},
	}, nil
}

// check validates the options.
func (c *config) check(v manager.Verifier) error {
	errs := decide.Check(v, c.recheck)
	if c.nilFiles {
		errs = append(errs, errors.New("WithResolver: nil resolver"))
	}
	if !validMetadataKey(strings.ToLower(c.metadataKey)) {
		errs = append(errs, fmt.Errorf("WithMetadataKey: %q is not a usable metadata key", c.metadataKey))
	}
	errs = append(errs, methodrules.CheckNames(methodrules.Options{
		PublicMethods:  c.publicMethods,
		PublicServices: c.publicServices,
	}, "WithPublicMethods", "WithPublicServices")...)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", protojwt.ErrInvalidOption, errors.Join(errs...))
	}
	return nil
}

// validMetadataKey reports whether key can carry a bearer token: a
// non-empty, lower-case ASCII metadata key, not binary and not reserved.
func validMetadataKey(key string) bool {
	if key == "" || strings.HasSuffix(key, "-bin") || strings.HasPrefix(key, "grpc-") {
		return false
	}
	for j := 0; j < len(key); j++ {
		c := key[j]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
