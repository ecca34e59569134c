package celexpr

import (
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Comparisons of strings read where they are. CEL evaluates
// request.owner == claims.sub by converting each side to a CEL value, a
// string copied into a new interface each, and 'admin' in claims.roles by
// wrapping the claim's array as a CEL list: allocations that cost more than
// the comparisons. In the programs that track no cost (see linear),
// directComparisons plans ==, != and `in` whose operands are claims, path
// wildcards, string fields of the request and string literals as nodes
// that read the strings in place and compare them. When a value read is
// not a string (a claim absent, a number, a map where a list was expected,
// a request absent or of another type), the node runs the node CEL
// planned, so that every result and every error is CEL's.

// directComparisons returns the decorator of the programs of expressions
// about request (nil: an HTTP route) that replaces comparisons of strings
// with nodes that read them in place.
func directComparisons(request protoreflect.MessageDescriptor) interpreter.InterpretableDecoratorV2 {
	return func(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
		call, ok := i.(interpreter.InterpretableCall)
		if !ok || len(call.Args()) != 2 {
			return i, nil
		}
		lhs, lok := operandOf(call.Args()[0], request)
		rhs, rok := operandOf(call.Args()[1], request)
		if !lok || !rok {
			return i, nil
		}
		if lhs.kind == listOperand {
			return i, nil
		}
		switch call.Function() {
		case operators.Equals, operators.NotEquals:
			if rhs.kind == listOperand || lhs.kind == literalOperand && rhs.kind == literalOperand {
				return i, nil // two literals read nothing
			}
			return &directEquals{cel: call, lhs: lhs, rhs: rhs, negated: call.Function() == operators.NotEquals}, nil
		case operators.In:
			if rhs.kind != claimOperand && rhs.kind != listOperand {
				return i, nil
			}
			return &directIn{cel: call, needle: lhs, list: rhs}, nil
		}
		return i, nil
	}
}

// The kinds of operand a comparison reads in place.
type operandKind uint8

const (
	literalOperand operandKind = iota // a string literal
	claimOperand                      // claims.a, claims["a"], claims.a.b
	pathOperand                       // path.name, path["name"]
	fieldOperand                      // request.name, request.a.name
	listOperand                       // a list literal of strings
)

// operand is a value a comparison reads without converting it to a CEL
// value.
type operand struct {
	kind    operandKind
	literal string
	set     map[string]bool                // listOperand: the strings of the list
	keys    []string                       // claimOperand, pathOperand: the keys from the variable
	request protoreflect.MessageDescriptor // fieldOperand: the request's type
	fields  []protoreflect.FieldDescriptor // fieldOperand: singular messages, then a string
}

// operandOf returns the operand that CEL's node i reads, when i is a string
// literal, a list literal of strings (which CEL has made a constant), or a
// variable's attribute with constant, mandatory qualifiers whose value an
// operand can read as CEL would.
func operandOf(i interpreter.InterpretableV2, request protoreflect.MessageDescriptor) (operand, bool) {
	switch n := i.(type) {
	case interpreter.InterpretableConst:
		switch v := n.Value().(type) {
		case types.String:
			return operand{kind: literalOperand, literal: string(v)}, true
		case traits.Lister:
			if v.Size() == types.IntZero {
				// CEL's optimizer makes x in [] false, even when x is
				// an error.
				return operand{}, false
			}
			o := operand{kind: listOperand, set: map[string]bool{}}
			for it := v.Iterator(); it.HasNext() == types.True; {
				s, ok := it.Next().(types.String)
				if !ok {
					return operand{}, false
				}
				o.set[string(s)] = true
			}
			return o, true
		}
	case interpreter.InterpretableAttribute:
		attr, ok := n.Attr().(interpreter.NamespacedAttribute)
		if !ok || n.IsOptional() || len(attr.CandidateVariableNames()) != 1 || len(attr.Qualifiers()) == 0 {
			return operand{}, false
		}
		var keys []string
		for _, q := range attr.Qualifiers() {
			c, ok := q.(interpreter.ConstantQualifier)
			if !ok || q.IsOptional() {
				return operand{}, false
			}
			key, ok := c.Value().(types.String)
			if !ok {
				return operand{}, false
			}
			keys = append(keys, string(key))
		}
		switch attr.CandidateVariableNames()[0] {
		case varClaims:
			return operand{kind: claimOperand, keys: keys}, true
		case varPath:
			return operand{kind: pathOperand, keys: keys}, request == nil && len(keys) == 1
		case varRequest:
			return fieldsOf(request, keys)
		}
	}
	return operand{}, false
}

// fieldsOf returns the operand that reads request.keys[0].keys[1]...: each
// field but the last a singular message field, the last a singular string
// field. CEL reads a well-known type (a wrapper, a Struct, a Timestamp) as
// another value than its message, so these are left to CEL.
func fieldsOf(request protoreflect.MessageDescriptor, keys []string) (operand, bool) {
	if request == nil {
		return operand{}, false
	}
	o := operand{kind: fieldOperand, request: request}
	msg := request
	for i, key := range keys {
		if msg.ParentFile().Package() == "google.protobuf" {
			return operand{}, false
		}
		fd := msg.Fields().ByName(protoreflect.Name(key))
		if fd == nil || fd.Cardinality() == protoreflect.Repeated {
			return operand{}, false
		}
		o.fields = append(o.fields, fd)
		if i == len(keys)-1 {
			return o, fd.Kind() == protoreflect.StringKind
		}
		if fd.Kind() != protoreflect.MessageKind {
			return operand{}, false
		}
		msg = fd.Message()
	}
	return operand{}, false
}

// claim returns the value of a claim operand, as CEL's attribute finds it,
// and whether it is there.
func (o *operand) claim(a *activation) (any, bool) {
	var v any = a.in.Claims
	for _, key := range o.keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// text returns the operand's value, and whether it is a string that CEL
// reads as the same string.
func (o *operand) text(a *activation) (string, bool) {
	switch o.kind {
	case literalOperand:
		return o.literal, true
	case pathOperand:
		s, ok := a.in.Path[o.keys[0]]
		return s, ok
	case fieldOperand:
		if a.in.Request == nil {
			return "", false
		}
		m := a.in.Request.ProtoReflect()
		if !m.IsValid() || m.Descriptor() != o.request {
			return "", false
		}
		last := len(o.fields) - 1
		for _, fd := range o.fields[:last] {
			// An unset message reads as its type's empty message, whose
			// fields read as their defaults, as CEL reads them.
			m = m.Get(fd).Message()
			if m.Descriptor() != fd.Message() {
				return "", false
			}
		}
		return m.Get(o.fields[last]).String(), true
	}
	v, ok := o.claim(a)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// directEquals is lhs == rhs, or lhs != rhs when negated, of two operands
// that are strings: CEL's equality of two strings is the equality of their
// bytes.
type directEquals struct {
	cel      interpreter.InterpretableV2 // CEL's node, for any other values
	lhs, rhs operand
	negated  bool
}

// ID implements [interpreter.Interpretable].
func (e *directEquals) ID() int64 { return e.cel.ID() }

// Eval implements [interpreter.Interpretable], as CEL's node.
func (e *directEquals) Eval(vars interpreter.Activation) ref.Val { return e.cel.Eval(vars) }

// Exec implements [interpreter.InterpretableV2].
func (e *directEquals) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	if a, ok := frame.Activation.(*activation); ok {
		if l, ok := e.lhs.text(a); ok {
			if r, ok := e.rhs.text(a); ok {
				return types.Bool((l == r) != e.negated)
			}
		}
	}
	return e.cel.Exec(frame)
}

// directIn is needle in list, of a string needle and a list literal of
// strings or a claim that is a JSON array: CEL's list holds the needle when
// one of its elements equals it, and an element that is not a string
// equals no string. It is no [interpreter.InterpretableCall], so that CEL's
// optimizer leaves it as it is rather than plan the call again as a set of
// CEL values.
type directIn struct {
	cel          interpreter.InterpretableV2 // CEL's node, for any other values
	needle, list operand
}

// ID implements [interpreter.Interpretable].
func (n *directIn) ID() int64 { return n.cel.ID() }

// Eval implements [interpreter.Interpretable], as CEL's node.
func (n *directIn) Eval(vars interpreter.Activation) ref.Val { return n.cel.Eval(vars) }

// Exec implements [interpreter.InterpretableV2].
func (n *directIn) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	if a, ok := frame.Activation.(*activation); ok {
		if found, ok := n.contains(a); ok {
			return types.Bool(found)
		}
	}
	return n.cel.Exec(frame)
}

// contains reports whether the list holds the needle, when the needle is a
// string and the list a list literal or a JSON array.
func (n *directIn) contains(a *activation) (found, ok bool) {
	var items []any
	if n.list.kind == claimOperand {
		v, _ := n.list.claim(a)
		if items, ok = v.([]any); !ok {
			return false, false
		}
	}
	s, ok := n.needle.text(a)
	if !ok {
		return false, false
	}
	if n.list.kind == listOperand {
		return n.list.set[s], true
	}
	for _, item := range items {
		if t, ok := item.(string); ok && t == s {
			return true, true
		}
	}
	return false, true
}
