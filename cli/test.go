package cli

import (
	"flag"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/policytest"
)

const testUsage = `Usage: protojwt test [--descriptor-set FILE.binpb] [-v] CASES.textpb...

Runs policy test cases against the rules of an API, with the adapters' own
decision code: each gRPC case through an interceptor built by
interceptor.New from the descriptor set, each HTTP route's case through an
httpauth Guard serving the route. A case file is the text format of
protojwt.v1.PolicyTest (protojwt/v1/policytest.proto, which 'protojwt proto
export' writes): each case names a procedure, the token it sends (claims,
from which a valid token is made, or a signed token and the file's jwks),
the request as protojson, and the outcome it must have:

  cases {
    name: "another user is refused"
    procedure: "/shop.v1.OrderService/GetOrder"
    token { claims: '{"sub": "bob"}' }
    request: '{"owner": "alice"}'
    expect { reason: "CLAIM_MISMATCH" explanation: "claim sub" }
  }

Each case that fails writes one line: what was expected, and what the
adapter decided with its explanation (Decision.Err). The last line is
"N passed, M failed"; the command exits 1 when a case fails or can't be
run. --rule-set gives rules to services whose .proto carries none, as
the servers' WithRuleSet does. A dry-run rule's cases test what the rule
decides: a case expecting a reason passes when the rule would deny with
it, so that removing dry_run changes no case's outcome. Without
--descriptor-set, the rules are those of the services linked
into the command: a build of your own (cli.Main in your module) knows
yours. The build with CEL compiles expr, as WithExpressions(celexpr.New())
does.
`

func (a *app) test(args []string) error {
	const name = "test"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	descriptors := fs.String("descriptor-set", "", "the API's `FILE.binpb` (buf build -o, protoc --descriptor_set_out --include_imports); default: the services linked into the command")
	ruleSet := fs.String("rule-set", "", "a rule set `FILE.textpb` (protojwt.v1.RuleSet), as the servers' WithRuleSet gives it")
	verbose := fs.Bool("v", false, "write a line for every case, passed too")
	positional, err := a.parseFlags(fs, testUsage, args)
	if err != nil {
		return err
	}
	if len(positional) == 0 {
		return usageErrorf(name, "want at least one case file")
	}
	env, err := a.policyEnv(*descriptors, *ruleSet)
	if err != nil {
		return err
	}
	passed, failed := 0, 0
	for _, path := range positional {
		s, err := policytest.Load(env, path)
		if err != nil {
			fmt.Fprintf(a.stdout, "FAIL %v\n", err)
			failed++
			continue
		}
		for _, r := range s.Run() {
			if r.Passed() {
				passed++
				if *verbose {
					fmt.Fprintln(a.stdout, r.Line())
				}
				continue
			}
			failed++
			fmt.Fprintln(a.stdout, r.Line())
		}
	}
	fmt.Fprintf(a.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return errReported
	}
	return nil
}

// policyEnv returns what cases run against: the descriptor set at path
// ("" for the services linked into the command), the rule set file at
// ruleSet ("" for none) and the command's expression engine.
func (a *app) policyEnv(path, ruleSet string) (policytest.Env, error) {
	env := policytest.Env{Files: protoregistry.GlobalFiles, Expressions: a.expressions()}
	if ruleSet != "" {
		set, err := annotations.ReadRuleSet(ruleSet)
		if err != nil {
			return env, err
		}
		env.RuleSet = set
	}
	if path == "" {
		return env, nil
	}
	data, err := a.readInput(path, maxDescriptorSetSize)
	if err != nil {
		return env, err
	}
	set := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(data, set); err != nil {
		return env, fmt.Errorf("%s is not a FileDescriptorSet: %v", inputName(path), err)
	}
	if env.Files, err = newFiles(set); err != nil {
		return env, fmt.Errorf("%s: %v", inputName(path), err)
	}
	return env, nil
}
