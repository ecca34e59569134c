// Package rpcadapter is the core that protojwt's two RPC adapters share,
// the gRPC interceptor (package interceptor) and connect's (package
// connectauth): the config their options set (each exported option is a
// Setting), its defaults and checks, the construction of the compiled
// table and decider, the denials built once, and the guard of a stream's
// received messages. Each adapter keeps only its transport: reading the
// token, wrapping its stream, making its error from a denial.
//
//	cfg := rpcadapter.Default("authorization")
//	for _, opt := range opts {
//		opt.apply(&cfg)
//	}
//	core, err := rpcadapter.New(&cfg, v, names, denials)
//	e := core.Table.Lookup(procedure)
//	tok, err := core.Decider.Decide(ctx, procedure, e.Rule, raw, readErr, &presented, vars)
//	if err != nil {
//		return core.Denials.Deny(procedure, err)
//	}
package rpcadapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/dpop"
	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/manager"
)

// Config is what an RPC adapter's options set, checked by Build.
type Config struct {
	// Rules is what the table compiles: the resolver, the methods and
	// services opened, the expression engine.
	Rules methodrules.Options
	// NilResolver is set when WithResolver was given nil, an error.
	NilResolver bool
	// Key names where the bearer token is read: a metadata key or a
	// header.
	Key string
	// Hook is told every decision; nil for none.
	Hook func(context.Context, protojwt.Decision)
	// Recheck is how often an open stream verifies its token again.
	Recheck time.Duration
	// Now is the clock of stream checks, for tests; nil for [time.Now].
	Now func() time.Time
	// DetailedErrors puts the text of a denial's cause into its message,
	// for development.
	DetailedErrors bool
	// DryRun decides and reports every call but enforces none.
	DryRun bool
	// DPoP checks the proofs of DPoP-bound tokens; nil for the default
	// verifier.
	DPoP *dpop.Verifier
	// NilDPoP is set when WithDPoP was given nil, an error.
	NilDPoP bool
	// PublicURL is the public base URL under which proofs' htu name the
	// methods, "" for the scheme and authority of each call.
	PublicURL string
}

// Default returns the Config of an adapter given no option: the rules of
// [protoregistry.GlobalFiles], the token read from key, streams verified
// again every [decide.DefaultRecheck].
func Default(key string) Config {
	return Config{
		Rules:   methodrules.Options{Files: protoregistry.GlobalFiles},
		Key:     key,
		Recheck: decide.DefaultRecheck,
	}
}

// SetResolver sets the resolver of the rules; a nil files is recorded as
// an error for Build.
func (c *Config) SetResolver(files *protoregistry.Files) {
	c.Rules.Files = files
	c.NilResolver = files == nil
}

// SetExpressions sets the expression engine; a nil x is ignored.
func (c *Config) SetExpressions(x protojwt.Expressions) {
	if x != nil {
		c.Rules.Expressions = x
	}
}

// AddHook adds hook after the hooks already given.
func (c *Config) AddHook(hook func(context.Context, protojwt.Decision)) {
	c.Hook = decide.Chain(c.Hook, hook)
}

// Names are an adapter's own names, which the errors of Build use.
type Names struct {
	// PublicMethods is the option that opens methods by name:
	// "WithPublicMethods" or "WithPublicProcedures".
	PublicMethods string
	// Key is the option that sets Config.Key: "WithMetadataKey" or
	// "WithHeader".
	Key string
	// KeyKind is what Config.Key is: "metadata key" or "header name".
	KeyKind string
	// ValidKey reports whether Config.Key can carry a bearer token.
	ValidKey func(key string) bool
	// Noun is what the adapter calls a method in its messages: "method"
	// or "procedure".
	Noun string
}

// Core is an RPC adapter built: what it reads per call, all immutable. D is
// the transport's denial.
type Core[D any] struct {
	// Table holds the compiled rule of every method.
	Table *methodrules.Table
	// Decider verifies tokens and decides calls.
	Decider decide.Decider
	// Denials answers every denial, those of undeclared methods naming
	// them.
	Denials Denials[D]
	// Key is where the bearer token is read, as the options gave it.
	Key string
	// Rules is what the options opened, for the checks against a server.
	Rules methodrules.Options
	// base is the parsed [PublicURL], nil when none was given.
	base *dpop.BaseURL
	// urls holds a *methodURL by *methodrules.Entry.
	urls *sync.Map
}

// MethodURL returns the htu a DPoP proof must name for a call of
// procedure, whose entry is e: under the public base URL when one was
// given, else over https (tls) or http at the authority the client sent.
// The URL of each entry's last call is kept, so that calls of a method to
// one authority, as most are, build it once.
func (c *Core[D]) MethodURL(e *methodrules.Entry, tls bool, authority, procedure string) string {
	if v, ok := c.urls.Load(e); ok {
		if u := v.(*methodURL); u.tls == tls && u.authority == authority && u.procedure == procedure {
			return u.url
		}
	}
	u := &methodURL{tls: tls, authority: authority, procedure: procedure}
	switch {
	case c.base != nil:
		u.url = c.base.MethodURL(procedure)
	case tls:
		u.url = dpop.MethodURL("https", authority, procedure)
	default:
		u.url = dpop.MethodURL("http", authority, procedure)
	}
	c.urls.Store(e, u)
	return u.url
}

// methodURL is the htu of a call: what [Core.MethodURL] keeps of an
// entry's last call. The table's entries bound how many are kept.
type methodURL struct {
	tls                  bool
	authority, procedure string
	url                  string
}

// Nonce returns the nonce a client must use in its next DPoP proof, ""
// when none is required.
func (c *Core[D]) Nonce() string { return c.Decider.Binding.Nonce() }

// New checks cfg and v, compiles the table and returns the adapter's core,
// with the denials of base (built once per adapter package) and those of
// the table's undeclared methods.
func New[D any](cfg *Config, v manager.Verifier, names Names, base *Denials[D]) (*Core[D], error) {
	table, decider, err := cfg.Build(v, names)
	if err != nil {
		return nil, err
	}
	c := &Core[D]{
		Table:   table,
		Decider: decider,
		Denials: base.named(table, names.Noun, cfg.DetailedErrors),
		Key:     cfg.Key,
		Rules:   cfg.Rules,
		urls:    new(sync.Map),
	}
	if cfg.PublicURL != "" {
		b, _ := dpop.ParseBaseURL(cfg.PublicURL) // checked by Build
		c.base = &b
	}
	return c, nil
}

// Stream returns the guard of a stream of procedure, whose entry is e,
// that Decide allowed with tok, read from raw.
func (c *Core[D]) Stream(procedure string, e *methodrules.Entry, raw string, tok *manager.Token) *Stream[D] {
	return &Stream[D]{
		entry:     e,
		checks:    c.Decider.Stream(procedure, e.Rule, raw, tok),
		procedure: procedure,
		denials:   &c.Denials,
	}
}

// Build checks c and v, then compiles the table of c's rules and returns
// it with the decider of v. Every bad option is reported, in one error
// wrapping [protojwt.ErrInvalidOption]; a rule that can't be compiled is
// [methodrules.Build]'s error.
func (c *Config) Build(v manager.Verifier, names Names) (*methodrules.Table, decide.Decider, error) {
	if err := c.check(v, names); err != nil {
		return nil, decide.Decider{}, err
	}
	rules := c.Rules
	rules.MethodsOption = names.PublicMethods
	table, err := methodrules.Build(rules)
	if err != nil {
		return nil, decide.Decider{}, err
	}
	return table, decide.Decider{Verifier: v, Binding: binding.New(c.DPoP), Hook: c.Hook, Explain: c.DetailedErrors, Recheck: c.Recheck, Now: c.Now, DryRun: c.DryRun}, nil
}

// check validates the options.
func (c *Config) check(v manager.Verifier, names Names) error {
	errs := decide.Check(v, c.Recheck)
	if c.NilResolver {
		errs = append(errs, errors.New("WithResolver: nil resolver"))
	}
	if c.NilDPoP {
		errs = append(errs, errors.New("WithDPoP: nil verifier"))
	}
	if c.PublicURL != "" {
		if _, err := dpop.ParseBaseURL(c.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("WithPublicURL: %w", err))
		}
	}
	if !names.ValidKey(c.Key) {
		errs = append(errs, fmt.Errorf("%s: %q is not a usable %s", names.Key, c.Key, names.KeyKind))
	}
	errs = append(errs, methodrules.CheckNames(c.Rules, names.PublicMethods, "WithPublicServices")...)
	errs = append(errs, methodrules.CheckResolved(c.Rules, names.Noun, names.PublicMethods, "WithPublicServices")...)
	errs = append(errs, methodrules.CheckRuleSet(c.Rules, names.Noun, "WithRuleSet")...)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", protojwt.ErrInvalidOption, errors.Join(errs...))
	}
	return nil
}

// ValidMetadataKey reports whether key, lower-cased, can carry a bearer
// token as gRPC metadata: a non-empty ASCII metadata key (letters, digits,
// '-', '_', '.') that is neither binary ("-bin") nor reserved ("grpc-").
func ValidMetadataKey(key string) bool {
	key = strings.ToLower(key)
	if key == "" || strings.HasSuffix(key, "-bin") || strings.HasPrefix(key, "grpc-") {
		return false
	}
	for j := 0; j < len(key); j++ {
		c := key[j]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
