package connectauth_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
)

// TestCheckHandlers compares interceptors with the handlers a server
// mounts, by the paths connect's generated constructors return: what
// serves without a rule, what is mounted unknown, and what the public
// names name but no handler serves.
func TestCheckHandlers(t *testing.T) {
	m := newManager(t)
	guarded, _ := testpbconnect.NewGuardedServiceHandler(&guarded{})
	defaulted, _ := testpbconnect.NewDefaultedServiceHandler(defaulted{})
	openPath, _ := testpbconnect.NewOpenServiceHandler(open{})
	uploadPath, _ := testpbconnect.NewUploadServiceHandler(upload{})
	all := []string{guarded, defaulted, openPath, uploadPath}
	const ping = "/protojwt.test.v1.OpenService/Ping"
	const health = "/grpc.health.v1.Health/"
	opened := []connectauth.Option{connectauth.WithPublicServices(testpbconnect.OpenServiceName), connectauth.WithPublicProcedures(methodUndeclared)}
	tests := []struct {
		name     string
		opts     []connectauth.Option
		paths    []string
		wantErrs []string // each in the error; none: no error
		wantNot  []string
	}{
		{name: "everything declared or opened", opts: opened, paths: all},
		{name: "allow unannotated", opts: []connectauth.Option{connectauth.AllowUnannotated()}, paths: append([]string{health}, all...)},
		{name: "dry run", opts: []connectauth.Option{connectauth.WithDryRun()}, paths: append([]string{"/acme.v1.UnknownService/"}, all...)},
		{name: "unknown service enforced", paths: []string{"/acme.v1.UnknownService/"}, wantErrs: []string{"service acme.v1.UnknownService is mounted but the resolver does not describe it"}},
		{
			name:     "undeclared procedures",
			paths:    all,
			wantErrs: []string{"procedure " + methodUndeclared + " is served but declares no protojwt rule", "procedure " + ping + " is served but declares no"},
			wantNot:  []string{"LiteralString", "Inherit"},
		},
		{
			name:     "public service not mounted",
			opts:     opened,
			paths:    []string{guarded, defaulted, uploadPath},
			wantErrs: []string{"WithPublicServices names protojwt.test.v1.OpenService, which no mounted handler serves"},
			wantNot:  []string{"WithPublicProcedures", methodUndeclared + " is served"},
		},
		{
			name:     "public procedure not mounted",
			opts:     opened,
			paths:    []string{defaulted, openPath, uploadPath},
			wantErrs: []string{"WithPublicProcedures names " + methodUndeclared + ", which no mounted handler serves"},
		},
		{
			name:     "single procedures",
			opts:     []connectauth.Option{connectauth.WithPublicProcedures(methodUndeclared)},
			paths:    []string{methodUndeclared, methodLiteralString, ping},
			wantErrs: []string{"procedure " + ping + " is served but declares no"},
			wantNot:  []string{methodUndeclared + " is served", "which no mounted handler serves"},
		},
		{
			name:     "service outside the resolver",
			opts:     []connectauth.Option{connectauth.WithResolver(new(protoregistry.Files))},
			paths:    []string{health, "/unknown.v1.NopeService/"},
			wantErrs: []string{"service grpc.health.v1.Health is mounted but the resolver does not describe it", "service unknown.v1.NopeService is mounted"},
		},
		{
			name:    "health opened outside the resolver",
			opts:    []connectauth.Option{connectauth.WithResolver(new(protoregistry.Files)), connectauth.WithHealthAndReflection(), connectauth.WithPublicProcedures("/grpc.health.v1.Health/Check")},
			paths:   []string{health},
			wantNot: []string{""},
		},
		{
			name:     "malformed paths",
			opts:     opened,
			paths:    append([]string{"/nope", "protojwt.test.v1.OpenService/", "/a b/"}, all...),
			wantErrs: []string{`"/nope" is neither`, `"protojwt.test.v1.OpenService/" is neither`, `"/a b/" is neither`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := connectauth.New(m, tt.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = auth.CheckHandlers(tt.paths...)
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("CheckHandlers = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, protojwt.ErrInvalidOption) {
				t.Fatalf("CheckHandlers = %v, want ErrInvalidOption", err)
			}
			for _, w := range tt.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckHandlers error does not say %q:\n%v", w, err)
				}
			}
			for _, w := range tt.wantNot {
				if w != "" && strings.Contains(err.Error(), w) {
					t.Errorf("CheckHandlers error says %q:\n%v", w, err)
				}
			}
		})
	}
}
