package otelprotojwt

import (
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Option configures New.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	meterProvider metric.MeterProvider // nil: the global one, read by New
	files         *protoregistry.Files
	methods       []string
	routes        []string
}

// WithMeterProvider sets the provider of the meter that records every
// metric. A nil provider is ignored. By default, New uses the global
// provider ([otel.GetMeterProvider]) as it is when New is called.
func WithMeterProvider(p metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.meterProvider = p
		}
	})
}

// WithResolver sets the files whose services' methods are recognized: a
// decision about one of them is recorded with its name, any other gRPC or
// connect method as "_OTHER". Give the interceptor's own [WithResolver] files
// when it has them. A nil resolver is ignored. By default, the methods of
// every service in [protoregistry.GlobalFiles], looked up when a method is
// first seen, so that services registered after New count too.
func WithResolver(files *protoregistry.Files) Option {
	return optionFunc(func(c *config) {
		if files != nil {
			c.files = files
		}
	})
}

// WithMethods adds full gRPC method names ("/pkg.Service/Method") to the
// recognized methods, for services the resolver does not describe. By
// default, only the resolver's methods are recognized.
func WithMethods(names ...string) Option {
	return optionFunc(func(c *config) { c.methods = append(c.methods, names...) })
}

// WithRoutes sets the HTTP routes recorded by name: ServeMux patterns
// exactly as httpauth reports them, the pattern a route was registered
// with ("GET /users/{id}"). A decision about a route not listed is
// recorded without the http.route attribute, so that the paths of
// requests served without a pattern never become attribute values. By
// default, no route is recorded by name.
func WithRoutes(patterns ...string) Option {
	return optionFunc(func(c *config) { c.routes = append(c.routes, patterns...) })
}
