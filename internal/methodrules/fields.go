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
// [rules.Rule.Vars] names them.
type fieldSet struct {
	input protoreflect.MessageDescriptor
	names []string
	paths []fieldPath
	// others holds the same paths resolved against another descriptor of the
	// input message (same full name), as when the resolver's descriptors were
	// built apart from the request's generated type: [protoreflect.Message]
	// accessors must be given the message's own field descriptors. Keys are
	// [protoreflect.MessageDescriptor], values *fieldSet, nil when the paths
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

// message returns req as a message and the fieldSet that reads it: s, or
// s resolved against the message's own descriptor; nil for either when req
// is not a valid message of s's input.
func (s *fieldSet) message(req any) (protoreflect.Message, *fieldSet) {
	pm, ok := req.(proto.Message)
	if !ok || pm == nil {
		return nil, nil
	}
	m := pm.ProtoReflect()
	if !m.IsValid() {
		return nil, nil
	}
	if d := m.Descriptor(); d != s.input {
		return m, s.other(d)
	}
	return m, s
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

// fieldSet is the [rules.Source] of the method's requests: it reads the
// variables of a request message on demand.
var _ rules.RequestSource = (*fieldSet)(nil)

// Var returns the value of variable i of req, absent when req is not a
// message of the method's input or a field on its path is not set.
func (s *fieldSet) Var(req any, i int) (rules.Value, bool) {
	m, set := s.message(req)
	if set == nil || i < 0 || i >= len(set.paths) {
		return rules.Value{}, false
	}
	return set.paths[i].value(m)
}

// Message returns req, for expressions; nil when it is not a valid message.
func (s *fieldSet) Message(req any) proto.Message {
	m, _ := s.message(req)
	if m == nil {
		return nil
	}
	return m.Interface()
}

// Path returns nil: RPCs have no path wildcards.
func (*fieldSet) Path(any) map[string]string { return nil }

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
