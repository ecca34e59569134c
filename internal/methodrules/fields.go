package methodrules

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/rules"
)

// fieldPath reads one request variable: the fields from the request message
// down to a singular scalar, resolved once when the interceptor is built.
type fieldPath []protoreflect.FieldDescriptor

// fieldSet reads the request variables of one method's rule, indexed as
// rules.Rule.Vars names them.
type fieldSet struct {
	input protoreflect.MessageDescriptor
	names []string
	paths []fieldPath
	// others holds the same paths resolved against another descriptor of the
	// input message (same full name), as when the resolver's descriptors were
	// built apart from the request's generated type: protoreflect.Message
	// accessors must be given the message's own field descriptors. Keys are
	// protoreflect.MessageDescriptor, values *fieldSet, nil when the paths
	// don't fit that descriptor.
	others sync.Map
}

// compileFields resolves the field paths names against the input message.
func compileFields(input protoreflect.MessageDescriptor, names []string) (*fieldSet, error) {
	s := &fieldSet{input: input, names: names, paths: make([]fieldPath, len(names))}
	for i, name := range names {
		p, err := compilePath(input, name)
		if err != nil {
			return nil, &fieldError{path: name, err: fmt.Errorf("%w: field path %q: %s", protojwt.ErrInvalidRule, name, err)}
		}
		s.paths[i] = p
	}
	return s, nil
}

// fieldError is a field path that can't be compiled.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.err.Error() }

func (e *fieldError) Unwrap() error { return e.err }

// compilePath resolves one dotted path of proto field names ("user.id"):
// every field but the last a singular message, the last a singular scalar
// that is not bytes.
func compilePath(md protoreflect.MessageDescriptor, path string) (fieldPath, error) {
	parts := strings.Split(path, ".")
	p := make(fieldPath, 0, len(parts))
	for i, part := range parts {
		if part == "" {
			return nil, errors.New("empty field name")
		}
		fd := md.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			return nil, fmt.Errorf("message %s has no field %q", md.FullName(), part)
		}
		last := i == len(parts)-1
		switch {
		case fd.IsMap():
			return nil, fmt.Errorf("field %s is a map; a claim needs a singular scalar field", fd.FullName())
		case fd.IsList():
			return nil, fmt.Errorf("field %s is repeated; a claim needs a singular scalar field", fd.FullName())
		case !last && fd.Message() == nil:
			return nil, fmt.Errorf("field %s is a %s, not a message: it has no field %q", fd.FullName(), fd.Kind(), parts[i+1])
		case last && fd.Message() != nil:
			return nil, fmt.Errorf("field %s is a message; a claim needs a singular scalar field", fd.FullName())
		case last && fd.Kind() == protoreflect.BytesKind:
			return nil, fmt.Errorf("field %s is bytes; a claim needs a string, number, bool or enum field", fd.FullName())
		}
		p = append(p, fd)
		md = fd.Message()
	}
	return p, nil
}

// of returns the variables of one request message.
func (s *fieldSet) of(req any) requestVars {
	pm, ok := req.(proto.Message)
	if !ok || pm == nil {
		return requestVars{}
	}
	m := pm.ProtoReflect()
	if !m.IsValid() {
		return requestVars{}
	}
	if d := m.Descriptor(); d != s.input {
		return requestVars{set: s.other(d), msg: m}
	}
	return requestVars{set: s, msg: m}
}

// other returns s resolved against d, another descriptor of s's input
// message, or nil when d describes another message or the paths don't fit it
// (the variables are then absent and never match).
func (s *fieldSet) other(d protoreflect.MessageDescriptor) *fieldSet {
	if d.FullName() != s.input.FullName() {
		return nil
	}
	if o, ok := s.others.Load(d); ok {
		return o.(*fieldSet)
	}
	o, err := compileFields(d, s.names)
	if err != nil {
		o = nil
	}
	s.others.Store(d, o)
	return o
}

// requestVars are the variables of one request message, read on demand.
type requestVars struct {
	set *fieldSet
	msg protoreflect.Message
}

// Message returns the request message, for expressions; nil when the
// request is not a message.
func (v requestVars) Message() proto.Message {
	if v.msg == nil {
		return nil
	}
	return v.msg.Interface()
}

// Path returns nil: RPCs have no path wildcards.
func (requestVars) Path() map[string]string { return nil }

// Var returns the value of the variable numbered i, absent when a field on
// its path is not set.
func (v requestVars) Var(i int) (rules.Value, bool) {
	if v.set == nil || i < 0 || i >= len(v.set.paths) {
		return rules.Value{}, false
	}
	return v.set.paths[i].value(v.msg)
}

// value reads the path's scalar from m.
func (p fieldPath) value(m protoreflect.Message) (rules.Value, bool) {
	last := len(p) - 1
	for _, fd := range p[:last] {
		if !m.Has(fd) {
			return rules.Value{}, false
		}
		m = m.Get(fd).Message()
	}
	fd := p[last]
	if !m.Has(fd) {
		return rules.Value{}, false
	}
	v := m.Get(fd)
	switch fd.Kind() {
	case protoreflect.StringKind:
		return rules.String(v.String()), true
	case protoreflect.BoolKind:
		return rules.Bool(v.Bool()), true
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return rules.Value{}, false // a number the enum does not name
		}
		return rules.String(string(ev.Name())), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return rules.Int(v.Int()), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return rules.Uint(v.Uint()), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return rules.Number(v.Float()), true
	}
	return rules.Value{}, false
}
