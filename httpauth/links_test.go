package httpauth_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoRPCTransport: a net/http program built with httpauth and
// package protojwt (ReasonOf, the reasons) links neither grpc nor connect.
// It lists the packages they depend on with the go command.
func TestLinksNoRPCTransport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: %v", err)
	}
	pkgs := []string{"github.com/protojwt/protojwt/httpauth", "github.com/protojwt/protojwt"}
	out, err := exec.Command(gocmd, append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < len(pkgs) {
		t.Fatalf("go list -deps listed %q", deps)
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "google.golang.org/grpc") || strings.HasPrefix(dep, "connectrpc.com/") {
			t.Errorf("%s links %s", strings.Join(pkgs, " and "), dep)
		}
	}
}
