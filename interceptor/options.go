package interceptor

import (
	"context"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rpcadapter"
)

// defaultMetadataKey is the metadata key read for the bearer token when
// [WithMetadataKey] is not given.
const defaultMetadataKey = "authorization"

// An Option changes how New builds an Interceptor. Options are applied in
// order; New reports an option with a bad value as an error wrapping
// [protojwt.ErrInvalidOption].
type Option interface {
	apply(*rpcadapter.Config)
}

// setting is an Option: what it does is written once, in the core both
// RPC adapters share, and documented here.
type setting rpcadapter.Setting

func (s setting) apply(c *rpcadapter.Config) { s(c) }

// WithResolver makes New read the services, methods and rules of files
// instead of the global registry, such as descriptors loaded at run time
// from a descriptor set. Methods that files does not describe are not
// declared, so they are denied unless opened by another option. A nil files
// is an error. By default, New reads [protoregistry.GlobalFiles]: every
// service whose generated Go package the program imports.
func WithResolver(files *protoregistry.Files) Option {
	return setting(rpcadapter.Resolver(files))
}

// WithPublicMethods lets the named methods be called with no token, like a
// rule with public: true. Names are full method names as gRPC writes them,
// "/package.Service/Method". A malformed name is an error, and so is a name
// of a method that has a rule (its own or its service's default rule): the
// option would contradict the .proto file. A name that is no method of
// the resolver is an error too, naming the nearest method when one is
// close: a misspelling would leave the method it meant denied. The methods
// of [HealthAndReflection] may be named all the same. The option may be
// given several times. By default, no method is opened this way.
func WithPublicMethods(fullMethods ...string) Option {
	return setting(rpcadapter.PublicMethods(fullMethods))
}

// WithPublicServices lets every method of the named services be called with
// no token, as health checking ("grpc.health.v1.Health") and reflection
// ("grpc.reflection.v1.ServerReflection") want. Names are full service
// names, "package.Service". A malformed name is an error, and so is the name
// of a service that has a default rule or a method with a rule, or of a
// service the resolver does not know, except those of
// [HealthAndReflection]; the error names the nearest service when one is
// close. The option may be given several times. By default, no service is
// opened this way.
func WithPublicServices(services ...string) Option {
	return setting(rpcadapter.PublicServices(services))
}

// AllowUnannotated lets every method that has no rule (neither its own nor a
// default rule of its service) be called with no token, including methods
// the resolver does not know. It turns protojwt's fail-closed default into
// fail-open for undeclared methods; prefer [WithPublicMethods] and
// [WithPublicServices], which name what they open. By default, a method with
// no rule is denied with [codes.PermissionDenied] and reason
// METHOD_NOT_DECLARED, whose message names the method.
func AllowUnannotated() Option {
	return setting(rpcadapter.AllowUnannotated())
}

// WithMetadataKey makes the interceptors read the bearer token from the
// incoming metadata key instead of "authorization". The key is lower-cased,
// as gRPC metadata keys are; it must be a valid ASCII metadata key that is
// neither binary (ending in "-bin") nor reserved (starting with "grpc-").
// The value must still be "Bearer <jwt>" (or "DPoP <jwt>", see [WithDPoP]),
// the scheme case-insensitive. By default, the key is "authorization".
func WithMetadataKey(key string) Option {
	return setting(rpcadapter.Key(key))
}

// HealthAndReflection are the services that load balancers and tools such
// as grpcurl call without a token: gRPC health checking and server
// reflection (both versions).
var HealthAndReflection = methodrules.HealthAndReflection()

// WithHealthAndReflection opens the services of [HealthAndReflection], as
// WithPublicServices([HealthAndReflection]...) does: one line for the
// services every server registers next to its own. CheckServer does not
// require them all to be registered. By default, they are not opened.
func WithHealthAndReflection() Option {
	return setting(rpcadapter.HealthAndReflection())
}

// WithExpressions compiles the expr of rules with x, as
// celexpr.New() provides (module github.com/protojwt/protojwt/celexpr). A
// rule with an expr makes New fail unless this option is given, so that no
// expression is ever silently ignored. A nil x is ignored. By default, New
// has no expression engine.
func WithExpressions(x protojwt.Expressions) Option {
	return setting(rpcadapter.Expressions(x))
}

// WithDecisionHook calls hook with every decision the interceptors make:
// once per call, allowed or denied (public and opened methods included),
// and once per received stream message whose check reads the request or
// denies it. The hook runs on the call's goroutine, before the handler or
// the denial: keep it fast, and never let it modify the Decision's token.
// Package otelprotojwt records decisions as OpenTelemetry metrics; an audit
// log is a hook that writes the denials. Several hooks may be given; they
// are called in order. By default, there is no hook and deciding measures
// nothing.
func WithDecisionHook(hook func(context.Context, protojwt.Decision)) Option {
	return setting(rpcadapter.DecisionHook(hook))
}

// WithStreamRecheck sets how often an open stream verifies its token again,
// revocation included, when it receives a message: a token revoked (or a
// subject signed out) while a stream is open is refused within d. The
// token's expiry is checked on every message regardless. A d of zero
// verifies the token on every message (each one a revocation store call); a
// negative d is an error. By default, streams verify again every minute.
func WithStreamRecheck(d time.Duration) Option {
	return setting(rpcadapter.StreamRecheck(d))
}

// WithDetailedErrors puts the text of a denial's cause ([protojwt.Decision]
// Err: which claim, scope or check failed, why the token did not verify)
// into the status message clients read, after the reason's fixed text. It
// is for development: do not use it in production, where the cause tells
// a caller how your tokens are checked. The text never holds the token or
// key material; the code and the ErrorInfo reason are the same with or
// without it. By default, a denial's message is the reason's fixed text
// ("claim mismatch") and the cause goes only to decision hooks.
func WithDetailedErrors() Option {
	return setting(rpcadapter.DetailedErrors())
}

// withClock sets the clock of stream checks, for tests.
func withClock(now func() time.Time) Option {
	return setting(rpcadapter.Clock(now))
}

// WithDryRun decides and reports every call, and enforces none: a call
// that would be denied goes on, and the decision hook
// ([WithDecisionHook]) gets it with [protojwt.Decision] DryRun set,
// Allowed true and the Reason and Err enforcing would have given. It is
// how protojwt is turned on in front of a running service: watch the
// would-be denials (otelprotojwt counts them apart), fix rules or
// clients, then remove the option. Everything is decided as when
// enforcing, by Unary and Stream, a method that declares no rule
// (METHOD_NOT_DECLARED) and each message of a stream included; the handler
// sees a token ([manager.FromContext]) only when it verified, whatever the
// rule thought of its claims or type; a method without a rule runs
// without one. CheckServer no longer reports methods
// without a rule, which are not denied. A rule's own dry_run does the same
// for the calls of that rule. By default, every rule is enforced.
func WithDryRun() Option {
	return setting(rpcadapter.DryRun())
}

// WithRuleSet gives rules to methods whose .proto declares none, for
// services you can't annotate (googleapis, third-party or generated
// services): set's methods entries by full method name
// ("/pkg.Service/Method"), its services entries as the default rule of a
// service ("pkg.Service"), read from a text file with
// [annotations.ReadRuleSet]. They are compiled and checked when New
// builds the interceptor, as annotations are: a name that is no method
// or service of the resolver is an error wrapping
// [protojwt.ErrInvalidOption] that suggests the nearest one, a bad rule
// or field path a [*protojwt.RuleError]. A method has one source of rules:
// one ruled by its options (its own rule or its service's default_rule)
// that set also names, by itself or by its service, is a
// [*protojwt.RuleError] (see [annotations.EffectiveRuleIn]). A later
// [WithRuleSet] replaces an earlier one. By default, rules come only from
// the resolver's options.
func WithRuleSet(set *annotations.RuleSet) Option {
	return setting(rpcadapter.RuleSet(set))
}
