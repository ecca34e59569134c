package connectauth

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rules"
)

// denial is what refusing a call for one reason needs, built once: the
// code, the message and the google.rpc.ErrorInfo detail, marshaled.
type denial struct {
	code   connect.Code
	msg    error
	detail *connect.ErrorDetail
}

// denials are the denials of every reason, by reason.
var denials = func() map[string]*denial {
	m := make(map[string]*denial)
	for reason, kind := range rules.Reasons() {
		m[reason] = newDenial(kind, reason, rules.Describe(reason))
	}
	return m
}()

// malformed are the denials of the requests whose credential is malformed
// as a request, saying what was wrong.
var malformed = func() map[*bearer.RequestError]*denial {
	m := make(map[*bearer.RequestError]*denial)
	for _, e := range bearer.RequestErrors() {
		m[e] = newDenial(rules.Malformed, protojwt.ReasonRequestMalformed, e.Message)
	}
	return m
}()

// denialError returns the *connect.Error that refuses a call of procedure
// for err, an error of the rule engine or the verifier:
// connect.CodeUnauthenticated, connect.CodePermissionDenied or
// connect.CodeUnavailable as rules.Classify decides, with a
// google.rpc.ErrorInfo detail (domain protojwt.Domain) that carries the
// stable reason. It is the one place where the interceptor turns errors
// into connect errors. The denial of a procedure of the resolver that
// declares no rule names it, so that a client sees which one to declare or
// open.
//
// The message and the detail are built once; the *connect.Error itself is
// new for each call, because a connect error is mutable (Meta, AddDetail)
// and an interceptor outside this one may add to it: a shared one would
// carry one call's additions into another's.
func (i *Interceptor) denialError(procedure string, err error) *connect.Error {
	kind, reason := rules.Classify(err)
	d, ok := denials[reason]
	if !ok {
		d = newDenial(kind, reason, "request refused") // Classify returns only known reasons
	}
	if reason == protojwt.ReasonMethodNotDeclared {
		if nd, ok := i.notDeclared[procedure]; ok {
			d = nd
		}
	}
	if re, ok := errors.AsType[*bearer.RequestError](err); ok && malformed[re] != nil {
		d = malformed[re]
	}
	e := connect.NewError(d.code, d.msg)
	if d.detail != nil {
		e.AddDetail(d.detail)
	}
	return e
}

// notDeclaredDetails builds the denial of each procedure of table that
// declares no rule, naming it. Procedures outside the resolver get the
// generic denial: a caller can't make a denial build anything.
func notDeclaredDetails(table *methodrules.Table) map[string]*denial {
	m := make(map[string]*denial)
	for _, name := range table.Undeclared() {
		m[name] = newDenial(rules.PermissionDenied, protojwt.ReasonMethodNotDeclared,
			"procedure "+name+" not declared: it has no protojwt rule and no option opens it")
	}
	return m
}

// newDenial builds the denial of one reason.
func newDenial(kind rules.Denial, reason, msg string) *denial {
	code := connect.CodeUnauthenticated
	switch kind {
	case rules.PermissionDenied:
		code = connect.CodePermissionDenied
	case rules.Unavailable:
		code = connect.CodeUnavailable
	}
	// ErrorInfo always marshals; if it ever did not, the code would stay.
	detail, _ := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: reason, Domain: protojwt.Domain})
	return &denial{code: code, msg: errors.New(msg), detail: detail}
}
