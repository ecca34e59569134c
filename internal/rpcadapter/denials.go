package rpcadapter

import (
	"errors"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/denial"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rules"
)

// Builder builds an adapter's denial D of one reason: its code and reason
// from the denial table, and the message a client reads.
type Builder[D any] func(code denial.Code, reason, msg string) D

// Denials answers the denials of an adapter, with what its transport needs
// (D: a gRPC status error, what a *connect.Error is made of), built once so
// that refusing a call builds nothing. It is immutable.
type Denials[D any] struct {
	build       Builder[D]
	toErr       func(D) error
	byReason    map[string]D
	notDeclared map[string]D // by method, naming it
	malformed   map[*bearer.RequestError]D
	detailed    bool
}

// Prebuild returns the denials of every reason of the denial table, which
// an adapter keeps for its package-level Deny and gives to New. toErr
// makes the error a handler returns of a denial: a gRPC status error is
// its own, connect makes a *connect.Error.
func Prebuild[D any](build Builder[D], toErr func(D) error) *Denials[D] {
	all := denial.All()
	d := &Denials[D]{build: build, toErr: toErr, byReason: make(map[string]D, len(all))}
	for reason, a := range all {
		d.byReason[reason] = build(a.Code, reason, a.Text)
	}
	// A credential malformed as a request is told what was wrong.
	m := denial.Of(protojwt.ReasonRequestMalformed)
	d.malformed = make(map[*bearer.RequestError]D)
	for _, e := range bearer.RequestErrors() {
		d.malformed[e] = build(m.Code, protojwt.ReasonRequestMalformed, e.Message)
	}
	return d
}

// named returns d with the denials of the methods of table that declare no
// rule, each naming its method with noun ("method", "procedure"), and
// messages that carry the error's text when detailed.
func (d *Denials[D]) named(table *methodrules.Table, noun string, detailed bool) Denials[D] {
	n := *d
	n.detailed = detailed
	n.notDeclared = make(map[string]D)
	a := denial.Of(protojwt.ReasonMethodNotDeclared)
	for _, name := range table.Undeclared() {
		n.notDeclared[name] = d.build(a.Code, protojwt.ReasonMethodNotDeclared,
			noun+" "+name+" not declared: it has no protojwt rule and no option opens it")
	}
	return n
}

// Deny returns the denial of a call of procedure for err, an error of the
// rule engine or the verifier: the reason [rules.Classify] finds, with the
// code and text of the denial table. The denial of a method of the
// resolver that declares no rule names it, so that a client sees which one
// to declare or open. With detailed errors, the message adds err's text;
// otherwise it never quotes err.
func (d *Denials[D]) Deny(procedure string, err error) D {
	_, reason := rules.Classify(err)
	switch reason {
	case protojwt.ReasonMethodNotDeclared:
		if nd, ok := d.notDeclared[procedure]; ok {
			return nd
		}
	case protojwt.ReasonRequestMalformed:
		if re, ok := errors.AsType[*bearer.RequestError](err); ok {
			if v, ok := d.malformed[re]; ok {
				return v
			}
		}
	}
	if d.detailed && err != nil {
		a := denial.Of(reason)
		return d.build(a.Code, reason, a.Text+": "+err.Error())
	}
	if v, ok := d.byReason[reason]; ok {
		return v
	}
	a := denial.Of(reason) // Classify returns only reasons of the table
	return d.build(a.Code, reason, a.Text)
}

// Err returns the error of Deny(procedure, err).
func (d *Denials[D]) Err(procedure string, err error) error {
	return d.toErr(d.Deny(procedure, err))
}

// Undeclared reports whether procedure is a method of the resolver that
// declares no rule and no option opens: one whose denial names it.
func (d *Denials[D]) Undeclared(procedure string) bool {
	_, ok := d.notDeclared[procedure]
	return ok
}
