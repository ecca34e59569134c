package rules

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

// Vars looks up the request variables of one request. i indexes the names
// that Rule.Vars returned when the rule was compiled; ok is false when the
// variable is absent (which never matches a claim).
type Vars interface {
	Var(i int) (v Value, ok bool)
}

// Deferred is the Vars of a call whose request is not read yet, as when a
// stream opens: what reads the request holds for now and must be checked
// with Check on each message. Any other Vars, nil included, is read as it
// is, and an absent variable never matches.
var Deferred Vars = deferred{}

type deferred struct{}

func (deferred) Var(int) (Value, bool) { return Value{}, false }

// VarFunc adapts a function to Vars.
type VarFunc func(i int) (Value, bool)

// Var calls f(i).
func (f VarFunc) Var(i int) (Value, bool) { return f(i) }
