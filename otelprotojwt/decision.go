package otelprotojwt

import (
	"context"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/protojwt/protojwt"
)

// Attribute keys of decisions.
const (
	keyOutcome = attribute.Key("protojwt.outcome")
	keyReason  = attribute.Key("protojwt.reason")
	keyStage   = attribute.Key("protojwt.stage")
)

// eventName is the name of the span event of a decision.
const eventName = "protojwt.decision"

// maxRecordings bounds the attribute sets kept: one per recognized
// procedure, outcome, reason and stage, which only a resolver of thousands
// of methods, all called and denied for every reason, would exceed. Beyond
// it, decisions are recorded with sets built for the call.
const maxRecordings = 1 << 12

// reasons are the reasons recorded by name; any other is recorded as
// "_OTHER".
var reasons = map[string]bool{
	protojwt.ReasonTokenMissing:          true,
	protojwt.ReasonTokenInvalid:          true,
	protojwt.ReasonRequestMalformed:      true,
	protojwt.ReasonTokenExpired:          true,
	protojwt.ReasonTokenRevoked:          true,
	protojwt.ReasonTokenType:             true,
	protojwt.ReasonClaimMismatch:         true,
	protojwt.ReasonScopeMissing:          true,
	protojwt.ReasonNoAlternative:         true,
	protojwt.ReasonExpressionFalse:       true,
	protojwt.ReasonExpressionError:       true,
	protojwt.ReasonMethodNotDeclared:     true,
	protojwt.ReasonCSRF:                  true,
	protojwt.ReasonRevocationUnavailable: true,
	protojwt.ReasonProofMissing:          true,
	protojwt.ReasonProofInvalid:          true,
}

// decisionKey identifies the attributes of a decision. Recognized
// procedures are keyed by name; the others by how they are recorded, so
// that names chosen by callers never grow the map.
type decisionKey struct {
	procedure string
	reason    string
	other     unrecognized
	allowed   bool
	message   bool
}

// recording holds the options of one kind of decision, built once: the
// warm path allocates nothing of its own.
type recording struct {
	add    []metric.AddOption
	record []metric.RecordOption
	event  []trace.EventOption
}

// DecisionHook returns the hook to give to the adapters' WithDecisionHook
// options (interceptor, connectauth, httpauth). For each decision it adds
// one to protojwt.decisions, records the time spent deciding in
// protojwt.decision.duration, and adds a protojwt.decision event to the
// span of ctx when that span is recording. The hook is safe for concurrent
// use.
func (t *Telemetry) DecisionHook() func(context.Context, protojwt.Decision) {
	return t.decide
}

func (t *Telemetry) decide(ctx context.Context, d protojwt.Decision) {
	count, timed := t.decisions.Enabled(ctx), t.duration.Enabled(ctx)
	span := trace.SpanFromContext(ctx)
	recording := span.IsRecording()
	if !count && !timed && !recording {
		return // a no-op provider and no span: nothing to look up
	}
	key := decisionKey{procedure: d.Procedure, allowed: d.Allowed, message: d.Message}
	if !d.Allowed {
		key.reason = d.Reason
	}
	r := (*t.recordings.Load())[key]
	if r == nil {
		r = t.recordingOf(key)
	}
	if count {
		t.decisions.Add(ctx, 1, r.add...)
	}
	if timed {
		t.duration.Record(ctx, d.Duration.Seconds(), r.record...)
	}
	if recording {
		span.AddEvent(eventName, r.event...)
	}
}

// recordingOf returns the recording of the decisions of key, built and kept
// on first use.
func (t *Telemetry) recordingOf(key decisionKey) *recording {
	procAttrs, kind := t.procedures.attributes(key.procedure)
	if kind != recognized {
		key.procedure, key.other = "", kind
	}
	if key.reason != "" && !reasons[key.reason] {
		key.reason = other
	}
	if r := (*t.recordings.Load())[key]; r != nil {
		return r
	}
	attrs := slices.Clone(procAttrs)
	outcome, stage := "allowed", "call"
	if !key.allowed {
		outcome = "denied"
		attrs = append(attrs, keyReason.String(key.reason))
	}
	if key.message {
		stage = "message"
	}
	attrs = append(attrs, keyOutcome.String(outcome), keyStage.String(stage))
	set := attribute.NewSet(attrs...)
	r := &recording{
		add:    []metric.AddOption{metric.WithAttributeSet(set)},
		record: []metric.RecordOption{metric.WithAttributeSet(set)},
		event:  []trace.EventOption{trace.WithAttributes(attrs...)},
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.recordings.Load()
	if kept := old[key]; kept != nil {
		return kept
	}
	if len(old) >= t.maxRecordings {
		return r
	}
	next := make(map[decisionKey]*recording, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = r
	t.recordings.Store(&next)
	return r
}
