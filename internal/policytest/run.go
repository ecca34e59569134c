package policytest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/methodrules"
)

// Result is the outcome of one case.
type Result struct {
	// File names the case file.
	File string
	// Name names the case: its name, or its position ("case 3").
	Name      string
	Procedure string
	// Want is the outcome expected: "allowed", or a reason and the
	// explanation's part it must hold.
	Want string
	// Decision is what the adapter decided; zero when Err is set.
	Decision protojwt.Decision
	// Err is set when the case could not be run: a request that is not
	// protojson of the method's input, an unknown procedure, a token
	// that can't be made, a rule that can't be compiled.
	Err  error
	pass bool
}

// Passed reports whether the case had its expected outcome.
func (r *Result) Passed() bool { return r.Err == nil && r.pass }

// Got writes the outcome the adapter decided: "allowed", or the reason and
// the explanation (Decision.Err).
func (r *Result) Got() string {
	switch {
	case r.Err != nil:
		return "error: " + r.Err.Error()
	case !Denied(r.Decision):
		return "allowed"
	}
	s := r.Decision.Reason
	if r.Decision.Err != nil {
		s += " (" + strings.TrimPrefix(r.Decision.Err.Error(), "protojwt: ") + ")"
	}
	if r.Decision.DryRun {
		s += ", not enforced: dry run"
	}
	return s
}

// Denied reports whether the rule refused the call of d: the call was
// denied, or, under dry run, would have been. A case tests what its rule
// decides, dry run or not, so that removing a rule's dry_run changes no
// case's outcome.
func Denied(d protojwt.Decision) bool { return !d.Allowed || d.Reason != "" }

// Line writes the result as one line, as go test writes a failure: the
// case, what was expected and what decided it.
func (r *Result) Line() string {
	if r.Passed() {
		return fmt.Sprintf("ok   %s: %s %s", r.File, r.Name, r.Procedure)
	}
	if r.Err != nil {
		return fmt.Sprintf("FAIL %s: %s %s: %v", r.File, r.Name, r.Procedure, r.Err)
	}
	return fmt.Sprintf("FAIL %s: %s %s: want %s, got %s", r.File, r.Name, r.Procedure, r.Want, r.Got())
}

// adapters are the adapters a suite's cases run through, built once.
type adapters struct {
	verifier *caseVerifier
	decided  *protojwt.Decision // the last decision a hook reported
	unary    grpc.UnaryServerInterceptor
	grpcErr  error // interceptor.New's error: the API's rules can't be compiled
	mux      *http.ServeMux
	routeErr map[string]error // routes whose rule can't be compiled
}

// build builds the adapters of s: an interceptor of the API's rules, and
// a Guard serving the file's routes.
func (s *Suite) build() *adapters {
	a := &adapters{verifier: &caseVerifier{}, decided: new(protojwt.Decision), routeErr: map[string]error{}}
	hook := func(_ context.Context, d protojwt.Decision) { *a.decided = d }
	i, err := interceptor.New(a.verifier,
		interceptor.WithResolver(s.env.Files),
		interceptor.WithExpressions(s.env.Expressions),
		interceptor.WithDecisionHook(hook),
		interceptor.WithRuleSet(s.env.RuleSet),
	)
	if err != nil {
		a.grpcErr = err
	} else {
		a.unary = i.Unary()
	}
	g := httpauth.New(a.verifier, httpauth.WithExpressions(s.env.Expressions), httpauth.WithDecisionHook(hook))
	a.mux = http.NewServeMux()
	for pattern, rule := range s.test.GetRoutes() {
		mw, err := g.Compile(httpauth.FromRule(rule))
		if err != nil {
			a.routeErr[pattern] = err
			continue
		}
		if err := register(a.mux, pattern, mw(http.HandlerFunc(allowed))); err != nil {
			a.routeErr[pattern] = err
		}
	}
	return a
}

// register adds pattern to mux, an error rather than ServeMux's panic for a
// bad or conflicting pattern.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// allowed is the handler behind every guarded route: a call that reaches
// it is allowed.
func allowed(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// Run runs every case of s, in order.
func (s *Suite) Run() []Result {
	a := s.build()
	out := make([]Result, 0, len(s.test.GetCases()))
	for i, c := range s.test.GetCases() {
		r := Result{File: s.Name, Name: caseName(i, c), Procedure: c.GetProcedure(), Want: wantText(c.GetExpect())}
		r.Decision, r.Err = s.decide(a, c)
		if r.Err == nil {
			r.pass = outcomeMatches(c.GetExpect(), r.Decision)
		}
		out = append(out, r)
	}
	return out
}

// wantText writes an expected outcome.
func wantText(e *annotations.Expect) string {
	if e.GetAllowed() {
		return "allowed"
	}
	s := e.GetReason()
	if e.GetExplanation() != "" {
		s += fmt.Sprintf(" with %q in the explanation", e.GetExplanation())
	}
	return s
}

// outcomeMatches reports whether d is the outcome e expects.
func outcomeMatches(e *annotations.Expect, d protojwt.Decision) bool {
	if e.GetAllowed() {
		return !Denied(d)
	}
	if !Denied(d) || d.Reason != e.GetReason() {
		return false
	}
	return e.GetExplanation() == "" || d.Err != nil && strings.Contains(d.Err.Error(), e.GetExplanation())
}

// decide runs case c through its adapter and returns the decision it
// reported.
func (s *Suite) decide(a *adapters, c *annotations.PolicyCase) (protojwt.Decision, error) {
	raw, m, err := s.token(c.GetToken())
	if err != nil {
		return protojwt.Decision{}, err
	}
	if m != nil {
		defer m.Close()
		a.verifier.current = m
	} else {
		a.verifier.current = nil
	}
	*a.decided = protojwt.Decision{}
	if _, ok := s.test.GetRoutes()[c.GetProcedure()]; ok {
		return s.decideRoute(a, c, raw)
	}
	return s.decideMethod(a, c, raw)
}

// decideMethod runs a gRPC case through the interceptor's Unary.
func (s *Suite) decideMethod(a *adapters, c *annotations.PolicyCase, raw string) (protojwt.Decision, error) {
	md, err := s.method(c.GetProcedure())
	if err != nil {
		return protojwt.Decision{}, err
	}
	if a.grpcErr != nil {
		return protojwt.Decision{}, fmt.Errorf("the API's rules can't be compiled: %w", a.grpcErr)
	}
	req, err := s.request(md, c.GetRequest())
	if err != nil {
		return protojwt.Decision{}, err
	}
	ctx := context.Background()
	if raw != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+raw))
	}
	reached := false
	_, callErr := a.unary(ctx, req, &grpc.UnaryServerInfo{FullMethod: c.GetProcedure()}, func(context.Context, any) (any, error) {
		reached = true
		return nil, nil
	})
	return a.outcome(reached, callErr)
}

// outcome checks the decision the hook reported against what the call
// did, and returns it.
func (a *adapters) outcome(reached bool, callErr error) (protojwt.Decision, error) {
	d := *a.decided
	switch {
	case d.Procedure == "" && !d.Allowed && d.Reason == "":
		return d, fmt.Errorf("the adapter reported no decision (call error: %v)", callErr)
	case reached != d.Allowed:
		return d, fmt.Errorf("the adapter reported allowed=%v, and the handler was reached=%v", d.Allowed, reached)
	}
	return d, nil
}

// method returns the method named by the full name procedure.
func (s *Suite) method(procedure string) (protoreflect.MethodDescriptor, error) {
	service, method, ok := methodrules.SplitMethod(procedure)
	if !ok {
		return nil, fmt.Errorf("procedure %q is neither a full method (/pkg.Service/Method) nor a route of the file", procedure)
	}
	d, err := s.env.Files.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil, fmt.Errorf("no service %s in the API's descriptors", service)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", service)
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return nil, fmt.Errorf("service %s has no method %s", service, method)
	}
	return md, nil
}

// request returns the request message of md read from its protojson
// text: of the linked Go type when the program has it, else dynamic.
func (s *Suite) request(md protoreflect.MethodDescriptor, text string) (proto.Message, error) {
	var msg proto.Message
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName()); err == nil && mt.Descriptor() == md.Input() {
		msg = mt.New().Interface()
	} else {
		msg = dynamicpb.NewMessage(md.Input())
	}
	if strings.TrimSpace(text) == "" {
		return msg, nil
	}
	opts := protojson.UnmarshalOptions{Resolver: dynamicpb.NewTypes(s.env.Files)}
	if err := opts.Unmarshal([]byte(text), msg); err != nil {
		return nil, fmt.Errorf("request is not protojson of %s: %v", md.Input().FullName(), err)
	}
	return msg, nil
}

// decideRoute runs an HTTP case through the Guard serving its route.
func (s *Suite) decideRoute(a *adapters, c *annotations.PolicyCase, raw string) (protojwt.Decision, error) {
	pattern := c.GetProcedure()
	if err := a.routeErr[pattern]; err != nil {
		return protojwt.Decision{}, fmt.Errorf("route %q: %w", pattern, err)
	}
	r, err := routeRequest(pattern, c.GetPath())
	if err != nil {
		return protojwt.Decision{}, err
	}
	if raw != "" {
		r.Header.Set("Authorization", "Bearer "+raw)
	}
	if _, matched := a.mux.Handler(r); matched != pattern {
		return protojwt.Decision{}, fmt.Errorf("path %q is not served by route %q (it matches %q)", r.URL.Path, pattern, matched)
	}
	w := httptest.NewRecorder()
	a.mux.ServeHTTP(w, r)
	return a.outcome(w.Code == http.StatusNoContent, errors.New(http.StatusText(w.Code)))
}

// routeRequest returns a request for the route pattern at path, with the
// pattern's method (GET when it names none). An empty path is the
// pattern's own, when it has no wildcards.
func routeRequest(pattern, path string) (*http.Request, error) {
	method, rest, found := strings.Cut(pattern, " ")
	if !found {
		method, rest = http.MethodGet, pattern
	}
	if path == "" {
		if strings.Contains(rest, "{") {
			return nil, fmt.Errorf("route %q has wildcards: give the case a path, such as the URL path a client calls", pattern)
		}
		path = rest
		if i := strings.IndexByte(path, '/'); i > 0 {
			path = path[i:] // drop a host
		}
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q does not start with /", path)
	}
	r, err := http.NewRequest(method, "http://protojwt.test"+path, nil)
	if err != nil {
		return nil, fmt.Errorf("path %q: %v", path, err)
	}
	return r, nil
}
