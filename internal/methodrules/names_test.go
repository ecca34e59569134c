package methodrules_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt/internal/methodrules"
)

func TestCheckNames(t *testing.T) {
	o := methodrules.Options{
		PublicMethods:  []string{"/pkg.Service/Method", "pkg.Service/Method", "/pkg.Service", "/pkg.Service/Me thod"},
		PublicServices: []string{"pkg.Service", "/pkg.Service", "pkg..Service", ""},
	}
	errs := methodrules.CheckNames(o, "WithM", "WithS")
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	want := []string{
		`WithM: "pkg.Service/Method" is not`,
		`WithM: "/pkg.Service" is not`,
		`WithM: "/pkg.Service/Me thod" is not`,
		`WithS: "/pkg.Service" is not`,
		`WithS: "pkg..Service" is not`,
		`WithS: "" is not`,
	}
	if len(got) != len(want) {
		t.Fatalf("CheckNames = %q, want %d errors", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want it to start %q", i, got[i], want[i])
		}
	}
}

// TestHealthAndReflectionOpened: the option opens exactly the health and
// reflection services, whether the resolver knows them or not, and each
// call of HealthAndReflection returns a list of its own.
func TestHealthAndReflectionOpened(t *testing.T) {
	names := methodrules.HealthAndReflection()
	names[0] = "changed"
	if methodrules.HealthAndReflection()[0] == "changed" {
		t.Fatal("HealthAndReflection returns a shared slice")
	}
	for _, open := range []bool{false, true} {
		table, err := methodrules.Build(methodrules.Options{Files: new(protoregistry.Files), HealthAndReflection: open})
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range methodrules.HealthAndReflection() {
			if e := table.Lookup("/" + svc + "/Check"); e.Open != open {
				t.Errorf("HealthAndReflection %v: %s open = %v", open, svc, e.Open)
			}
		}
		if e := table.Lookup("/grpc.health.v2.Health/Check"); e.Open {
			t.Errorf("another service opened")
		}
	}
	if !slices.Contains(methodrules.HealthAndReflection(), "grpc.health.v1.Health") {
		t.Error("health missing")
	}
}
