package cli

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/manager"
)

const rulesUsage = `Usage: protojwt rules [--strict] [--no-dry-run] [--json] [--rule-set FILE] [flags] FILE.binpb | -

Lists every RPC of a FileDescriptorSet, as "buf build -o FILE.binpb" or
"protoc --include_imports --descriptor_set_out=FILE.binpb" writes it ("-"
reads stdin), with the rule a server built by interceptor.New enforces: the
method's (protojwt.v1.rule), else its service's (protojwt.v1.default_rule).
A method with neither is DENIED, as the interceptor fails closed.

--rule-set FILE reads a rule set (the text format of protojwt.v1.RuleSet,
as annotations.ReadRuleSet reads it and interceptor.WithRuleSet takes it)
for services whose .proto carries no rules: its rules are shown with the
source "rule set" (a methods entry) or "rule set service" (a services
entry). A method ruled both by its options and by the file is invalid, as
is a name in the file that no method or service of the descriptor set has.

A rule with dry_run is decided and reported but not enforced: its rule
shows dry_run, and the summary counts them. --no-dry-run exits 1 while any
is left, with --strict a check for a release branch.

Rules and the request field paths their claims name are checked by
interceptor.New itself. So are expressions (expr) in the build of this
command with CEL, github.com/protojwt/protojwt/celexpr/cmd/protojwt, which
compiles each against its method's request; a build without CEL reports
every rule with an expr invalid. With --strict the command exits 1 when a
method has no rule or a rule can't be compiled: a check for CI. --public-method and
--public-service mirror the interceptor options of the same names, for
methods a server opens in Go code.

Rules are shown compactly, in the order a server checks them: public, the
token type (auth or refresh), allow_missing (a call without a token goes
through; a token sent must hold), claim=literal or claim=field:path,
check(claim.path test value) such as check(realm_access.roles contains
"admin"), check(tier in ["gold","platinum"]) or check(act absent),
scope={JSON}, scopes=a,b, expr(CEL) and any_of(alternative | alternative).
Claim names holding dots, colons or slashes are quoted, so that a
namespaced claim reads as one name: check("cognito:groups" contains "ops").
--json adds, per method, allow_missing, dry_run, checks and expr, and the
rule as protojson (rule_proto); its source is one of method,
service_default, rule_set_method, rule_set_service, public_method,
public_service and none.

--html FILE writes the same audit as one self-contained page (no external
assets): every service and method with public, token type, claims, checks,
scopes, expression, alternatives and dry run; a search box that filters
them; and "who can call with...": each scope and role literal the rules
name, with the methods that name it.
`

// maxDescriptorSetSize bounds the descriptor set read.
const maxDescriptorSetSize = 64 << 20

// Where a method's rule comes from, as --json writes it.
const (
	sourceMethod        = "method"
	sourceService       = "service_default"
	sourcePublicMethod  = "public_method"
	sourcePublicService = "public_service"
	sourceNone          = "none"
	// The sources of a rule set file's rules, as [annotations.Source] names
	// them.
	sourceRuleSetMethod  = "rule_set_method"
	sourceRuleSetService = "rule_set_service"
)

// methodAudit is one line of the rules table, one element of --json's
// "methods".
type methodAudit struct {
	Method    string          `json:"method"` // "/package.Service/Method"
	Source    string          `json:"source"`
	Rule      string          `json:"rule,omitempty"`       // compact form
	RuleProto json.RawMessage `json:"rule_proto,omitempty"` // protojson, proto field names
	Public    bool            `json:"public"`
	// AllowMissing: a call without a token goes through (allow_missing).
	AllowMissing bool `json:"allow_missing"`
	// Checks are the rule's claim checks in compact form, "tier in
	// [\"gold\"]"; those of alternatives are in Rule.
	Checks []string `json:"checks,omitempty"`
	Expr   string   `json:"expr,omitempty"` // the rule's CEL expression
	// DryRun: the rule is decided and reported, never enforced (dry_run).
	DryRun bool   `json:"dry_run"`
	Denied bool   `json:"denied"` // no rule: every call is refused
	Error  string `json:"error,omitempty"`
	// rule is the rule read, for the --html page; nil when none.
	rule *annotations.Rule
}

// rulesAudit is what the rules command found; --json writes it.
type rulesAudit struct {
	Methods []methodAudit `json:"methods"`
	// Errors are problems not tied to one method, such as a --public-method
	// naming a method that declares a rule.
	Errors  []string     `json:"errors,omitempty"`
	Summary auditSummary `json:"summary"`
}

type auditSummary struct {
	Services     int `json:"services"`
	Methods      int `json:"methods"`
	Public       int `json:"public"`
	Protected    int `json:"protected"`     // a valid rule that needs a token
	AllowMissing int `json:"allow_missing"` // a valid rule that lets calls without a token through
	Undeclared   int `json:"undeclared"`    // denied: no rule
	Invalid      int `json:"invalid"`       // a rule or field path that can't be compiled
	DryRun       int `json:"dry_run"`       // valid rules decided and reported, not enforced
}

// problems counts what --strict fails on.
func (r *rulesAudit) problems() int {
	return r.Summary.Undeclared + r.Summary.Invalid + len(r.Errors)
}

func (a *app) rules(args []string) error {
	const name = "rules"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	strict := fs.Bool("strict", false, "exit 1 when a method has no rule or a rule or field path is bad")
	noDryRun := fs.Bool("no-dry-run", false, "exit 1 when a rule is dry_run (decided, not enforced)")
	ruleSetPath := fs.String("rule-set", "", "read the rules of `FILE`, a protojwt.v1.RuleSet in text format, as interceptor.WithRuleSet takes them")
	asJSON := fs.Bool("json", false, "write the table as JSON")
	htmlFile := fs.String("html", "", "also write one self-contained HTML `FILE`: every method's rule, searchable, and who can call with each scope or role")
	var publicMethods, publicServices stringList
	fs.Var(&publicMethods, "public-method", "treat `/package.Service/Method` as opened by interceptor.WithPublicMethods; repeatable")
	fs.Var(&publicServices, "public-service", "treat `package.Service` as opened by interceptor.WithPublicServices; repeatable")
	positional, err := a.parseFlags(fs, rulesUsage, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usageErrorf(name, "want one FILE.binpb (or - for stdin), got %d arguments", len(positional))
	}
	data, err := a.readInput(positional[0], maxDescriptorSetSize)
	if err != nil {
		return err
	}
	set := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(data, set); err != nil {
		return fmt.Errorf("%s is not a FileDescriptorSet: %v", inputName(positional[0]), err)
	}
	files, err := newFiles(set)
	if err != nil {
		return fmt.Errorf("%s: %v", inputName(positional[0]), err)
	}
	var ruleSet *annotations.RuleSet
	if *ruleSetPath != "" {
		if ruleSet, err = annotations.ReadRuleSet(*ruleSetPath); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "protojwt: "))
		}
	}
	audit, err := auditRules(files, a.expressions(), publicMethods, publicServices, ruleSet)
	if err != nil {
		return err
	}
	if *htmlFile != "" {
		if err := writeFileWith(*htmlFile, func(w io.Writer) error { return writeRulesPage(w, audit) }); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(audit); err != nil {
			return err
		}
	} else {
		a.printRules(audit)
	}
	failed := false
	if *strict && audit.problems() > 0 {
		s := audit.Summary
		fmt.Fprintf(a.stderr, "protojwt rules: --strict: %d method(s) without a rule, %d invalid, %d other error(s)\n", s.Undeclared, s.Invalid, len(audit.Errors))
		failed = true
	}
	if *noDryRun && audit.Summary.DryRun > 0 {
		var names []string
		for _, m := range audit.Methods {
			if m.DryRun {
				names = append(names, m.Method)
			}
		}
		fmt.Fprintf(a.stderr, "protojwt rules: --no-dry-run: %d method(s) with a dry_run rule, not enforced: %s\n", len(names), strings.Join(names, ", "))
		failed = true
	}
	if failed {
		return errReported
	}
	return nil
}

// writeFileWith writes the file path with write, replacing it whole.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readInput reads the file path, or stdin for "-", up to limit bytes.
func (a *app) readInput(path string, limit int64) ([]byte, error) {
	var r io.Reader = a.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", inputName(path), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", inputName(path), limit)
	}
	return b, nil
}

func inputName(path string) string {
	if path == "-" {
		return "stdin"
	}
	return path
}

// newFiles builds the files of set with [protodesc.NewFiles]. Imports the set
// lacks (a set built with --exclude-imports) are taken from the files this
// program links, the well-known types and protojwt's annotations, so that
// only the API's own imports must be in the set.
func newFiles(set *descriptorpb.FileDescriptorSet) (*protoregistry.Files, error) {
	all := &descriptorpb.FileDescriptorSet{File: append([]*descriptorpb.FileDescriptorProto(nil), set.GetFile()...)}
	have := make(map[string]bool, len(all.File))
	for _, f := range all.File {
		have[f.GetName()] = true
	}
	var missing []string
	for i := 0; i < len(all.File); i++ {
		for _, dep := range all.File[i].GetDependency() {
			if have[dep] {
				continue
			}
			have[dep] = true
			fd, err := protoregistry.GlobalFiles.FindFileByPath(dep)
			if err != nil {
				missing = append(missing, dep)
				continue
			}
			all.File = append(all.File, protodesc.ToFileDescriptorProto(fd))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the descriptor set lacks imported files %q: build it with its imports (buf build without --exclude-imports, protoc --include_imports)", missing)
	}
	return protodesc.NewFiles(all)
}

// auditRules reads the rule of every method of files and ruleSet (nil for
// none), in the resolution order of [annotations.EffectiveRuleIn], and has [interceptor.New] compile them
// all, their expr with exprs: the one check of rules, field paths and
// expressions a server makes. Its verdict on each method is the
// *[protojwt.RuleError] naming that method.
func auditRules(files *protoregistry.Files, exprs protojwt.Expressions, publicMethods, publicServices []string, ruleSet *annotations.RuleSet) (*rulesAudit, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	m, err := manager.New(manager.Config{Issuer: "protojwt rules", Algorithm: "HS256", Secret: secret})
	if err != nil {
		return nil, err
	}
	opts := []interceptor.Option{
		interceptor.WithPublicMethods(publicMethods...),
		interceptor.WithPublicServices(publicServices...),
		interceptor.WithExpressions(exprs),
		interceptor.WithRuleSet(ruleSet),
	}
	// A malformed name, or one that names nothing in files, is a usage
	// error, as [interceptor.New] reports it.
	names := methodrules.Options{Files: files, PublicMethods: publicMethods, PublicServices: publicServices}
	if errs := append(methodrules.CheckNames(names, "WithPublicMethods", "WithPublicServices"),
		methodrules.CheckResolved(names, "method", "WithPublicMethods", "WithPublicServices")...); len(errs) > 0 {
		err := fmt.Errorf("%w: %w", protojwt.ErrInvalidOption, errors.Join(errs...))
		return nil, usageErrorf("rules", "%s", strings.TrimPrefix(err.Error(), "protojwt: "))
	}
	_, buildErr := interceptor.New(m, append(opts, interceptor.WithResolver(files))...)

	isPublicMethod := toSet(publicMethods)
	isPublicService := toSet(publicServices)
	audit := &rulesAudit{Methods: []methodAudit{}}
	services := methodrules.Services(files) // in the order the interceptor compiles them
	audit.Summary.Services = len(services)

	errs := splitBuildError(buildErr)
	for _, sd := range services {
		service := string(sd.FullName())
		serviceErr := errs.take(service)
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			full := "/" + service + "/" + string(md.Name())
			ma := methodAudit{Method: full}
			rule, source, err := annotations.EffectiveRuleIn(md, ruleSet)
			switch {
			case err != nil:
				ma.Source, ma.Error = sourceOf(source), strings.TrimPrefix(err.Error(), "protojwt: ")
			case source != annotations.SourceNone:
				ma.Source = sourceOf(source)
				ma.Rule, ma.RuleProto, ma.rule = formatRule(rule), ruleJSON(rule), rule
				ma.Public, ma.AllowMissing, ma.Expr = rule.GetPublic(), rule.GetAllowMissing(), rule.GetExpr()
				ma.DryRun = rule.GetDryRun()
				for _, c := range rule.GetCheck() {
					ma.Checks = append(ma.Checks, formatCheck(c))
				}
			case isPublicMethod[full]:
				ma.Source, ma.Public = sourcePublicMethod, true
			case isPublicService[service]:
				ma.Source, ma.Public = sourcePublicService, true
			default:
				ma.Source, ma.Denied = sourceNone, true
			}
			// [interceptor.New]'s verdict decides; the reading above names it.
			if msg := errs.take(full); msg != "" {
				ma.Error = msg
			} else if serviceErr != "" {
				ma.Error = "service default_rule: " + serviceErr
			}
			audit.add(ma)
		}
	}
	audit.Errors = errs.rest()
	return audit, nil
}

// celCommand is the build of this command that compiles expressions.
const celCommand = "github.com/protojwt/protojwt/celexpr/cmd/protojwt"

// errNoCEL is the verdict on every expr when the command has no
// expression engine.
var errNoCEL = errors.New("this build of protojwt has no CEL: audit with go run " + celCommand + " rules")

// expressions returns the expression engine the command was built with,
// or one that refuses every expr, saying which build compiles it.
func (a *app) expressions() protojwt.Expressions {
	if a.exprs != nil {
		return a.exprs
	}
	return noCEL{}
}

// noCEL is the expression engine of a build without CEL.
type noCEL struct{}

func (noCEL) Compile(string, protoreflect.MessageDescriptor) (protojwt.Expression, error) {
	return nil, errNoCEL
}

// sourceOf names where a rule comes from, as --json writes it.
func sourceOf(s annotations.Source) string {
	switch s {
	case annotations.SourceMethod:
		return sourceMethod
	case annotations.SourceService:
		return sourceService
	case annotations.SourceRuleSetMethod:
		return sourceRuleSetMethod
	case annotations.SourceRuleSetService:
		return sourceRuleSetService
	}
	return sourceNone
}

func (r *rulesAudit) add(ma methodAudit) {
	if ma.Error != "" {
		ma.Public, ma.AllowMissing = false, false // an invalid rule opens nothing: the server does not start
		ma.DryRun = false
	}
	r.Methods = append(r.Methods, ma)
	s := &r.Summary
	s.Methods++
	switch {
	case ma.Error != "":
		s.Invalid++
	case ma.Denied:
		s.Undeclared++
	case ma.Public:
		s.Public++
	case ma.AllowMissing:
		s.AllowMissing++
	default:
		s.Protected++
	}
	if ma.DryRun {
		s.DryRun++
	}
}

func toSet(names []string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}

// buildErrors are the messages of [interceptor.New]'s error: one per method
// or service it could not compile, by the Procedure of its
// *[protojwt.RuleError], and the others (bad options), in order.
type buildErrors struct {
	byWhere map[string]string
	other   []string
}

// splitBuildError takes apart the [errors.Join] of [interceptor.New]: each
// *[protojwt.RuleError] by its Procedure, a full method name or a service
// name; the rest as they are.
func splitBuildError(err error) *buildErrors {
	b := &buildErrors{byWhere: map[string]string{}}
	if err == nil {
		return b
	}
	for _, e := range flatten(err) {
		var re *protojwt.RuleError
		if errors.As(e, &re) && re.Procedure != "" && re.Err != nil {
			msg := strings.TrimPrefix(re.Err.Error(), "protojwt: ")
			if prev, ok := b.byWhere[re.Procedure]; ok {
				msg = prev + "; " + msg
			}
			b.byWhere[re.Procedure] = msg
			continue
		}
		b.other = append(b.other, strings.TrimPrefix(e.Error(), "protojwt: "))
	}
	return b
}

// flatten returns the errors that err joins, itself when it joins none.
// The adapters' option errors are fmt.Errorf("%w: %w", ErrInvalidOption,
// errors.Join(...)): the sentinel is left out and the joined errors are
// taken one by one, so that each is one message.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		if e == protojwt.ErrInvalidOption {
			continue
		}
		out = append(out, flatten(e)...)
	}
	return out
}

// take returns and forgets the message about where, "" when none.
func (b *buildErrors) take(where string) string {
	msg, ok := b.byWhere[where]
	if ok {
		delete(b.byWhere, where)
	}
	return msg
}

// rest returns the messages not taken, in a stable order.
func (b *buildErrors) rest() []string {
	out := append([]string(nil), b.other...)
	var keys []string
	for k := range b.byWhere {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+": "+b.byWhere[k])
	}
	return out
}

// printRules writes the audit as a table and a summary.
func (a *app) printRules(r *rulesAudit) {
	if len(r.Methods) == 0 {
		fmt.Fprintln(a.stdout, "No services in the descriptor set.")
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "METHOD\tSOURCE\tRULE")
		for _, m := range r.Methods {
			rule := m.Rule
			switch {
			case m.Denied:
				rule = "DENIED: no rule"
			case m.Source == sourcePublicMethod || m.Source == sourcePublicService:
				rule = "public"
			case rule == "":
				rule = "?"
			}
			line := fmt.Sprintf("%s\t%s\t%s", m.Method, sourceLabel(m.Source), rule)
			if m.Error != "" {
				line += "\tINVALID: " + m.Error
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
	}
	for _, e := range r.Errors {
		fmt.Fprintln(a.stdout, "ERROR:", e)
	}
	s := r.Summary
	fmt.Fprintf(a.stdout, "\n%d methods in %d services: %d public, %d need a token, %d allow a missing token, %d DENIED (no rule), %d invalid\n",
		s.Methods, s.Services, s.Public, s.Protected, s.AllowMissing, s.Undeclared, s.Invalid)
	if s.DryRun > 0 {
		fmt.Fprintf(a.stdout, "%d dry_run: decided and reported, NOT ENFORCED\n", s.DryRun)
	}
}

func sourceLabel(source string) string {
	switch source {
	case sourceService:
		return "service default"
	case sourcePublicMethod:
		return "--public-method"
	case sourcePublicService:
		return "--public-service"
	case sourceRuleSetMethod:
		return "rule set"
	case sourceRuleSetService:
		return "rule set service"
	case sourceNone:
		return "-"
	}
	return source
}
