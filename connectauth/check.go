package connectauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/methodrules"
)

// CheckHandlers compares the interceptor with the handlers a server
// mounts, given by the paths it mounts them at: a service's path as
// connect's generated New...Handler functions return it
// ("/package.Service/", as do grpchealth.NewHandler and grpcreflect's), or
// one procedure's ("/package.Service/Method", as [connect.NewUnaryHandler]
// serves it). A service path serves every method the resolver describes.
// It reports in one error wrapping [protojwt.ErrInvalidOption] every
// mistake that would otherwise show only at the first call: a procedure
// served that declares no rule and is not opened (every call would be
// denied with METHOD_NOT_DECLARED), a service mounted that the resolver
// does not describe and no option opens, a name given to
// [WithPublicProcedures] or [WithPublicServices] that no mounted handler
// serves, and a path that is neither. Call it in main after mounting
// every handler and before serving, and stop when it fails:
//
//	path, handler := pbconnect.NewOrdersServiceHandler(srv, connect.WithInterceptors(auth))
//	mux.Handle(path, handler)
//	healthPath, health := grpchealth.NewHandler(checker, connect.WithInterceptors(auth))
//	mux.Handle(healthPath, health)
//	if err := auth.CheckHandlers(path, healthPath); err != nil {
//		log.Fatal(err)
//	}
//
// With [AllowUnannotated], procedures without a rule are open and not
// reported; with [WithDryRun], they are reported to the hook at each call and
// not denied, and not reported here either. It is what interceptor's CheckServer is for grpc-go: a connect
// mux can't list its handlers, so the paths are given.
func (i *Interceptor) CheckHandlers(paths ...string) error {
	var errs []error
	served := make(map[string]bool)   // procedures
	services := make(map[string]bool) // mounted whole
	var procedures []string
	for _, path := range paths {
		if service, ok := strings.CutSuffix(strings.TrimPrefix(path, "/"), "/"); ok && strings.HasPrefix(path, "/") && protoreflect.FullName(service).IsValid() {
			services[service] = true
			names, known := i.methodsOf(service)
			if !known && !i.opened(service) && !i.core.Decider.DryRun {
				errs = append(errs, fmt.Errorf("service %s is mounted but the resolver does not describe it and no option opens it: every call would be denied (METHOD_NOT_DECLARED)", service))
			}
			for _, name := range names {
				if !served[name] {
					served[name] = true
					procedures = append(procedures, name)
				}
			}
			continue
		}
		if _, _, ok := methodrules.SplitMethod(path); !ok {
			errs = append(errs, fmt.Errorf("CheckHandlers: %q is neither a service path \"/package.Service/\" nor a procedure \"/package.Service/Method\"", path))
			continue
		}
		if !served[path] {
			served[path] = true
			procedures = append(procedures, path)
		}
	}
	slices.Sort(procedures)
	for _, name := range procedures {
		if e := i.core.Table.Lookup(name); e.Rule == nil && !e.Open && !i.core.Decider.DryRun {
			errs = append(errs, fmt.Errorf("procedure %s is served but declares no protojwt rule and no option opens it: every call would be denied (METHOD_NOT_DECLARED)", name))
		}
	}
	for _, name := range i.core.Rules.PublicServices {
		if !services[name] {
			errs = append(errs, fmt.Errorf("WithPublicServices names %s, which no mounted handler serves", name))
		}
	}
	for _, name := range i.core.Rules.PublicMethods {
		service, _, _ := methodrules.SplitMethod(name)
		if _, known := i.methodsOf(service); !served[name] && !(services[service] && !known) {
			errs = append(errs, fmt.Errorf("WithPublicProcedures names %s, which no mounted handler serves", name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", protojwt.ErrInvalidOption, errors.Join(errs...))
	}
	return nil
}

// methodsOf returns the procedures of service as the resolver describes
// them, and whether it does.
func (i *Interceptor) methodsOf(service string) ([]string, bool) {
	files := i.core.Rules.Files
	if files == nil {
		return nil, false
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil, false
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, false
	}
	names := make([]string, 0, sd.Methods().Len())
	for j := range sd.Methods().Len() {
		names = append(names, methodrules.FullMethod(sd.Methods().Get(j)))
	}
	return names, true
}

// opened reports whether every procedure of service is open by an option
// although the resolver does not describe it: the service is public
// ([WithPublicServices], [WithHealthAndReflection]), or [AllowUnannotated] opens
// what declares nothing.
func (i *Interceptor) opened(service string) bool {
	r := i.core.Rules
	return r.AllowUnannotated || slices.Contains(r.PublicServices, service) ||
		r.HealthAndReflection && slices.Contains(methodrules.HealthAndReflection(), service)
}
