package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1 // the schema (or a kinds file) has problems
	exitUsage   = 2 // bad flags or arguments, unreadable files
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// app is what every command shares: streams and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	kindsDir       string
}

// Main runs the CLI and returns the process exit code. It never panics on
// bad input: every failure is a message on stderr and a non-zero code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "backplane",
		Short:         "Design, render and run a backend on HashiCorp Nomad",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.kindsDir, "kinds-dir", os.Getenv("BACKPLANE_KINDS_DIR"), "folder of user kind files (env BACKPLANE_KINDS_DIR)")
	root.AddCommand(a.validateCmd(), a.renderCmd(), a.kindsCmd(),
		a.planCmd(), a.deployCmd(), a.statusCmd(), a.rollbackCmd(), a.destroyCmd(), a.secretsCmd(), a.serveCmd(),
		a.loginCmd(), a.logoutCmd(), a.logshipCmd())
	root.AddCommand(a.logsCmd())
	root.AddCommand(a.buildFilesCmd())
	root.AddCommand(a.alertsCmd())
	root.AddCommand(a.topCmd())
	root.AddCommand(a.importCmd())
	root.AddCommand(a.ejectCmd())
	root.AddCommand(a.devCmd())
	root.AddCommand(a.buildsCmd())
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "backplane:", err)
	return exitUsage
}

// registry builds the kind registry: built-ins, then user kinds.
func (a *app) registry() (*templates.Registry, error) {
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	if a.kindsDir != "" {
		if err := templates.LoadDir(reg, a.kindsDir); err != nil {
			var es schema.Errors
			if errors.As(err, &es) {
				return nil, &exitError{code: exitInvalid, err: es}
			}
			return nil, &exitError{code: exitUsage, err: err}
		}
	}
	return reg, nil
}

// load reads and decodes a schema file ("-" is stdin).
func (a *app) load(file string) (*schema.Schema, error) {
	_, s, err := a.loadSource(file)
	return s, err
}

// loadSource is load that also returns the file's bytes, as read.
func (a *app) loadSource(file string) ([]byte, *schema.Schema, error) {
	var data []byte
	var err error
	name := file
	if file == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(io.LimitReader(a.stdin, schema.MaxBytes+1))
	} else {
		data, err = readLimited(file, schema.MaxBytes+1)
	}
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("read %s: %w", name, err)}
	}
	s, err := schema.Decode(name, data)
	if err != nil {
		return nil, nil, &exitError{code: exitInvalid, err: err}
	}
	return data, s, nil
}

func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// translate validates and translates; problems carry the file name.
func (a *app) translate(file string, s *schema.Schema, reg *templates.Registry, opts translator.Options) (*translator.Bundle, error) {
	name := file
	if file == "-" {
		name = "<stdin>"
	}
	b, err := translator.Translate(s, reg, opts)
	if err != nil {
		var es schema.Errors
		if errors.As(err, &es) {
			return nil, &exitError{code: exitInvalid, err: es.WithFile(name)}
		}
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s: %w", name, err)}
	}
	return b, nil
}

func (a *app) printWarnings(file string, ws []translator.Warning) {
	for _, w := range ws {
		if w.Path == "" {
			fmt.Fprintf(a.stderr, "%s: warning: %s\n", file, w.Message)
			continue
		}
		fmt.Fprintf(a.stderr, "%s: %s: warning: %s\n", file, w.Path, w.Message)
	}
}
