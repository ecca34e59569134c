package decide

import (
	"context"
	"time"

	"github.com/protojwt/protojwt/internal/binding"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// Authenticate decides what can be decided of a call before its request is
// read, as an HTTP middleware in front of an RPC handler can: rule (nil
// when the procedure declares none) against the raw token and the error of
// reading it and what the call presents to prove a bound token (p, as for
// Decide), with the request Deferred. It returns the verified token (nil
// when none was sent) and, when the call is refused now, the error, which
// it reports to the hook as the call's one decision. An allowed call is
// not reported: the adapter decides it once its request is read, with
// DecideVerified when a token was verified, with Decide when none was sent.
//
// A refusal that the request could change is left for later: when the
// rule reads the request, a PermissionDenied outcome (a claim, the scope,
// an alternative) is not returned, so that the reason is the one Decide
// would give with the request. Authentication failures (no token, one that
// does not verify, the wrong type) never depend on the request.
func (d *Decider) Authenticate(ctx context.Context, procedure string, rule *rules.Rule, raw string, readErr error, p *binding.Presented) (*manager.Token, error) {
	var start time.Duration
	if d.Hook != nil {
		start = elapsed()
	}
	tok, err := d.decide(ctx, rule, raw, readErr, p, rules.Deferred)
	if err == nil {
		return tok, nil
	}
	if kind, _ := rules.Classify(err); kind == rules.PermissionDenied && rule != nil && rule.ReadsRequest() {
		return tok, nil
	}
	if d.Hook != nil {
		d.report(ctx, procedure, tok, err, false, start)
	}
	return nil, err
}

// DecideVerified decides a call as Decide does, with tok already verified
// for this call by Authenticate: instead of verifying it again it checks
// that it has not expired since (by the Decider's Now), then checks rule
// against tok and the request variables, and reports the decision to the
// hook. tok must not be nil. It returns a non-nil error wrapping one of manager's sentinels when
// the call is denied.
func (d *Decider) DecideVerified(ctx context.Context, procedure string, rule *rules.Rule, tok *manager.Token, vars rules.Vars) error {
	var start time.Duration
	if d.Hook != nil {
		start = elapsed()
	}
	var err error
	switch {
	case rule == nil:
		err = rules.ErrNotDeclared
	case tok.Expired(d.now()):
		err = manager.ErrExpired
	default:
		err = rule.Check(tok, vars)
	}
	if d.Hook != nil {
		d.report(ctx, procedure, tok, err, false, start)
	}
	return err
}
