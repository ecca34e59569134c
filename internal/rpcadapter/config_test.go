package rpcadapter_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/rpcadapter"
	"github.com/protojwt/protojwt/manager"
)

// names are an adapter's names as the interceptor's are.
var names = rpcadapter.Names{
	PublicMethods: "WithPublicMethods",
	Key:           "WithMetadataKey",
	KeyKind:       "metadata key",
	ValidKey:      rpcadapter.ValidMetadataKey,
}

func newManager(t *testing.T) *manager.Manager {
	t.Helper()
	m, err := manager.New(manager.Config{Issuer: "rpcadapter-test", Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDefault(t *testing.T) {
	c := rpcadapter.Default("authorization")
	if c.Rules.Files != protoregistry.GlobalFiles || c.Key != "authorization" || c.Recheck != decide.DefaultRecheck {
		t.Errorf("Default = %+v, want GlobalFiles, the key and DefaultRecheck", c)
	}
	if c.Hook != nil || c.Now != nil || c.NilResolver || c.Rules.AllowUnannotated || c.Rules.Expressions != nil {
		t.Errorf("Default = %+v, want nothing else set", c)
	}
}

func TestSetters(t *testing.T) {
	c := rpcadapter.Default("authorization")
	c.SetResolver(nil)
	if !c.NilResolver || c.Rules.Files != nil {
		t.Errorf("SetResolver(nil) = %+v, want it recorded", c)
	}
	c.SetResolver(protoregistry.GlobalFiles)
	if c.NilResolver || c.Rules.Files != protoregistry.GlobalFiles {
		t.Errorf("SetResolver(GlobalFiles) after nil = %+v, want no error left", c)
	}
	c.SetExpressions(nil)
	if c.Rules.Expressions != nil {
		t.Errorf("SetExpressions(nil) set %v", c.Rules.Expressions)
	}
	var order []string
	c.AddHook(func(context.Context, protojwt.Decision) { order = append(order, "first") })
	c.AddHook(func(context.Context, protojwt.Decision) { order = append(order, "second") })
	c.Hook(context.Background(), protojwt.Decision{})
	if !slices.Equal(order, []string{"first", "second"}) {
		t.Errorf("hooks called %v, want first then second", order)
	}
}

func TestBuildErrors(t *testing.T) {
	m := newManager(t)
	var nilManager *manager.Manager
	tests := []struct {
		name string
		v    manager.Verifier
		set  func(*rpcadapter.Config)
		want []string // in the error, in this order
	}{
		{name: "nil verifier", v: nilManager, set: func(*rpcadapter.Config) {}, want: []string{"nil verifier"}},
		{name: "nil resolver", v: m, set: func(c *rpcadapter.Config) { c.SetResolver(nil) }, want: []string{"WithResolver: nil resolver"}},
		{name: "bad key", v: m, set: func(c *rpcadapter.Config) { c.Key = "grpc-token" }, want: []string{`WithMetadataKey: "grpc-token" is not a usable metadata key`}},
		{name: "bad method name", v: m, set: func(c *rpcadapter.Config) { c.Rules.PublicMethods = []string{"nope"} }, want: []string{`WithPublicMethods: "nope"`}},
		{name: "bad service name", v: m, set: func(c *rpcadapter.Config) { c.Rules.PublicServices = []string{"a..b"} }, want: []string{`WithPublicServices: "a..b"`}},
		{name: "negative recheck", v: m, set: func(c *rpcadapter.Config) { c.Recheck = -1 }, want: []string{"WithStreamRecheck"}},
		{name: "all reported", v: nil, set: func(c *rpcadapter.Config) {
			c.SetResolver(nil)
			c.Key = ""
			c.Rules.PublicMethods = []string{"nope"}
		}, want: []string{"nil verifier", "WithResolver", "WithMetadataKey", "WithPublicMethods"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rpcadapter.Default("authorization")
			tt.set(&c)
			table, _, err := c.Build(tt.v, names)
			if !errors.Is(err, protojwt.ErrInvalidOption) {
				t.Fatalf("Build error = %v, want ErrInvalidOption", err)
			}
			if table != nil {
				t.Error("Build returned a table with its error")
			}
			rest := err.Error()
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q does not say %q after the earlier problems", err, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestBuild(t *testing.T) {
	m := newManager(t)
	c := rpcadapter.Default("authorization")
	now := func() time.Time { return time.Unix(0, 0) }
	c.Now = now
	c.Recheck = 0
	table, d, err := c.Build(m, names)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if table == nil || d.Verifier != manager.Verifier(m) || d.Recheck != 0 || d.Now == nil || d.Hook != nil {
		t.Errorf("Build = %v, %+v; want a table and the decider of m with the options", table, d)
	}
}

func TestValidMetadataKey(t *testing.T) {
	for key, want := range map[string]bool{
		"authorization": true,
		"X-Token":       true, // lower-cased as gRPC does
		"x_token.v1":    true,
		"":              false,
		"token-bin":     false,
		"grpc-token":    false,
		"GRPC-Token":    false,
		"my token":      false,
		"token:":        false,
		"tökén":         false,
	} {
		if got := rpcadapter.ValidMetadataKey(key); got != want {
			t.Errorf("ValidMetadataKey(%q) = %v, want %v", key, got, want)
		}
	}
}
