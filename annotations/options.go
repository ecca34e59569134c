package annotations

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// extensionTypes knows protojwt's extensions, to re-read options that were
// parsed before those extensions were registered. It is built on first use:
// package variables are initialized before the generated init function that
// builds E_Rule and E_DefaultRule, so they can't be registered earlier.
var extensionTypes = sync.OnceValue(func() *protoregistry.Types {
	types := new(protoregistry.Types)
	for _, xt := range []protoreflect.ExtensionType{E_Rule, E_DefaultRule} {
		if err := types.RegisterExtension(xt); err != nil {
			panic(err) // two fixed, distinct extensions: cannot fail
		}
	}
	return types
})

// MethodRule returns the rule declared on a method with the
// (protojwt.v1.rule) option, and whether there is one.
//
// It reads the option whatever way the descriptor was built: from generated
// code, or from a descriptor set parsed at run time, where the option may sit
// in the options' unknown fields or in a dynamic message.
func MethodRule(md protoreflect.MethodDescriptor) (*Rule, bool, error) {
	return readRule(md.Options(), new(descriptorpb.MethodOptions), E_Rule)
}

// ServiceDefaultRule returns the rule declared on a service with the
// (protojwt.v1.default_rule) option, and whether there is one. Like
// [MethodRule] it reads options however they were parsed.
func ServiceDefaultRule(sd protoreflect.ServiceDescriptor) (*Rule, bool, error) {
	return readRule(sd.Options(), new(descriptorpb.ServiceOptions), E_DefaultRule)
}

// readRule reads the extension xt from opts. From descriptorpb's generated
// options with the extension known it is read directly; otherwise (a dynamic
// message, a foreign extension type, or the extension still in unknown fields)
// opts is marshaled and parsed again into empty, with a resolver that knows
// protojwt's extensions.
func readRule(opts, empty proto.Message, xt protoreflect.ExtensionType) (*Rule, bool, error) {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil, false, nil
	}
	switch opts.(type) {
	case *descriptorpb.MethodOptions, *descriptorpb.ServiceOptions:
		if proto.HasExtension(opts, xt) {
			if r, ok := proto.GetExtension(opts, xt).(*Rule); ok {
				return r, true, nil
			}
		} else if len(opts.ProtoReflect().GetUnknown()) == 0 {
			return nil, false, nil
		}
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err == nil {
		err = proto.UnmarshalOptions{Resolver: extensionTypes()}.Unmarshal(raw, empty)
	}
	if err != nil {
		return nil, false, fmt.Errorf("protojwt: reading option %s: %w", xt.TypeDescriptor().FullName(), err)
	}
	if !proto.HasExtension(empty, xt) {
		return nil, false, nil
	}
	r, ok := proto.GetExtension(empty, xt).(*Rule)
	return r, ok, nil
}

// Source says where the rule of a method comes from.
type Source int

const (
	// SourceNone: the method has no rule of its own and its service no
	// default_rule. The adapters deny it unless an option opens it.
	SourceNone Source = iota
	// SourceMethod: the method's (protojwt.v1.rule).
	SourceMethod
	// SourceService: its service's (protojwt.v1.default_rule).
	SourceService
	// SourceRuleSetMethod: the methods entry of a RuleSet (WithRuleSet).
	SourceRuleSetMethod
	// SourceRuleSetService: the services entry of a RuleSet for the
	// method's service.
	SourceRuleSetService
)

// String returns "none", "method", "service_default", "rule_set_method"
// or "rule_set_service".
func (s Source) String() string {
	switch s {
	case SourceMethod:
		return "method"
	case SourceService:
		return "service_default"
	case SourceRuleSetMethod:
		return "rule_set_method"
	case SourceRuleSetService:
		return "rule_set_service"
	}
	return "none"
}

// EffectiveRule returns the rule that governs calls of md, in the one
// resolution order every protojwt adapter uses: the method's
// (protojwt.v1.rule), which replaces the service's default whole; else its
// service's (protojwt.v1.default_rule); else none ([SourceNone], a nil rule).
// An option that can't be read is an error, with the Source it came from.
func EffectiveRule(md protoreflect.MethodDescriptor) (*Rule, Source, error) {
	rule, has, err := MethodRule(md)
	switch {
	case err != nil:
		return nil, SourceMethod, err
	case has:
		return rule, SourceMethod, nil
	}
	sd, ok := md.Parent().(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, SourceNone, nil
	}
	def, has, err := ServiceDefaultRule(sd)
	switch {
	case err != nil:
		return nil, SourceService, err
	case has:
		return def, SourceService, nil
	}
	return nil, SourceNone, nil
}
