package methodrules

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt/annotations"
)

// CheckResolved returns an error for each name of o.PublicMethods and
// o.PublicServices that names no method or service of the resolver: a
// misspelled name would leave the method it meant denied, and open a name
// no client calls. The services of [HealthAndReflection], and
// their methods, may be named without being in the resolver, as
// WithHealthAndReflection opens them: a server registers them from
// packages whose descriptors a descriptor set may not hold. Malformed
// names are [CheckNames]'s to report.
//
// The errors name the adapter's options, methodsOption and servicesOption,
// and call a method noun ("method", "procedure").
func CheckResolved(o Options, noun, methodsOption, servicesOption string) []error {
	if o.Files == nil || len(o.PublicMethods)+len(o.PublicServices) == 0 {
		return nil
	}
	var methods, services []string
	for _, sd := range Services(o.Files) {
		services = append(services, string(sd.FullName()))
		for j := range sd.Methods().Len() {
			methods = append(methods, FullMethod(sd.Methods().Get(j)))
		}
	}
	exempt := HealthAndReflection()
	var errs []error
	for _, name := range o.PublicMethods {
		service, _, ok := SplitMethod(name)
		if !ok || slices.Contains(exempt, service) || slices.Contains(methods, name) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s is no %s of the resolver%s", methodsOption, name, noun, didYouMean(name, methods)))
	}
	for _, name := range o.PublicServices {
		if !protoreflect.FullName(name).IsValid() || slices.Contains(exempt, name) || slices.Contains(services, name) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s is no service of the resolver%s", servicesOption, name, didYouMean(name, services)))
	}
	return errs
}

// didYouMean returns `; did you mean "x"?` for the candidate nearest to
// name, when one is near enough to be a misspelling of it, and "" when
// none is.
func didYouMean(name string, candidates []string) string {
	best, bestDist := "", len(name)/3+1 // a third of the name, at least one edit
	for _, c := range candidates {
		if d := editDistance(name, c, bestDist); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance returns the Levenshtein distance of a and b, in bytes, or
// limit when it is limit or more.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

// CheckRuleSet returns an error for each entry of o.RuleSet that names no
// method or service of the resolver, with the nearest name that does, and
// each key that is malformed or has no rule ([annotations.CheckRuleSetNames]):
// a misspelled name would leave the method it meant without its rule. The
// errors name the adapter's option, "WithRuleSet", and call a method noun.
// Health and reflection are not exempt: a rule needs the method's request
// descriptor.
func CheckRuleSet(o Options, noun, option string) []error {
	if o.RuleSet == nil {
		return nil
	}
	var errs []error
	for _, err := range annotations.CheckRuleSetNames(o.RuleSet) {
		errs = append(errs, fmt.Errorf("%s: %w", option, err))
	}
	if len(errs) > 0 || o.Files == nil {
		return errs
	}
	var methods, services []string
	for _, sd := range Services(o.Files) {
		services = append(services, string(sd.FullName()))
		for j := range sd.Methods().Len() {
			methods = append(methods, FullMethod(sd.Methods().Get(j)))
		}
	}
	for _, name := range sortedNames(o.RuleSet.GetMethods()) {
		if !slices.Contains(methods, name) {
			errs = append(errs, fmt.Errorf("%s: methods: %s is no %s of the resolver%s", option, name, noun, didYouMean(name, methods)))
		}
	}
	for _, name := range sortedNames(o.RuleSet.GetServices()) {
		if !slices.Contains(services, name) {
			errs = append(errs, fmt.Errorf("%s: services: %s is no service of the resolver%s", option, name, didYouMean(name, services)))
		}
	}
	return errs
}

func sortedNames(m map[string]*annotations.Rule) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
