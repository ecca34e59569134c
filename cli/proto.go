package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	protofiles "github.com/protojwt/protojwt/proto"
)

const protoUsage = `Usage: protojwt proto export [--check] [DIR]

Subcommands:
  export   write protojwt/v1/annotations.proto and policytest.proto under DIR,
           for buf or protoc -I
`

const protoExportUsage = `Usage: protojwt proto export [--check] [DIR]

Writes the .proto files of protojwt, embedded in this command at the version
of the module it was built from, under DIR (default "."), by their import
paths: DIR/protojwt/v1/annotations.proto, and DIR/protojwt/v1/policytest.proto,
the message of the case files of 'protojwt test'. Make DIR a module of your buf
workspace, or pass -I DIR to protoc, and import "protojwt/v1/annotations.proto".
Nothing is downloaded.

Generate only your own files from it: the Go code of the options is the
package github.com/protojwt/protojwt/annotations, and a second copy generated
into your module panics at start ("already registered"). See the README,
"Annotate your own .proto files".

Existing files are replaced, so running it again after upgrading the module
updates them. With --check nothing is written: it fails (exit 1) when a file
under DIR is missing or differs, for CI.
`

func (a *app) proto(args []string) error {
	if len(args) == 0 {
		return usageErrorf("proto", "want a subcommand: export")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(a.stdout, protoUsage)
		return errHelpShown
	case "export":
		return a.protoExport(args[1:])
	}
	return usageErrorf("proto", "unknown subcommand %q: want export", args[0])
}

func (a *app) protoExport(args []string) error {
	const name = "proto export"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	check := fs.Bool("check", false, "write nothing; fail when a file under DIR is missing or differs")
	positional, err := a.parseFlags(fs, protoExportUsage, args)
	if err != nil {
		return err
	}
	dir := "."
	switch len(positional) {
	case 0:
	case 1:
		dir = positional[0]
	default:
		return usageErrorf(name, "unexpected argument %q: want one directory", positional[1])
	}
	if dir == "" {
		return usageErrorf(name, "empty directory")
	}
	files, err := embeddedProtos()
	if err != nil {
		return err
	}
	if *check {
		return a.checkExport(dir, files)
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "wrote %s\n", path)
	}
	return nil
}

// checkExport reports every file of files that is missing under dir or
// differs there.
func (a *app) checkExport(dir string, files []protoFile) error {
	stale := 0
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.path))
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(a.stderr, "%s: missing\n", path)
			stale++
		case err != nil:
			return err
		case !bytes.Equal(data, f.data):
			fmt.Fprintf(a.stderr, "%s: differs from this version of protojwt\n", path)
			stale++
		}
	}
	if stale > 0 {
		fmt.Fprintf(a.stderr, "run 'protojwt proto export %s' to update\n", dir)
		return errReported
	}
	return nil
}

// A protoFile is one embedded .proto file and its import path.
type protoFile struct {
	path string
	data []byte
}

// embeddedProtos returns the .proto files embedded in the command.
func embeddedProtos() ([]protoFile, error) {
	var files []protoFile
	err := fs.WalkDir(protofiles.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(protofiles.FS(), path)
		if err != nil {
			return err
		}
		files = append(files, protoFile{path, data})
		return nil
	})
	return files, err
}
