package otelprotojwt

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Attribute keys of the procedure, as OpenTelemetry's semantic conventions
// name them.
const (
	keyRPCMethod  = attribute.Key("rpc.method")
	keyHTTPRoute  = attribute.Key("http.route")
	keyHTTPMethod = attribute.Key("http.request.method")
)

// other is the value of rpc.method for a method that is not recognized, as
// the semantic conventions require: the name is chosen by the caller and
// would make one series per name.
const other = "_OTHER"

// unrecognized says how a procedure that is not recognized is recorded.
type unrecognized uint8

const (
	recognized unrecognized = iota
	otherRPC                // rpc.method="_OTHER"
	otherHTTP               // no http.route
)

// procedures recognizes the procedures that decisions name and gives the
// attributes they are recorded with. It is immutable.
type procedures struct {
	files   *protoregistry.Files // nil: protoregistry.GlobalFiles
	methods map[string]bool
	routes  map[string][]attribute.KeyValue
}

func newProcedures(c *config) *procedures {
	p := &procedures{files: c.files, methods: map[string]bool{}, routes: map[string][]attribute.KeyValue{}}
	for _, name := range c.methods {
		p.methods[name] = true
	}
	for _, pattern := range c.routes {
		p.routes[pattern] = routeAttributes(pattern)
	}
	return p
}

// attributes returns the attributes of procedure: its route or method when
// it is recognized; otherwise none, and how to record it.
func (p *procedures) attributes(procedure string) ([]attribute.KeyValue, unrecognized) {
	if attrs, ok := p.routes[procedure]; ok {
		return attrs, recognized
	}
	if p.methods[procedure] || p.inResolver(procedure) {
		return []attribute.KeyValue{keyRPCMethod.String(procedure[1:])}, recognized
	}
	if strings.HasPrefix(procedure, "/") && !strings.ContainsAny(procedure, " \t") {
		return []attribute.KeyValue{keyRPCMethod.String(other)}, otherRPC
	}
	return nil, otherHTTP
}

// inResolver reports whether procedure is the full name
// ("/pkg.Service/Method") of a method of a service in the resolver.
func (p *procedures) inResolver(procedure string) bool {
	service, method, ok := splitMethod(procedure)
	if !ok {
		return false
	}
	files := p.files
	if files == nil {
		files = protoregistry.GlobalFiles
	}
	d, err := files.FindDescriptorByName(service)
	if err != nil {
		return false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	return ok && sd.Methods().ByName(method) != nil
}

// splitMethod splits a full method name "/pkg.Service/Method".
func splitMethod(procedure string) (protoreflect.FullName, protoreflect.Name, bool) {
	rest, ok := strings.CutPrefix(procedure, "/")
	if !ok {
		return "", "", false
	}
	service, method, ok := strings.Cut(rest, "/")
	s, m := protoreflect.FullName(service), protoreflect.Name(method)
	if !ok || !s.IsValid() || !m.IsValid() {
		return "", "", false
	}
	return s, m, true
}

// routeAttributes returns the attributes of a ServeMux pattern
// "[METHOD ][HOST]/[PATH]": http.route is its path, and
// http.request.method its method when it has one.
func routeAttributes(pattern string) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	rest := pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		attrs = append(attrs, keyHTTPMethod.String(pattern[:i]))
		rest = strings.TrimLeft(pattern[i:], " \t")
	}
	if i := strings.IndexByte(rest, '/'); i > 0 {
		rest = rest[i:] // the host is not part of the route
	}
	return append(attrs, keyHTTPRoute.String(rest))
}
