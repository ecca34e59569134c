package rpcadapter_test

import (
	"errors"
	"testing"

	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/rpcadapter"
	"github.com/protojwt/protojwt/internal/testpb"
)

// TestMethodURL: the URL kept of an entry's last call is used only for a
// call of the same procedure, authority and scheme; any other call gets
// its own.
func TestMethodURL(t *testing.T) {
	base := rpcadapter.Prebuild(func(denial.Code, string, string) error { return errors.New("denied") }, func(err error) error { return err })
	newCore := func(publicURL string) *rpcadapter.Core[error] {
		cfg := rpcadapter.Default("authorization")
		cfg.PublicURL = publicURL
		core, err := rpcadapter.New(&cfg, newManager(t), names, base)
		if err != nil {
			t.Fatal(err)
		}
		return core
	}
	const fieldTop, noRule = testpb.GuardedService_FieldTop_FullMethodName, "/pkg.S/M"
	calls := []struct {
		procedure, authority string
		tls                  bool
		want                 string
	}{
		{fieldTop, "a.example", false, "http://a.example" + fieldTop},
		{fieldTop, "a.example", false, "http://a.example" + fieldTop},
		{fieldTop, "b.example", false, "http://b.example" + fieldTop},
		{fieldTop, "b.example", true, "https://b.example" + fieldTop},
		{fieldTop, "a.example", false, "http://a.example" + fieldTop},
		// Procedures without an entry of their own share one.
		{noRule, "a.example", false, "http://a.example" + noRule},
		{"/pkg.S/N", "a.example", false, "http://a.example/pkg.S/N"},
		{noRule, "a.example", false, "http://a.example" + noRule},
	}
	core := newCore("")
	for _, c := range calls {
		if got := core.MethodURL(core.Table.Lookup(c.procedure), c.tls, c.authority, c.procedure); got != c.want {
			t.Errorf("MethodURL(%s, %s, tls %v) = %q; want %q", c.procedure, c.authority, c.tls, got, c.want)
		}
	}
	// Under a public base URL the authority and scheme don't count.
	core = newCore("https://api.example.com/grpc")
	for _, c := range calls {
		want := "https://api.example.com/grpc" + c.procedure
		if got := core.MethodURL(core.Table.Lookup(c.procedure), c.tls, c.authority, c.procedure); got != want {
			t.Errorf("under a base URL, MethodURL(%s, %s, tls %v) = %q; want %q", c.procedure, c.authority, c.tls, got, want)
		}
	}
}
