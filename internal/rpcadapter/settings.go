package rpcadapter

import (
	"context"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
)

// Setting is what one option of an RPC adapter does to its Config. Both
// adapters' exported options are Settings, each documented in its
// package: an option that means the same on both is one Setting here.
//
// To add an option: a field of Config, a Setting that sets it, a check in
// Config.check if it can be wrong, and in each adapter a documented
// function that returns the Setting as its Option.
type Setting func(*Config)

// Resolver reads the rules of files; nil is an error for Build.
func Resolver(files *protoregistry.Files) Setting {
	return func(c *Config) { c.SetResolver(files) }
}

// PublicMethods opens methods by full name.
func PublicMethods(fullMethods []string) Setting {
	return func(c *Config) { c.Rules.PublicMethods = append(c.Rules.PublicMethods, fullMethods...) }
}

// PublicServices opens every method of services by full name.
func PublicServices(services []string) Setting {
	return func(c *Config) { c.Rules.PublicServices = append(c.Rules.PublicServices, services...) }
}

// AllowUnannotated opens every method that has no rule.
func AllowUnannotated() Setting {
	return func(c *Config) { c.Rules.AllowUnannotated = true }
}

// HealthAndReflection opens the health and reflection services.
func HealthAndReflection() Setting {
	return func(c *Config) { c.Rules.HealthAndReflection = true }
}

// Key reads the bearer token from key: a metadata key or a header.
func Key(key string) Setting {
	return func(c *Config) { c.Key = key }
}

// Expressions compiles the rules' expressions with x; nil is ignored.
func Expressions(x protojwt.Expressions) Setting {
	return func(c *Config) { c.SetExpressions(x) }
}

// DecisionHook adds hook after the hooks already given.
func DecisionHook(hook func(context.Context, protojwt.Decision)) Setting {
	return func(c *Config) { c.AddHook(hook) }
}

// StreamRecheck verifies the token of an open stream again every d.
func StreamRecheck(d time.Duration) Setting {
	return func(c *Config) { c.Recheck = d }
}

// DetailedErrors puts the text of a denial's cause into its message.
func DetailedErrors() Setting {
	return func(c *Config) { c.DetailedErrors = true }
}

// Clock sets the clock of stream checks, for tests.
func Clock(now func() time.Time) Setting {
	return func(c *Config) { c.Now = now }
}

// DPoP checks the proofs of DPoP-bound tokens with v; nil is an error for
// Build.
func DPoP(v *dpop.Verifier) Setting {
	return func(c *Config) { c.DPoP, c.NilDPoP = v, v == nil }
}

// PublicURL builds the htu of proofs under the public base URL u.
func PublicURL(u string) Setting {
	return func(c *Config) { c.PublicURL = u }
}
