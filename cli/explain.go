package cli

import (
	"flag"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/policytest"
	"github.com/protojwt/protojwt/internal/rules"
)

const explainUsage = `Usage: protojwt explain [--descriptor-set FILE.binpb] [--rule-set FILE] [flags] PROCEDURE
       protojwt explain [--descriptor-set FILE.binpb] [--rule-set FILE] --cases FILE.textpb --case NAME

Decides one call as its adapter does and prints every part of the rule in
the order the engine checks it, with its outcome and the values compared
(the claim, the request field, the scopes granted), then the decision: the
reason and Decision.Err's text when denied. The part that decides is
marked. Values of the token are shown: explain is for the token's holder,
unlike Decision.Err, which never holds them.

PROCEDURE is a full gRPC method ("/shop.v1.OrderService/GetOrder") or the
pattern of a route of the --cases file ("GET /orders/{id}"). The token is
--claims (a JSON object; a valid token is made from it) or --token (a
signed JWT, verified with --jwks or the --cases file's jwks); neither sends
none. Or take a whole case of a case file with --case.
`

func (a *app) explain(args []string) error {
	const name = "explain"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	descriptors := fs.String("descriptor-set", "", "the API's `FILE.binpb`; default: the services linked into the command")
	ruleSet := fs.String("rule-set", "", "a rule set `FILE.textpb` (protojwt.v1.RuleSet), as the servers' WithRuleSet gives it")
	casesFile := fs.String("cases", "", "a case `FILE.textpb` whose routes, jwks, scope_claims and time apply")
	caseName := fs.String("case", "", "explain the case of --cases with this `NAME`")
	claims := fs.String("claims", "", "the token's claims as a `JSON` object")
	token := fs.String("token", "", "a signed `JWT` to send")
	tokenType := fs.String("type", "auth", "the token type of --claims: auth or refresh")
	request := fs.String("request", "", "the request as protojson of the method's input `JSON`")
	path := fs.String("path", "", "the URL `PATH` of a route's request")
	jwksFile := fs.String("jwks", "", "a JWK Set `FILE` that verifies --token")
	at := fs.String("time", "", "the clock of verification, RFC 3339; default now")
	positional, err := a.parseFlags(fs, explainUsage, args)
	if err != nil {
		return err
	}
	pt := new(annotations.PolicyTest)
	if *casesFile != "" {
		data, err := a.readInput(*casesFile, 16<<20)
		if err != nil {
			return err
		}
		if err := prototext.Unmarshal(data, pt); err != nil {
			return fmt.Errorf("%s is not a protojwt.v1.PolicyTest in the text format: %v", *casesFile, err)
		}
	}
	index, err := a.explainCase(pt, positional, *caseName, *claims, *token, *tokenType, *request, *path)
	if err != nil {
		return err
	}
	if *jwksFile != "" {
		data, err := a.readInput(*jwksFile, 1<<20)
		if err != nil {
			return err
		}
		pt.Jwks = string(data)
	}
	if *at != "" {
		pt.Time = *at
	}
	env, err := a.policyEnv(*descriptors, *ruleSet)
	if err != nil {
		return err
	}
	s, err := policytest.ForExplain(env, inputName(*casesFile), pt)
	if err != nil {
		return err
	}
	e, err := s.Explain(index)
	if err != nil {
		return err
	}
	if e.Err != nil {
		return e.Err
	}
	a.printExplanation(e)
	return nil
}

// explainCase returns the index of the case to explain in pt: the --case
// named, or one made from the flags, appended.
func (a *app) explainCase(pt *annotations.PolicyTest, positional []string, caseName, claims, token, tokenType, request, path string) (int, error) {
	const name = "explain"
	if caseName != "" {
		if len(positional) > 0 || claims != "" || token != "" || request != "" || path != "" {
			return 0, usageErrorf(name, "--case takes the whole case from the file: no PROCEDURE, --claims, --token, --request or --path")
		}
		for i, c := range pt.GetCases() {
			if c.GetName() == caseName {
				return i, nil
			}
		}
		return 0, fmt.Errorf("no case named %q in the --cases file", caseName)
	}
	if len(positional) != 1 {
		return 0, usageErrorf(name, "want one PROCEDURE, got %d arguments", len(positional))
	}
	c := &annotations.PolicyCase{Procedure: positional[0], Request: request, Path: path}
	switch {
	case claims != "" && token != "":
		return 0, usageErrorf(name, "--claims and --token are exclusive")
	case claims != "":
		c.Token = &annotations.CaseToken{Source: &annotations.CaseToken_Claims{Claims: claims}}
		switch tokenType {
		case "auth":
			c.Token.Type = annotations.TokenType_TOKEN_TYPE_AUTH
		case "refresh":
			c.Token.Type = annotations.TokenType_TOKEN_TYPE_REFRESH
		default:
			return 0, usageErrorf(name, "--type %q: want auth or refresh", tokenType)
		}
	case token != "":
		c.Token = &annotations.CaseToken{Source: &annotations.CaseToken_Jwt{Jwt: token}}
	}
	pt.Cases = append(pt.Cases, c)
	return len(pt.Cases) - 1, nil
}

// printExplanation writes the steps of e, then its decision.
func (a *app) printExplanation(e *policytest.Explanation) {
	fmt.Fprintln(a.stdout, e.Procedure)
	for _, s := range e.Steps {
		fmt.Fprintln(a.stdout, stepLine(s))
	}
	d := e.Decision
	if !policytest.Denied(d) {
		fmt.Fprintln(a.stdout, "ALLOWED")
		return
	}
	if d.DryRun {
		fmt.Fprint(a.stdout, "ALLOWED (dry run), enforcing would deny: ")
	}
	fmt.Fprintf(a.stdout, "DENIED %s: %s\n", d.Reason, strings.TrimPrefix(d.Err.Error(), "protojwt: "))
}

// stepLine writes one step: its outcome, the part, why it fails and the
// values compared, indented by its depth.
func stepLine(s rules.Step) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("  ", s.Depth+1))
	if s.Held {
		b.WriteString("ok    ")
	} else {
		b.WriteString("FAIL  ")
	}
	b.WriteString(s.Part)
	if s.Why != "" {
		b.WriteString(": " + s.Why)
	}
	if s.Values != "" {
		b.WriteString(" [" + s.Values + "]")
	}
	if s.Decides {
		b.WriteString("  <- decides")
	}
	return b.String()
}
