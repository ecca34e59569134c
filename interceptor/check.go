package interceptor

import (
	"errors"
	"fmt"
	"sort"

	"google.golang.org/grpc"

	"github.com/protojwt/protojwt"
)

// ServiceInfoProvider is what CheckServer reads of a server: the services
// registered on it. *[grpc.Server] implements it.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// CheckServer compares the interceptor with the services registered on s,
// and reports in one error wrapping [protojwt.ErrInvalidOption] every
// mistake that would otherwise show only at the first call, or never: the
// streaming methods of a server whose interceptor never took Stream (they
// would run with no check at all) and the unary methods of one that never
// took Unary, each named; a name given to [WithPublicServices] or
// [WithPublicMethods] that matches no registered service or method; and
// every registered method that declares no rule and is not opened (it
// would be denied with METHOD_NOT_DECLARED). Call it in main after
// registering every service and before Serve, and stop when it fails:
//
//	s := grpc.NewServer(auth.ServerOptions()...)
//	pb.RegisterOrdersServiceServer(s, srv)
//	healthpb.RegisterHealthServer(s, health.NewServer())
//	if err := auth.CheckServer(s); err != nil {
//		log.Fatal(err)
//	}
//
// With [AllowUnannotated], methods without a rule are open and not reported;
// with [WithDryRun], they are reported to the hook at each call and not
// denied, and not reported here either.
func (i *Interceptor) CheckServer(s ServiceInfoProvider) error {
	if s == nil {
		return fmt.Errorf("%w: CheckServer of a nil server", protojwt.ErrInvalidOption)
	}
	info := s.GetServiceInfo()
	registered := make(map[string]bool)
	var undeclared, unguarded []string
	unary, stream := i.unaryTaken.Load(), i.streamTaken.Load()
	for service, si := range info {
		for _, m := range si.Methods {
			name := "/" + service + "/" + m.Name
			registered[name] = true
			if e := i.core.Table.Lookup(name); e.Rule == nil && !e.Open && !i.core.Decider.DryRun {
				undeclared = append(undeclared, name)
			}
			switch streaming := m.IsClientStream || m.IsServerStream; {
			case streaming && !stream:
				unguarded = append(unguarded, "streaming method "+name+" is not guarded: the server was not given the interceptor's Stream")
			case !streaming && !unary:
				unguarded = append(unguarded, "unary method "+name+" is not guarded: the server was not given the interceptor's Unary")
			}
		}
	}
	var errs []error
	sort.Strings(unguarded)
	for _, msg := range unguarded {
		errs = append(errs, errors.New(msg+" (grpc.NewServer(auth.ServerOptions()...) gives both)"))
	}
	for _, name := range i.core.Rules.PublicServices {
		if _, ok := info[name]; !ok {
			errs = append(errs, fmt.Errorf("WithPublicServices names %s, which is not registered on the server", name))
		}
	}
	for _, name := range i.core.Rules.PublicMethods {
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
