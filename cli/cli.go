// Package cli is the protojwt command: mint, inspect, rules, test,
// explain, keys and proto. Both builds of the command are a main function
// that calls [Main]: cmd/protojwt with no expression engine,
// celexpr/cmd/protojwt with celexpr.New(), so that "rules", "test" and
// "explain" compile the expr of rules as a server given
// WithExpressions(celexpr.New()) does.
//
// A service whose servers compile expressions with options of their own
// (CEL functions, a cost limit) builds its own command the same way, so
// that "protojwt rules --strict" audits its API as its servers will:
//
//	package main
//
//	func main() {
//		os.Exit(cli.Main(celexpr.New(celexpr.WithEnvOptions(myFunctions...))))
//	}
//
// [Run] runs the command with given arguments, streams and environment,
// for tests.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/protojwt/protojwt"
)

// Main runs the command line of the process ([os.Args], the standard
// streams and the environment) and returns its exit code, for [os.Exit]: 0
// success, 1 failure, 2 usage error. exprs compiles the expr of rules for
// the rules command; with nil, a rule that has one is reported invalid,
// saying which build of the command compiles it.
func Main(exprs protojwt.Expressions) int {
	return Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, exprs)
}

// Run runs the command line args (without the program name) with the
// given streams and returns its exit code. getenv reads the environment, as
// [os.Getenv] does (nil: an empty one); exprs is as for [Main].
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, exprs protojwt.Expressions) int {
	a := newApp(stdin, stdout, stderr, getenv)
	a.exprs = exprs
	return a.run(args)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// app is one run of the command: its input, outputs, environment and clock.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time     // the clock of minted tokens, verification and relative times
	loc    *time.Location       // the time zone times are shown in
	exprs  protojwt.Expressions // compiles expr for rules; nil: none linked
}

// newApp returns a run of the command; env reads the environment, as
// [os.Getenv] does (nil: an empty one).
func newApp(stdin io.Reader, stdout, stderr io.Writer, env func(string) string) *app {
	if env == nil {
		env = func(string) string { return "" }
	}
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: env, now: time.Now, loc: time.Local}
}

// A command is one subcommand: its name as typed after "protojwt", a line
// for the command list, and the function that runs it with the arguments
// that follow its name.
type command struct {
	name    string
	summary string
	run     func(a *app, args []string) error
}

// commands lists the subcommands, in the order usage shows them.
var commands = []command{
	{"mint", "issue a token signed with the configured key", (*app).mint},
	{"inspect", "show a token's header, claims and times; verify it when keys are set", (*app).inspect},
	{"rules", "list what every RPC of a descriptor set requires", (*app).rules},
	{"test", "run policy test cases against the rules of an API", (*app).test},
	{"explain", "show every part of a rule deciding one call, with the values compared", (*app).explain},
	{"keys", "generate signing keys (keys gen)", (*app).keys},
	{"proto", "write protojwt's .proto files for your buf or protoc (proto export)", (*app).proto},
}

const mainUsage = `Usage: protojwt <command> [flags] [arguments]

Mint and inspect protojwt tokens, audit, test and explain the rules of an API,
generate keys, export protojwt's .proto files.

Commands:
%s
Run 'protojwt <command> --help' for a command's flags.
mint and inspect read the JWT_* environment (JWT_ISSUER, JWT_AUTHTYPE,
JWT_SECRET or JWT_SECRET_FILE, JWT_PRIVATEKEY_FILE, JWT_PUBLICKEY_FILE, ...);
flags override it.
`

func (a *app) printMainUsage(w io.Writer) {
	var list strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&list, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, list.String())
	if a.exprs != nil {
		fmt.Fprintln(w, "\nThis build compiles the expr of rules (CEL) when it audits them.")
	} else {
		fmt.Fprintf(w, "\nThis build has no CEL: audit rules with an expr with\n%s.\n", celCommand)
	}
}

func (a *app) run(args []string) int {
	if len(args) == 0 {
		a.printMainUsage(a.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		a.printMainUsage(a.stdout)
		return exitOK
	case "help":
		if len(rest) == 0 {
			a.printMainUsage(a.stdout)
			return exitOK
		}
		// "protojwt help mint" is "protojwt mint --help".
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range commands {
		if c.name == name {
			return a.exit(c.name, c.run(a, rest))
		}
	}
	fmt.Fprintf(a.stderr, "protojwt: unknown command %q\nRun 'protojwt --help' for the list of commands.\n", name)
	return exitUsage
}

// exit reports err of the command name and returns the exit code it means.
func (a *app) exit(name string, err error) int {
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return exitOK
	case errors.Is(err, errReported):
		return exitFailure
	case errors.As(err, &usage):
		fmt.Fprintf(a.stderr, "protojwt %s: %s\nRun 'protojwt %s --help' for usage.\n", usage.command, usage.msg, usage.command)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "protojwt %s: %v\n", name, err)
	return exitFailure
}

var (
	// errHelpShown means --help was asked for and usage was printed.
	errHelpShown = errors.New("help shown")
	// errReported means the command failed and has said why already.
	errReported = errors.New("failure reported")
)

// usageError is a command line that can't be run as written: exit code 2.
type usageError struct {
	command string // as typed: "mint", "keys gen"
	msg     string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(command, format string, args ...any) error {
	return &usageError{command: command, msg: fmt.Sprintf(format, args...)}
}

// parseFlags parses args with fs, whose name is the command as typed, and
// returns the positional arguments. Flags may follow positional arguments
// ("rules api.binpb --strict"); after "--" everything is positional. On
// --help it prints usage (the synopsis, then the flags) to stdout and
// returns errHelpShown.
func (a *app) parseFlags(fs *flag.FlagSet, synopsis string, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, synopsis)
			if hasFlags(fs) {
				fmt.Fprintln(a.stdout, "\nFlags:")
				fs.SetOutput(a.stdout)
				fs.PrintDefaults()
				fs.SetOutput(io.Discard)
			}
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usageErrorf(fs.Name(), "%v", err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// stringList is a flag that may be repeated, each value appended.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
