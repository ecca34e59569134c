// Package decide is the flow every protojwt adapter shares: verify the
// token the adapter found, ask the rule engine, report the decision to the
// hook, and keep checking the messages of an open stream. Adapters stay
// thin: they find the token and the request variables and translate the
// outcome to their transport.
package decide

import (
	"context"
	"errors"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// DefaultRecheck is how often an open stream verifies its token again, by
// default: revocations reach open streams within it.
const DefaultRecheck = time.Minute

// Decider decides the calls of one adapter. Its fields are set when the
// adapter is built and never change.
type Decider struct {
	// Verifier verifies every token.
	Verifier manager.Verifier
	// Binding checks the proof of possession of sender-constrained tokens
	// after they verify; nil checks DPoP proofs with a default verifier.
	Binding *binding.Checker
	// Hook, when not nil, is told every decision; a rule's denial is then
	// explained ([rules.Rule.Explain]): Decision.Err names the part that
	// failed.
	Hook func(context.Context, protojwt.Decision)
	// Explain, when true, explains a rule's denial even with no hook, for
	// an adapter whose detailed errors send Decision.Err's text to clients.
	Explain bool
	// Recheck is how often a stream verifies its token again; 0 verifies
	// it on every message.
	Recheck time.Duration
	// Now is the clock of stream checks; nil means [time.Now].
	Now func() time.Time
	// DryRun, when true, decides and reports every call and message but
	// enforces none (the adapters' WithDryRun), as a rule's own dry_run
	// does for its calls: a refusal is reported with Decision.DryRun and
	// the call goes on, with the token only when it verified.
	DryRun bool
}

// dry reports whether the decisions of rule (nil when the procedure
// declares none) are reported and not enforced.
func (d *Decider) dry(rule *rules.Rule) bool {
	return d.DryRun || rule != nil && rule.DryRun()
}

// Open reports an allowed call that needs no decision: a public rule, or a
// method opened by an option.
func (d *Decider) Open(ctx context.Context, procedure string) {
	if d.Hook != nil {
		d.Hook(ctx, protojwt.Decision{Procedure: procedure, Allowed: true, DryRun: d.DryRun})
	}
}

// Decide decides a call when it opens: rule (nil when the procedure
// declares none), the raw token and the error of reading it (raw "" and a
// nil error when the call sent none), what the call presents to prove a
// bound token (p: nil when the transport can't show it, which refuses a
// bound token), and the request variables. It returns
// the verified token (nil when none was sent) and a non-nil error wrapping
// one of manager's sentinels when the call is denied.
//
// Under dry run (Decider.DryRun, or the rule's own) a call that would be
// denied is reported as such and goes on: Decide returns no error, and the
// token only when it verified, so that a handler never sees an unverified
// token. Its claims may be ones the rule refuses.
func (d *Decider) Decide(ctx context.Context, procedure string, rule *rules.Rule, raw string, readErr error, p *binding.Presented, vars rules.Vars) (*manager.Token, error) {
	var start time.Duration
	if d.Hook != nil {
		start = elapsed()
	}
	tok, err := d.decide(ctx, rule, raw, readErr, p, vars)
	dry := d.dry(rule)
	if d.Hook != nil {
		// A token the rule refused is reported too: audits name the caller.
		d.report(ctx, procedure, tok, err, false, dry, start)
	}
	if err != nil && !dry {
		return nil, err
	}
	return tok, nil
}

// decide returns the verified token, also when the rule refuses it.
// A token that verifies but fails its binding is not returned: it proves
// nothing about the caller.
func (d *Decider) decide(ctx context.Context, rule *rules.Rule, raw string, readErr error, p *binding.Presented, vars rules.Vars) (*manager.Token, error) {
	switch {
	case rule == nil:
		return nil, rules.ErrNotDeclared
	case rule.Public():
		return nil, nil
	case readErr != nil:
		return nil, readErr
	}
	var tok *manager.Token
	if raw != "" {
		t, err := d.Verifier.Verify(ctx, raw)
		if err != nil {
			return nil, err
		}
		if err := d.Binding.Check(ctx, t, raw, p); err != nil {
			return nil, err
		}
		tok = t
	}
	return tok, d.check(rule, tok, vars)
}

// check asks the rule; a denial names the failing part when a hook or a
// client with detailed errors will read it. Building that text costs
// allocations, so it is left out when no one reads it.
func (d *Decider) check(rule *rules.Rule, tok *manager.Token, vars rules.Vars) error {
	if d.Hook != nil || d.Explain {
		return rule.Explain(tok, vars)
	}
	return rule.Check(tok, vars)
}

// epoch is the origin of elapsed.
var epoch = time.Now()

// elapsed reads the monotonic clock, as the time since epoch: a decision's
// Duration is the difference of two readings. [time.Now] would read the wall
// clock too, which a Duration does not need, and costs a third more.
func elapsed() time.Duration { return time.Since(epoch) }

// report tells the hook of one decision, which began at start (elapsed);
// dry when it is reported and not enforced.
func (d *Decider) report(ctx context.Context, procedure string, tok *manager.Token, err error, message, dry bool, start time.Duration) {
	dec := protojwt.Decision{
		Procedure: procedure,
		Allowed:   err == nil || dry,
		Err:       err,
		Token:     tok,
		Message:   message,
		Duration:  elapsed() - start,
		DryRun:    dry,
	}
	if err != nil {
		_, dec.Reason = rules.Classify(err)
	}
	d.Hook(ctx, dec)
}

// Stream checks the messages of one open stream: each message against the
// rule's parts that read the request, the token's expiry on every message,
// and the token verified again (revocation included) every Recheck.
type Stream struct {
	d          *Decider
	procedure  string
	rule       *rules.Rule
	raw        string
	tok        *manager.Token
	nextVerify time.Time
	verifyErr  error // of the last verification, until nextVerify
}

// Stream returns the checks of a stream that Decide allowed with tok, read
// from raw.
func (d *Decider) Stream(procedure string, rule *rules.Rule, raw string, tok *manager.Token) *Stream {
	s := &Stream{d: d, procedure: procedure, rule: rule, raw: raw, tok: tok}
	if tok != nil {
		s.nextVerify = d.now().Add(d.Recheck)
	}
	return s
}

// Message checks one received message, whose variables are vars. A non-nil
// error denies it, and the adapter ends the stream. Under dry run each
// message that would be denied is reported, and Message returns nil.
func (s *Stream) Message(ctx context.Context, vars rules.Vars) error {
	reads := s.rule.ReadsRequest()
	if s.tok == nil && !reads {
		return nil // nothing sent, nothing to expire or read
	}
	var start time.Duration
	if s.d.Hook != nil {
		start = elapsed()
	}
	err := s.check(ctx, vars)
	dry := s.d.dry(s.rule)
	if s.d.Hook != nil && (reads || err != nil) {
		s.d.report(ctx, s.procedure, s.tok, err, true, dry, start)
	}
	if dry {
		return nil
	}
	return err
}

func (s *Stream) check(ctx context.Context, vars rules.Vars) error {
	if s.tok != nil {
		now := s.d.now()
		if s.tok.Expired(now) {
			return manager.ErrExpired
		}
		if !now.Before(s.nextVerify) {
			// A failure holds until the next check: under dry run the
			// stream goes on, and verifying on every message would cost
			// a verification per message for the rest of it.
			_, s.verifyErr = s.d.Verifier.Verify(ctx, s.raw)
			s.nextVerify = now.Add(s.d.Recheck)
		}
		if s.verifyErr != nil {
			return s.verifyErr
		}
	}
	if !s.rule.ReadsRequest() {
		return nil
	}
	return s.d.check(s.rule, s.tok, vars)
}

func (d *Decider) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Chain returns a hook that calls first, then next, for adapters' options
// given several times; a nil hook is left out.
func Chain(first, next func(context.Context, protojwt.Decision)) func(context.Context, protojwt.Decision) {
	switch {
	case first == nil:
		return next
	case next == nil:
		return first
	}
	return func(ctx context.Context, d protojwt.Decision) {
		first(ctx, d)
		next(ctx, d)
	}
}

// Sent turns the "no token" of a token reader (an error wrapping
// [manager.ErrNoToken]) into no token and no error: the rule decides what a
// call without a token gets. Other errors stay: a malformed token is a
// token sent.
func Sent(raw string, err error) (string, error) {
	if err != nil && errors.Is(err, manager.ErrNoToken) {
		return "", nil
	}
	return raw, err
}

// WithToken returns ctx carrying tok for the handler ([manager.FromContext]),
// or ctx itself when the call sent no token.
func WithToken(ctx context.Context, tok *manager.Token) context.Context {
	if tok == nil {
		return ctx
	}
	return manager.NewContext(ctx, tok)
}
