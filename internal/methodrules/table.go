// Package methodrules compiles the rules of every method of a set of proto
// services into a table, once, for the adapters that serve RPCs by full
// method name: the gRPC interceptor and the connect interceptor. A call
// then costs one map lookup and precomputed field accessors.
package methodrules

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/rules"
)

// Options are what an adapter's options say about its table.
type Options struct {
	// Files holds the services whose rules are read.
	Files *protoregistry.Files
	// PublicMethods are opened by name ("/pkg.Service/Method").
	PublicMethods []string
	// PublicServices are opened by name ("pkg.Service").
	PublicServices []string
	// AllowUnannotated opens every method with no rule.
	AllowUnannotated bool
	// HealthAndReflection opens the services of [HealthAndReflection], in
	// addition to PublicServices.
	HealthAndReflection bool
	// Expressions compiles the rules' expressions; nil refuses them.
	Expressions protojwt.Expressions
	// RuleSet gives rules to methods and services whose options declare
	// none ([annotations.EffectiveRuleIn]); nil for none.
	RuleSet *annotations.RuleSet
	// MethodsOption names the adapter's option that sets PublicMethods in
	// errors: "WithPublicProcedures" for connect; "" for
	// "WithPublicMethods".
	MethodsOption string
}

// Table is the compiled rules of every method. It is immutable.
type Table struct {
	methods        map[string]*Entry // by full method name, "/pkg.Service/Method"
	publicServices map[string]bool   // for methods not in methods
	unknown        *Entry            // methods neither in methods nor in publicServices
}

// Entry is what a method needs, compiled.
type Entry struct {
	// Rule is nil when the method declares no rule and is not open.
	Rule *rules.Rule
	// Open is true for a method callable with no token: a public rule, or
	// one opened by an option.
	Open   bool
	fields *fieldSet // accessors of Rule.Vars(); nil when it binds none
}

var (
	openEntry       = &Entry{Open: true}
	undeclaredEntry = &Entry{}
)

// Build compiles the rule of every method of every service of o.Files: a
// method's (protojwt.v1.rule), or else its service's
// (protojwt.v1.default_rule), with the request fields it names. It returns
// every problem at once: a *[protojwt.RuleError] per method or service whose
// rule can't be compiled, and an error wrapping [protojwt.ErrInvalidOption]
// per option that contradicts a rule.
func Build(o Options) (*Table, error) {
	t := &Table{
		methods:        make(map[string]*Entry),
		publicServices: make(map[string]bool, len(o.PublicServices)),
		unknown:        undeclaredEntry,
	}
	if o.AllowUnannotated {
		t.unknown = openEntry
	}
	publicMethods := make(map[string]bool, len(o.PublicMethods))
	for _, name := range o.PublicMethods {
		publicMethods[name] = true
	}
	for _, name := range o.PublicServices {
		t.publicServices[name] = true
	}
	if o.HealthAndReflection {
		for _, name := range HealthAndReflection() {
			t.publicServices[name] = true
		}
	}
	var errs []error
	methodsOption := o.MethodsOption
	if methodsOption == "" {
		methodsOption = "WithPublicMethods"
	}
	for _, sd := range Services(o.Files) {
		errs = append(errs, t.addService(sd, publicMethods, methodsOption, o.Expressions, o.RuleSet)...)
	}
	// Public methods the resolver does not know are opened by name.
	for name := range publicMethods {
		if _, ok := t.methods[name]; !ok {
			t.methods[name] = openEntry
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// Services returns every service of files, sorted by full name so that
// errors come in a stable order.
func Services(files *protoregistry.Files) []protoreflect.ServiceDescriptor {
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
func (t *Table) addService(sd protoreflect.ServiceDescriptor, publicMethods map[string]bool, methodsOption string, x protojwt.Expressions, set *annotations.RuleSet) []error {
	service := string(sd.FullName())
	if _, _, err := annotations.ServiceDefaultRule(sd); err != nil {
		return []error{&protojwt.RuleError{Procedure: service, Err: fmt.Errorf("%w: %s", protojwt.ErrInvalidRule, trimPrefix(err))}}
	}
	var errs []error
	for j := range sd.Methods().Len() {
		md := sd.Methods().Get(j)
		name := FullMethod(md)
		rule, source, err := annotations.EffectiveRuleIn(md, set)
		has := source != annotations.SourceNone
		var conflict *protojwt.RuleError
		switch {
		case errors.As(err, &conflict):
			errs = append(errs, conflict)
		case err != nil:
			errs = append(errs, &protojwt.RuleError{Procedure: name, Err: fmt.Errorf("%w: %s", protojwt.ErrInvalidRule, trimPrefix(err))})
		case has && publicMethods[name]:
			errs = append(errs, fmt.Errorf("%w: %s names %s, which has a rule", protojwt.ErrInvalidOption, methodsOption, name))
		case has && t.publicServices[service]:
			errs = append(errs, fmt.Errorf("%w: WithPublicServices names %s, whose method %s has a rule", protojwt.ErrInvalidOption, service, name))
		case has:
			e, err := compile(md, rule, x)
			if fromSet := source == annotations.SourceRuleSetMethod || source == annotations.SourceRuleSetService; fromSet && err != nil {
				err = ruleSetError(err)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.methods[name] = e
		case publicMethods[name] || t.publicServices[service]:
			t.methods[name] = openEntry
		default:
			t.methods[name] = t.unknown
		}
	}
	return errs
}

// compile compiles the rule of the method md; an error is a
// *[protojwt.RuleError].
func compile(md protoreflect.MethodDescriptor, p *annotations.Rule, x protojwt.Expressions) (*Entry, error) {
	name := FullMethod(md)
	r, err := rules.FromProtoEnv(p, rules.Env{Expressions: x, Request: md.Input()})
	if err != nil {
		return nil, &protojwt.RuleError{Procedure: name, Err: err}
	}
	e := &Entry{Rule: r, Open: r.Public()}
	if len(r.Vars()) > 0 || r.ReadsRequest() {
		e.fields, err = compileFields(md.Input(), r.Vars())
		if err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				return nil, &protojwt.RuleError{Procedure: name, Field: fe.path, Err: fe.err}
			}
			return nil, &protojwt.RuleError{Procedure: name, Err: err}
		}
	}
	return e, nil
}

// ruleSetError says that the rule of err, a *[protojwt.RuleError], came from
// the rule set.
func ruleSetError(err error) error {
	var re *protojwt.RuleError
	if !errors.As(err, &re) {
		return err
	}
	return &protojwt.RuleError{Procedure: re.Procedure, Field: re.Field, Err: fmt.Errorf("rule set: %w", re.Err)}
}

// FullMethod returns the name gRPC gives md: "/pkg.Service/Method".
func FullMethod(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// Lookup returns the entry of a called method: one map lookup for the
// methods of the resolver.
func (t *Table) Lookup(fullMethod string) *Entry {
	if e, ok := t.methods[fullMethod]; ok {
		return e
	}
	if len(t.publicServices) > 0 {
		if service, _, ok := SplitMethod(fullMethod); ok && t.publicServices[service] {
			return openEntry
		}
	}
	return t.unknown
}

// Undeclared returns the methods of the resolver that declare no rule and
// are not opened: every call of theirs is denied.
func (t *Table) Undeclared() []string {
	var names []string
	for name, e := range t.methods {
		if e == undeclaredEntry {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Vars returns the request variables of req for e's rule, none when the
// rule reads none.
func (e *Entry) Vars(req any) rules.Vars {
	if e.fields == nil {
		return rules.Vars{}
	}
	return rules.VarsOf(e.fields, req)
}

// trimPrefix returns the message of err without the package prefix, which
// the wrapping error has already written.
func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "protojwt: ") }

// SplitMethod splits "/package.Service/Method" into its service and method.
func SplitMethod(fullMethod string) (service, method string, ok bool) {
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
