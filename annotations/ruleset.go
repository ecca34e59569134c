package annotations

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt"
)

// MaxRuleSetSize bounds the file [ReadRuleSet] reads, and the data
// [ParseRuleSet] parses: a rule set is a page of text, not megabytes.
const MaxRuleSetSize = 4 << 20

// ParseRuleSet parses data, the text format (textproto) of
// protojwt.v1.RuleSet, for services whose .proto can't carry protojwt's
// options:
//
//	methods {
//	  key: "/grpc.health.v1.Health/Watch"
//	  value { scopes: "health:watch" }
//	}
//	services {
//	  key: "grpc.health.v1.Health"
//	  value { public: true }
//	}
//
// A method's entry replaces its service's entry whole, as a method's
// (protojwt.v1.rule) replaces its service's default_rule. An error wraps
// [protojwt.ErrInvalidRule] and says where: the line and column of a syntax
// error, or the key that is not a full method name ("/pkg.Service/Method")
// or full service name ("pkg.Service"), or whose rule is missing. Whether
// the names exist, and the rules compile, is checked when an adapter is
// built with it (WithRuleSet), against the services it serves.
func ParseRuleSet(data []byte) (*RuleSet, error) {
	if len(data) > MaxRuleSetSize {
		return nil, fmt.Errorf("%w: rule set: %d bytes, over %d", protojwt.ErrInvalidRule, len(data), MaxRuleSetSize)
	}
	set := new(RuleSet)
	if err := prototext.Unmarshal(data, set); err != nil {
		// prototext's messages begin "proto:" and a space that may be a
		// non-breaking one.
		msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
		return nil, fmt.Errorf("%w: rule set: not a protojwt.v1.RuleSet in text format: %s", protojwt.ErrInvalidRule, msg)
	}
	if errs := CheckRuleSetNames(set); len(errs) > 0 {
		return nil, fmt.Errorf("%w: rule set: %w", protojwt.ErrInvalidRule, errors.Join(errs...))
	}
	return set, nil
}

// ReadRuleSet reads the file at path and parses it with [ParseRuleSet]. Its
// errors name the file.
func ReadRuleSet(path string) (*RuleSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("protojwt: rule set: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRuleSetSize+1))
	if err != nil {
		return nil, fmt.Errorf("protojwt: rule set %s: %w", path, err)
	}
	set, err := ParseRuleSet(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, nil
}

// CheckRuleSetNames returns an error for each key of set that is not a
// full method name "/pkg.Service/Method" (methods) or a full service name
// "pkg.Service" (services), and each entry with no rule (a nil *Rule, which
// only Go code can build). It does not look the names up: that needs the
// services an adapter serves.
func CheckRuleSetNames(set *RuleSet) []error {
	var errs []error
	for _, name := range sortedKeys(set.GetMethods()) {
		if !validMethodName(name) {
			errs = append(errs, fmt.Errorf("methods: %q is not a full method name \"/package.Service/Method\"", name))
		} else if set.GetMethods()[name] == nil {
			errs = append(errs, fmt.Errorf("methods: %s has no rule", name))
		}
	}
	for _, name := range sortedKeys(set.GetServices()) {
		if !protoreflect.FullName(name).IsValid() {
			errs = append(errs, fmt.Errorf("services: %q is not a full service name \"package.Service\"", name))
		} else if set.GetServices()[name] == nil {
			errs = append(errs, fmt.Errorf("services: %s has no rule", name))
		}
	}
	return errs
}

// RuleSetRule returns the rule set's rule for md: its methods entry, which
// replaces its service's entry whole, else its services entry, else none
// ([SourceNone]). A nil set has none. It does not read md's options: see
// [EffectiveRuleIn].
func RuleSetRule(set *RuleSet, md protoreflect.MethodDescriptor) (*Rule, Source) {
	service := string(md.Parent().FullName())
	if r, ok := set.GetMethods()["/"+service+"/"+string(md.Name())]; ok {
		return r, SourceRuleSetMethod
	}
	if r, ok := set.GetServices()[service]; ok {
		return r, SourceRuleSetService
	}
	return nil, SourceNone
}

// EffectiveRuleIn returns the rule that governs calls of md when the
// adapter is given set (WithRuleSet): the rule of [EffectiveRule] (md's
// options), else that of [RuleSetRule] (set's entries), else none. A nil set
// makes it [EffectiveRule].
//
// A method's rule has one source: a method governed both by a protojwt
// option (its own rule or its service's default_rule) and by an entry of
// set (for it or for its service) is a *[protojwt.RuleError] naming md,
// wrapping [protojwt.ErrInvalidRule], with the Source of set's entry. So a service is
// ruled by its annotations or by the rule set, never by a mix: a services
// entry for a service one of whose methods has a (protojwt.v1.rule) is
// refused rather than left to apply to the other methods, and a methods
// entry can't replace an annotated service's default_rule.
func EffectiveRuleIn(md protoreflect.MethodDescriptor, set *RuleSet) (*Rule, Source, error) {
	rule, source, err := EffectiveRule(md)
	if err != nil {
		return nil, source, err
	}
	fromSet, setSource := RuleSetRule(set, md)
	switch {
	case setSource == SourceNone:
		return rule, source, nil
	case source != SourceNone:
		return nil, setSource, &protojwt.RuleError{
			Procedure: "/" + string(md.Parent().FullName()) + "/" + string(md.Name()),
			Err:       fmt.Errorf("%w: the rule set's %s and the %s both give it a rule; keep one", protojwt.ErrInvalidRule, setSource.origin(), source.origin()),
		}
	}
	return fromSet, setSource, nil
}

// origin names a Source in an error message.
func (s Source) origin() string {
	switch s {
	case SourceMethod:
		return "method's (protojwt.v1.rule) option"
	case SourceService:
		return "service's (protojwt.v1.default_rule) option"
	case SourceRuleSetMethod:
		return "methods entry"
	case SourceRuleSetService:
		return "services entry of its service"
	}
	return "none"
}

// validMethodName reports whether name is "/package.Service/Method".
func validMethodName(name string) bool {
	rest, ok := strings.CutPrefix(name, "/")
	if !ok {
		return false
	}
	service, method, ok := strings.Cut(rest, "/")
	return ok && protoreflect.FullName(service).IsValid() && protoreflect.Name(method).IsValid()
}

func sortedKeys(m map[string]*Rule) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
