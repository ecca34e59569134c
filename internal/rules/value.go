package rules

import "google.golang.org/protobuf/proto"

// Value is the value of a request variable: a string (an HTTP path value, a
// proto string or enum name), a number or a boolean. Integers are held
// exactly, never rounded through float64.
type Value struct {
	kind valueKind
	str  string
	num  float64
	i    int64
	u    uint64
	b    bool
}

type valueKind uint8

const (
	stringValue valueKind = iota + 1
	numberValue
	intValue
	uintValue
	boolValue
)

// String returns a string Value.
func String(s string) Value { return Value{kind: stringValue, str: s} }

// Number returns a floating-point number Value.
func Number(f float64) Value { return Value{kind: numberValue, num: f} }

// Int returns a signed integer Value, compared exactly.
func Int(i int64) Value { return Value{kind: intValue, i: i} }

// Uint returns an unsigned integer Value, compared exactly.
func Uint(u uint64) Value { return Value{kind: uintValue, u: u} }

// Bool returns a boolean Value.
func Bool(b bool) Value { return Value{kind: boolValue, b: b} }

// Vars are the request variables of one request: a Source, prepared when
// the adapter was built, reading them out of the request on demand. i
// indexes the names that Rule.Vars returned when the rule was compiled.
// Vars is a small value passed as it is, so that deciding a call that reads
// its request allocates nothing. The zero Vars has every variable absent,
// which never matches a claim.
type Vars struct {
	src Source
	req any
}

// Source reads the request variables of one method or route out of its
// requests.
type Source interface {
	// Var returns variable i of req; ok is false when it is absent.
	Var(req any, i int) (v Value, ok bool)
}

// RequestSource is the Source of an adapter whose rules may have an
// expression that reads the request: the request message (gRPC, connect)
// or the path wildcards (HTTP).
type RequestSource interface {
	Source
	// Message returns the request message, nil for HTTP.
	Message(req any) proto.Message
	// Path returns the path wildcards, nil for gRPC and connect.
	Path(req any) map[string]string
}

// VarsOf returns the variables of req, read by src.
func VarsOf(src Source, req any) Vars { return Vars{src: src, req: req} }

// Var returns variable i, ok false when it is absent.
func (v Vars) Var(i int) (Value, bool) {
	if v.src == nil {
		return Value{}, false
	}
	return v.src.Var(v.req, i)
}

// Deferred is the Vars of a call whose request is not read yet, as when a
// stream opens: what reads the request holds for now and must be checked
// with Check on each message. Any other Vars, the zero Vars included, is
// read as it is, and an absent variable never matches.
var Deferred = Vars{src: deferred{}}

type deferred struct{}

func (deferred) Var(any, int) (Value, bool) { return Value{}, false }

// deferred reports whether v is Deferred.
func (v Vars) deferred() bool {
	_, ok := v.src.(deferred)
	return ok
}

// request returns what an expression reads of the request: its message or
// its path wildcards; none when the Source can't tell.
func (v Vars) request() (proto.Message, map[string]string) {
	rs, ok := v.src.(RequestSource)
	if !ok {
		return nil, nil
	}
	return rs.Message(v.req), rs.Path(v.req)
}

// VarFunc returns the Vars whose variable i is f(i).
func VarFunc(f func(i int) (Value, bool)) Vars { return Vars{src: funcSource{}, req: f} }

// funcSource is the Source of [VarFunc]: its request is the function.
type funcSource struct{}

func (funcSource) Var(req any, i int) (Value, bool) {
	return req.(func(int) (Value, bool))(i)
}
