package connectauth

import (
	"context"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rpcadapter"
)

// defaultHeader is the request header read for the bearer token when
// [WithHeader] is not given.
const defaultHeader = "Authorization"

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

// WithResolver makes New read the services, procedures and rules of files
// instead of the global registry, such as descriptors loaded at run time
// from a descriptor set. Procedures that files does not describe are not
// declared, so they are denied unless opened by another option. A nil files
// is an error. By default, New reads [protoregistry.GlobalFiles]: every
// service whose generated Go package the program imports.
func WithResolver(files *protoregistry.Files) Option {
	return setting(rpcadapter.Resolver(files))
}

// WithPublicProcedures lets the named procedures be called with no token,
// like a rule with public: true. Names are full procedure names as connect
// writes them, "/package.Service/Method" (the generated
// ...Procedure constants). A malformed name is an error, and so is the
// name of a procedure that has a rule (its own or its service's default
// rule): the option would contradict the .proto file. A name that is no
// procedure of the resolver is an error too, naming the nearest procedure
// when one is close: a misspelling would leave the procedure it meant
// denied. The procedures of [HealthAndReflection] may be named all the
// same. The option may be given several times. By default, no procedure
// is opened this way.
//
// It is interceptor.WithPublicMethods under connect's word for a method: a
// procedure, as connect's generated ...Procedure constants name them.
func WithPublicProcedures(procedures ...string) Option {
	return setting(rpcadapter.PublicMethods(procedures))
}

// WithPublicServices lets every procedure of the named services be called
// with no token, as health checking ("grpc.health.v1.Health", which
// connectrpc.com/grpchealth serves) and reflection want. Names are full
// service names, "package.Service". A malformed name is an error, and so is
// the name of a service that has a default rule or a method with a rule,
// or of a service the resolver does not know, except those of
// [HealthAndReflection]; the error names the nearest service when one is
// close. The option may be given several times. By default, no service is
// opened this way.
func WithPublicServices(services ...string) Option {
	return setting(rpcadapter.PublicServices(services))
}

// AllowUnannotated lets every procedure that has no rule (neither its own
// nor a default rule of its service) be called with no token, including
// procedures the resolver does not know. It turns protojwt's fail-closed
// default into fail-open for undeclared procedures; prefer
// [WithPublicProcedures] and [WithPublicServices], which name what they open.
// By default, a procedure with no rule is denied with
// [connect.CodePermissionDenied] and reason METHOD_NOT_DECLARED, whose
// message names the procedure.
func AllowUnannotated() Option {
	return setting(rpcadapter.AllowUnannotated())
}

// WithHeader makes the interceptor read the bearer token from the request
// header name instead of "Authorization"; under the gRPC protocol, that is
// the metadata key of the lower-cased name. Header names are
// case-insensitive. The name must be a valid metadata key (letters, digits,
// '-', '_', '.'), neither binary (ending in "-bin") nor reserved by a
// protocol (starting with "grpc-" or "connect-", or one of the headers
// connect itself reads). The value must still be "Bearer <jwt>" (or
// "DPoP <jwt>", see [WithDPoP]), the scheme case-insensitive. By default,
// the header is "Authorization".
//
// It is interceptor.WithMetadataKey for connect, named for what a connect
// handler reads, an HTTP header, under every protocol.
func WithHeader(name string) Option {
	return setting(rpcadapter.Key(name))
}

// HealthAndReflection are the services that load balancers and tools such
// as grpcurl and buf curl call without a token: gRPC health checking and
// server reflection (both versions), which connectrpc.com/grpchealth and
// connectrpc.com/grpcreflect serve.
var HealthAndReflection = methodrules.HealthAndReflection()

// WithHealthAndReflection opens the services of [HealthAndReflection], as
// WithPublicServices([HealthAndReflection]...) does: one line for the
// services every server mounts next to its own. By default, they are not
// opened.
func WithHealthAndReflection() Option {
	return setting(rpcadapter.HealthAndReflection())
}

// WithExpressions compiles the expr of rules with x, as celexpr.New()
// provides (module github.com/protojwt/protojwt/celexpr). A rule with an
// expr makes New fail unless this option is given, so that no expression
// is ever silently ignored. A nil x is ignored. By default, New has no
// expression engine.
func WithExpressions(x protojwt.Expressions) Option {
	return setting(rpcadapter.Expressions(x))
}

// WithDecisionHook calls hook with every decision the interceptor makes:
// once per call, allowed or denied (public and opened procedures included),
// and once per received stream message whose check reads the request or
// denies it. The hook runs on the call's goroutine, before the handler or
// the denial: keep it fast, and never let it modify the Decision's token.
// Several hooks may be given; they are called in order. By default, there
// is no hook and deciding measures nothing.
func WithDecisionHook(hook func(context.Context, protojwt.Decision)) Option {
	return setting(rpcadapter.DecisionHook(hook))
}

// WithStreamRecheck sets how often an open stream verifies its token again,
// revocation included, when it receives a message: a token revoked (or a
// subject signed out) while a stream is open is refused within d. The
// token's expiry is checked on every received message regardless. A d of
// zero verifies the token on every message (each one a revocation store
// call); a negative d is an error. By default, streams verify again every
// minute.
func WithStreamRecheck(d time.Duration) Option {
	return setting(rpcadapter.StreamRecheck(d))
}

// WithDetailedErrors puts the text of a denial's cause ([protojwt.Decision]
// Err: which claim, scope or check failed, why the token did not verify)
// into the message of the *[connect.Error] clients read, after the reason's
// fixed text. It is for development: do not use it in production, where
// the cause tells a caller how your tokens are checked. The text never
// holds the token or key material; the code and the ErrorInfo reason are
// the same with or without it. By default, a denial's message is the
// reason's fixed text ("claim mismatch") and the cause goes only to
// decision hooks.
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
// enforcing, by the interceptor and Wrap, a procedure that declares no rule
// (METHOD_NOT_DECLARED) and each message of a stream included; the handler
// sees a token ([manager.FromContext]) only when it verified, whatever the
// rule thought of its claims or type; a procedure without a rule runs
// without one. CheckHandlers no longer reports procedures
// without a rule, which are not denied. A rule's own dry_run does the same
// for the calls of that rule. By default, every rule is enforced.
func WithDryRun() Option {
	return setting(rpcadapter.DryRun())
}

// WithRuleSet gives rules to procedures whose .proto declares none, for
// services you can't annotate (googleapis, third-party or generated
// services): set's methods entries by full method name
// ("/pkg.Service/Method"), its services entries as the default rule of a
// service ("pkg.Service"), read from a text file with
// [annotations.ReadRuleSet]. They are compiled and checked when New
// builds the interceptor, as annotations are: a name that is no procedure
// or service of the resolver is an error wrapping
// [protojwt.ErrInvalidOption] that suggests the nearest one, a bad rule
// or field path a [*protojwt.RuleError]. A procedure has one source of rules:
// one ruled by its options (its own rule or its service's default_rule)
// that set also names, by itself or by its service, is a
// [*protojwt.RuleError] (see [annotations.EffectiveRuleIn]). A later
// [WithRuleSet] replaces an earlier one. By default, rules come only from
// the resolver's options.
func WithRuleSet(set *annotations.RuleSet) Option {
	return setting(rpcadapter.RuleSet(set))
}
