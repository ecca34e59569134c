package interceptor

import (
	"google.golang.org/protobuf/reflect/protoregistry"
)

// defaultMetadataKey is the metadata key read for the bearer token when
// WithMetadataKey is not given.
const defaultMetadataKey = "authorization"

// An Option changes how New builds an Interceptor. Options are applied in
// order; New reports an option with a bad value as an error wrapping
// ErrInvalidOption.
type Option interface {
	apply(*config)
}

// optionFunc adapts a function to Option.
type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the options set, checked by New.
type config struct {
	files            *protoregistry.Files
	nilFiles         bool
	publicMethods    []string
	publicServices   []string
	allowUnannotated bool
	metadataKey      string
}

func defaultConfig() config {
	return config{
		files:       protoregistry.GlobalFiles,
		metadataKey: defaultMetadataKey,
	}
}

// WithResolver makes New read the services, methods and rules of files
// instead of the global registry, such as descriptors loaded at run time
// from a descriptor set. Methods that files does not describe are not
// declared, so they are denied unless opened by another option. A nil files
// is an error. By default, New reads protoregistry.GlobalFiles: every
// service whose generated Go package the program imports.
func WithResolver(files *protoregistry.Files) Option {
	return optionFunc(func(c *config) {
		c.files = files
		c.nilFiles = files == nil
	})
}

// WithPublicMethods lets the named methods be called with no token, like a
// rule with public: true. Names are full method names as gRPC writes them,
// "/package.Service/Method". A malformed name is an error, and so is a name
// of a method that has a rule (its own or its service's default rule): the
// option would contradict the .proto file. A method the resolver does not
// know may be named: it is opened all the same. The option may be given
// several times. By default, no method is opened this way.
func WithPublicMethods(fullMethods ...string) Option {
	return optionFunc(func(c *config) {
		c.publicMethods = append(c.publicMethods, fullMethods...)
	})
}

// WithPublicServices lets every method of the named services be called with
// no token, as health checking ("grpc.health.v1.Health") and reflection
// ("grpc.reflection.v1.ServerReflection") want. Names are full service
// names, "package.Service". A malformed name is an error, and so is the name
// of a service that has a default rule or a method with a rule. A service
// the resolver does not know may be named: its methods are opened all the
// same. The option may be given several times. By default, no service is
// opened this way.
func WithPublicServices(services ...string) Option {
	return optionFunc(func(c *config) {
		c.publicServices = append(c.publicServices, services...)
	})
}

// AllowUnannotated lets every method that has no rule (neither its own nor a
// default rule of its service) be called with no token, including methods
// the resolver does not know. It turns protojwt's fail-closed default into
// fail-open for undeclared methods; prefer WithPublicMethods and
// WithPublicServices, which name what they open. By default, a method with
// no rule is denied with codes.Unauthenticated and reason
// METHOD_NOT_DECLARED.
func AllowUnannotated() Option {
	return optionFunc(func(c *config) {
		c.allowUnannotated = true
	})
}

// WithMetadataKey makes the interceptors read the bearer token from the
// incoming metadata key instead of "authorization". The key is lower-cased,
// as gRPC metadata keys are; it must be a valid ASCII metadata key that is
// neither binary (ending in "-bin") nor reserved (starting with "grpc-").
// The value must still be "Bearer <jwt>", the scheme case-insensitive. By
// default, the key is "authorization".
func WithMetadataKey(key string) Option {
	return optionFunc(func(c *config) {
		c.metadataKey = key
	})
}
