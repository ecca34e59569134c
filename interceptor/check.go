package interceptor

import (
	"errors"
	"fmt"
	"sort"

	"google.golang.org/grpc"

	"github.com/protojwt/protojwt"
)

// ServiceInfoProvider is what CheckServer reads of a server: the services
// registered on it. *grpc.Server implements it.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// CheckServer compares the interceptor with the services registered on s,
// and reports in one error wrapping protojwt.ErrInvalidOption every
// mistake that would otherwise show only at the first call: a name given
// to WithPublicServices or WithPublicMethods that matches no registered
// service or method (a misspelling), and every registered method that
// declares no rule and is not opened (it would be denied with
// METHOD_NOT_DECLARED). Call it in main after registering every service
// and before Serve, and stop when it fails:
//
//	pb.RegisterOrdersServiceServer(s, srv)
//	healthpb.RegisterHealthServer(s, health.NewServer())
//	if err := auth.CheckServer(s); err != nil {
//		log.Fatal(err)
//	}
//
// With AllowUnannotated, methods without a rule are open and not reported.
func (i *Interceptor) CheckServer(s ServiceInfoProvider) error {
	if s == nil {
		return fmt.Errorf("%w: CheckServer of a nil server", protojwt.ErrInvalidOption)
	}
	info := s.GetServiceInfo()
	registered := make(map[string]bool)
	var undeclared []string
	for service, si := range info {
		for _, m := range si.Methods {
			name := "/" + service + "/" + m.Name
			registered[name] = true
			if e := i.table.Lookup(name); e.Rule == nil && !e.Open {
				undeclared = append(undeclared, name)
			}
		}
	}
	var errs []error
	for _, name := range i.opts.PublicServices {
		if _, ok := info[name]; !ok {
			errs = append(errs, fmt.Errorf("WithPublicServices names %s, which is not registered on the server", name))
		}
	}
	for _, name := range i.opts.PublicMethods {
		if !registered[name] {
			errs = append(errs, fmt.Errorf("WithPublicMethods names %s, which is not registered on the server", name))
		}
	}
	sort.Strings(undeclared)
	for _, name := range undeclared {
		errs = append(errs, fmt.Errorf("method %s is registered but declares no protojwt rule and no option opens it: every call would be denied (METHOD_NOT_DECLARED)", name))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", protojwt.ErrInvalidOption, errors.Join(errs...))
	}
	return nil
}
