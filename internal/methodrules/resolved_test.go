package methodrules_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt/internal/methodrules"
	_ "github.com/protojwt/protojwt/internal/testpb"
)

func TestCheckResolved(t *testing.T) {
	tests := []struct {
		name     string
		o        methodrules.Options
		want     []string // one error each, in order; none: no error
		notWants string   // in no error
	}{
		{name: "known names", o: methodrules.Options{PublicMethods: []string{"/protojwt.test.v1.GuardedService/Undeclared"}, PublicServices: []string{"protojwt.test.v1.OpenService"}}},
		{name: "health and reflection", o: methodrules.Options{Files: new(protoregistry.Files), PublicMethods: []string{"/grpc.health.v1.Health/Check"}, PublicServices: methodrules.HealthAndReflection()}},
		{name: "malformed names are CheckNames's", o: methodrules.Options{PublicMethods: []string{"nope"}, PublicServices: []string{"a..b"}}},
		{name: "nil resolver", o: methodrules.Options{Files: nil, PublicMethods: []string{"/a.B/C"}}},
		{
			name: "misspelled",
			o:    methodrules.Options{PublicMethods: []string{"/protojwt.test.v1.GuardedService/undeclared"}, PublicServices: []string{"protojwt.test.v1.OpenServic"}},
			want: []string{
				`M: /protojwt.test.v1.GuardedService/undeclared is no thing of the resolver; did you mean "/protojwt.test.v1.GuardedService/Undeclared"?`,
				`S: protojwt.test.v1.OpenServic is no service of the resolver; did you mean "protojwt.test.v1.OpenService"?`,
			},
		},
		{
			name:     "far from every name",
			o:        methodrules.Options{PublicMethods: []string{"/x.Y/Z"}, PublicServices: []string{"completely.Different"}},
			want:     []string{"M: /x.Y/Z is no thing of the resolver", "S: completely.Different is no service of the resolver"},
			notWants: "did you mean",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.Files == nil && tt.name != "nil resolver" {
				tt.o.Files = protoregistry.GlobalFiles
			}
			errs := methodrules.CheckResolved(tt.o, "thing", "M", "S")
			if len(errs) != len(tt.want) {
				t.Fatalf("CheckResolved = %v, want %d errors", errs, len(tt.want))
			}
			for i, err := range errs {
				if !strings.HasPrefix(err.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want %q", i, err, tt.want[i])
				}
				if tt.notWants != "" && strings.Contains(err.Error(), tt.notWants) {
					t.Errorf("error %d = %q says %q", i, err, tt.notWants)
				}
			}
		})
	}
}
