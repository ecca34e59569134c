package audit

import (
	"context"
	"log/slog"
	"unicode/utf8"

	"github.com/protojwt/protojwt"
)

// Keys of the attributes of an audit record.
const (
	KeyProcedure = "procedure" // the gRPC method or HTTP route
	KeyStage     = "stage"     // "call" when it opens, "message" for a stream message
	KeyReason    = "reason"    // the stable reason of a denial (protojwt.Reason*)
	KeySubject   = "subject"   // the token's "sub", when it verified
	KeyIssuer    = "issuer"    // the token's "iss", when it verified
	KeyTokenID   = "token_id"  // the token's "jti", when it verified
	KeyError     = "error"     // the cause of a denial
	KeyDuration  = "duration"  // the time spent deciding
	KeyDryRun    = "dry_run"   // true for a decision of dry run: reported, not enforced
)

// Messages of audit records.
const (
	MessageDenied  = "protojwt: denied"
	MessageAllowed = "protojwt: allowed"
	// MessageWouldDeny is the record of a dry run's decision that enforcing
	// would have denied ([protojwt.Decision.DryRun] with a Reason): the call
	// went on. It is written at the level of denials.
	MessageWouldDeny = "protojwt: would deny (dry run)"
)

// maxProcedure bounds the procedure written: a gRPC method name that is not
// declared is chosen by the caller, and may be long.
const maxProcedure = 256

// Option configures Hook.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	allowed       bool
	deniedLevel   slog.Level
	allowedLevel  slog.Level
	loggerDefault bool
}

// WithAllowed writes a record for every allowed call and stream message
// too. By default, only denials are written.
func WithAllowed() Option {
	return optionFunc(func(c *config) { c.allowed = true })
}

// WithLevels sets the levels of the records of denials and of allowed
// decisions. By default, denials are written at [slog.LevelWarn] and allowed
// decisions at [slog.LevelInfo].
func WithLevels(denied, allowed slog.Level) Option {
	return optionFunc(func(c *config) { c.deniedLevel, c.allowedLevel = denied, allowed })
}

// Hook returns a decision hook, for the WithDecisionHook option of every
// adapter (interceptor, connectauth, httpauth), that writes one record to
// logger per denied call or stream message, with the message
// [MessageDenied] and the attributes named by the Key* constants: the
// procedure (cut to 256 bytes), the stage, the reason, the error, the time
// spent deciding, and, when the token verified, its subject, issuer and ID.
// A decision of dry run that enforcing would have denied is written as a
// denial is, with the message [MessageWouldDeny] and dry_run=true: the call
// went on, and the record says what enforcing would have done.
// It never writes the token or its claims. Records go through
// Logger.LogAttrs with the call's context, so that handlers can add its
// trace. A nil logger means slog.Default(), read at each decision. The hook
// is safe for concurrent use.
func Hook(logger *slog.Logger, opts ...Option) func(context.Context, protojwt.Decision) {
	c := config{deniedLevel: slog.LevelWarn, allowedLevel: slog.LevelInfo, loggerDefault: logger == nil}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&c)
		}
	}
	return func(ctx context.Context, d protojwt.Decision) {
		wouldDeny := d.DryRun && d.Reason != ""
		if d.Allowed && !wouldDeny && !c.allowed {
			return
		}
		l := logger
		if c.loggerDefault {
			l = slog.Default()
		}
		level, msg := c.deniedLevel, MessageDenied
		switch {
		case wouldDeny:
			msg = MessageWouldDeny
		case d.Allowed:
			level, msg = c.allowedLevel, MessageAllowed
		}
		if !l.Enabled(ctx, level) {
			return
		}
		l.LogAttrs(ctx, level, msg, attributes(d)...)
	}
}

// attributes returns the attributes of the record of d.
func attributes(d protojwt.Decision) []slog.Attr {
	stage := "call"
	if d.Message {
		stage = "message"
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String(KeyProcedure, truncate(d.Procedure, maxProcedure)),
		slog.String(KeyStage, stage))
	if !d.Allowed || d.Reason != "" {
		attrs = append(attrs, slog.String(KeyReason, d.Reason))
	}
	if d.DryRun {
		attrs = append(attrs, slog.Bool(KeyDryRun, true))
	}
	if t := d.Token; t != nil {
		attrs = append(attrs,
			slog.String(KeySubject, t.Subject),
			slog.String(KeyIssuer, t.Issuer),
			slog.String(KeyTokenID, t.ID))
	}
	if d.Err != nil {
		attrs = append(attrs, slog.String(KeyError, d.Err.Error()))
	}
	return append(attrs, slog.Duration(KeyDuration, d.Duration))
}

// truncate cuts s to at most n bytes, at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
