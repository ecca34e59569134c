package interceptor

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// ErrInvalidRule means a method's rule can't be enforced: the option can't
// be read, the rule is inconsistent (a claim with no value, public with
// other requirements, ...), or a claim names a request field path that does
// not exist or is not a singular scalar. New wraps it with the method's
// full name and the reason.
var ErrInvalidRule = rules.ErrInvalidRule

// ErrInvalidOption means an option given to New can't be used: a malformed
// method or service name, a public method or service that declares a rule,
// a nil resolver or manager, or a bad metadata key.
var ErrInvalidOption = errors.New("protojwt: invalid interceptor option")

// Interceptor enforces the protojwt rules of a set of gRPC services. New
// compiles every rule; Unary and Stream return the interceptors for
// grpc.NewServer. It is immutable and safe for concurrent use.
type Interceptor struct {
	m              *manager.Manager
	key            string            // metadata key of the bearer token
	methods        map[string]*entry // by full method name, "/pkg.Service/Method"
	publicServices map[string]bool   // WithPublicServices, for methods not in methods
	unknown        *entry            // methods neither in methods nor in publicServices
}

// entry is what a method needs, compiled.
type entry struct {
	rule   *rules.Rule // nil when the method declares no rule
	open   bool        // callable with no token: a public rule or an option
	fields *fieldSet   // accessors of rule.Vars(); nil when it binds none
}

var (
	openEntry       = &entry{open: true}
	undeclaredEntry = &entry{}
)

// New reads the rule of every method of every service in the resolver
// (protoregistry.GlobalFiles unless WithResolver says otherwise), and
// compiles it: a method's (protojwt.v1.rule), or else its service's
// (protojwt.v1.default_rule), with the request fields its claims name. Every
// method whose rule can't be compiled is reported, in one error that wraps
// ErrInvalidRule and names each method and field path; a bad option is an
// error wrapping ErrInvalidOption.
//
// Services registered after New are not in its table: their methods are
// denied as not declared unless an option opens them.
func New(m *manager.Manager, opts ...Option) (*Interceptor, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&cfg)
		}
	}
	if err := cfg.check(m); err != nil {
		return nil, err
	}
	i := &Interceptor{
		m:              m,
		key:            strings.ToLower(cfg.metadataKey),
		methods:        make(map[string]*entry),
		publicServices: make(map[string]bool, len(cfg.publicServices)),
		unknown:        undeclaredEntry,
	}
	if cfg.allowUnannotated {
		i.unknown = openEntry
	}
	publicMethods := make(map[string]bool, len(cfg.publicMethods))
	for _, name := range cfg.publicMethods {
		publicMethods[name] = true
	}
	for _, name := range cfg.publicServices {
		i.publicServices[name] = true
	}

	var errs []error
	for _, sd := range services(cfg.files) {
		errs = append(errs, i.addService(sd, publicMethods)...)
	}
	// Public methods the resolver does not know are opened by name.
	for name := range publicMethods {
		if _, ok := i.methods[name]; !ok {
			i.methods[name] = openEntry
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return i, nil
}

// services returns every service of files, sorted by full name so that
// errors come in a stable order.
func services(files *protoregistry.Files) []protoreflect.ServiceDescriptor {
	var all []protoreflect.ServiceDescriptor
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for j := range fd.Services().Len() {
			all = append(all, fd.Services().Get(j))
		}
		return true
	})
	sort.Slice(all, func(a, b int) bool { return all[a].FullName() < all[b].FullName() })
	return all
}

// addService compiles the entries of the methods of sd.
func (i *Interceptor) addService(sd protoreflect.ServiceDescriptor, publicMethods map[string]bool) []error {
	service := string(sd.FullName())
	def, hasDefault, err := annotations.ServiceDefaultRule(sd)
	if err != nil {
		return []error{&declError{"service " + service, fmt.Errorf("%w: %s", ErrInvalidRule, trimPrefix(err))}}
	}
	if hasDefault && i.publicServices[service] {
		return []error{fmt.Errorf("%w: WithPublicServices names %s, which has a default_rule", ErrInvalidOption, service)}
	}
	var errs []error
	for j := range sd.Methods().Len() {
		md := sd.Methods().Get(j)
		name := "/" + service + "/" + string(md.Name())
		rule, has, err := annotations.MethodRule(md)
		switch {
		case err != nil:
			errs = append(errs, &declError{"method " + name, fmt.Errorf("%w: %s", ErrInvalidRule, trimPrefix(err))})
			continue
		case !has && hasDefault:
			rule, has = def, true
		}
		switch {
		case has && publicMethods[name]:
			errs = append(errs, fmt.Errorf("%w: WithPublicMethods names %s, which has a rule", ErrInvalidOption, name))
		case has && i.publicServices[service]:
			errs = append(errs, fmt.Errorf("%w: WithPublicServices names %s, whose method %s has a rule", ErrInvalidOption, service, name))
		case has:
			e, err := compile(md, rule)
			if err != nil {
				errs = append(errs, &declError{"method " + name, err})
				continue
			}
			i.methods[name] = e
		case publicMethods[name] || i.publicServices[service]:
			i.methods[name] = openEntry
		default:
			i.methods[name] = i.unknown
		}
	}
	return errs
}

// compile compiles the rule of the method md.
func compile(md protoreflect.MethodDescriptor, p *annotations.Rule) (*entry, error) {
	r, err := rules.FromProto(p)
	if err != nil {
		return nil, err
	}
	e := &entry{rule: r, open: r.Public()}
	if len(r.Vars()) > 0 {
		e.fields, err = compileFields(md.Input(), r.Vars())
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// lookup returns the entry of a called method: one map lookup for the
// methods of the resolver.
func (i *Interceptor) lookup(fullMethod string) *entry {
	if e, ok := i.methods[fullMethod]; ok {
		return e
	}
	if len(i.publicServices) > 0 {
		if service, _, ok := splitMethod(fullMethod); ok && i.publicServices[service] {
			return openEntry
		}
	}
	return i.unknown
}

// declError is a method or service whose rule New can't compile.
type declError struct {
	where string // "method /pkg.Service/Method" or "service pkg.Service"
	err   error
}

func (e *declError) Error() string { return "protojwt: " + e.where + ": " + trimPrefix(e.err) }

func (e *declError) Unwrap() error { return e.err }

// trimPrefix returns the message of err without the package prefix, which
// the wrapping error has already written.
func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "protojwt: ") }

// check validates the options.
func (c *config) check(m *manager.Manager) error {
	var errs []error
	if m == nil {
		errs = append(errs, errors.New("nil manager"))
	}
	if c.nilFiles {
		errs = append(errs, errors.New("WithResolver: nil resolver"))
	}
	if !validMetadataKey(strings.ToLower(c.metadataKey)) {
		errs = append(errs, fmt.Errorf("WithMetadataKey: %q is not a usable metadata key", c.metadataKey))
	}
	for _, name := range c.publicMethods {
		if _, _, ok := splitMethod(name); !ok {
			errs = append(errs, fmt.Errorf("WithPublicMethods: %q is not a full method name \"/package.Service/Method\"", name))
		}
	}
	for _, name := range c.publicServices {
		if !protoreflect.FullName(name).IsValid() {
			errs = append(errs, fmt.Errorf("WithPublicServices: %q is not a full service name \"package.Service\"", name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidOption, errors.Join(errs...))
	}
	return nil
}

// splitMethod splits "/package.Service/Method" into its service and method.
func splitMethod(fullMethod string) (service, method string, ok bool) {
	rest, found := strings.CutPrefix(fullMethod, "/")
	if !found {
		return "", "", false
	}
	service, method, found = strings.Cut(rest, "/")
	if !found || !protoreflect.FullName(service).IsValid() || !protoreflect.Name(method).IsValid() {
		return "", "", false
	}
	return service, method, true
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
