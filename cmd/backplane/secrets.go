package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
)

func (a *app) secretsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Set and list element secrets in Vault (values never shown)",
	}
	var f clusterFlags
	var setProject bool
	set := &cobra.Command{
		Use:   "set {ELEMENT NAME | --project NAME}",
		Short: "Write a secret's value, read from stdin, to Vault",
		Long: `Set reads the value from stdin (one trailing newline is dropped) and writes
it to Vault KV v2 at secret/backplane/<project>/<element>, keeping the
element's other secrets. With --project it writes a project secret instead,
at secret/backplane/<project>/` + jobs.ProjectSecrets + `: the secrets receivers and source.auth name
(a Slack or webhook URL, an SMTP password, a git token or deploy key). The
value is never echoed or logged.`,
		Args: secretsArgs(&setProject, 1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			element, name := jobs.ProjectSecrets, args[0]
			if !setProject {
				element, name = args[0], args[1]
			}
			if r, err := a.remoteFor(&f, "secrets set"); err != nil {
				return err
			} else if r != nil {
				return a.remoteSetSecret(r, &f, element, name)
			}
			p, err := a.open(&f)
			if err != nil {
				return err
			}
			if !schema.ValidEnvName(name) {
				return &exitError{code: exitUsage, err: fmt.Errorf("secrets set: %q is not a valid secret name", name)}
			}
			if !setProject && p.bundle.LokiLabels[p.bundle.Project+"-"+element] == nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("secrets set: no element %q in %s", element, p.file)}
			}
			value, err := a.readSecretValue()
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			version, err := p.cluster.SetSecret(ctx, p.bundle.Project, element, name, value)
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			fmt.Fprintf(a.stdout, "set %s for %s (version %d)\n", name, secretOwner(p.bundle.Project, element), version)
			return nil
		},
	}
	f.register(set)
	set.Flags().BoolVar(&setProject, "project", false, "a project secret (for receivers and private repositories), not an element's: then NAME is the only argument")
	var lf clusterFlags
	var listProject bool
	list := &cobra.Command{
		Use:   "list {ELEMENT | --project}",
		Short: "List an element's (or the project's) secret names and versions",
		Args:  secretsArgs(&listProject, 0, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			element := jobs.ProjectSecrets
			if !listProject {
				element = args[0]
			}
			if r, err := a.remoteFor(&lf, "secrets list"); err != nil {
				return err
			} else if r != nil {
				return a.remoteSecrets(r, &lf, element)
			}
			p, err := a.open(&lf)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			infos, err := p.cluster.Secrets(ctx, p.bundle.Project, element)
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			return a.printSecrets(infos, lf.jsonOut)
		},
	}
	lf.register(list)
	list.Flags().BoolVar(&listProject, "project", false, "the project's secrets (for receivers and private repositories), not an element's")
	cmd.AddCommand(set, list)
	return cmd
}

// secretsArgs checks the arguments of secrets set and list: with --project,
// n of them (named names); without, one more, the element first.
func secretsArgs(project *bool, n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		name := "secrets " + cmd.Name()
		usage := func(format string, v ...any) error {
			return &exitError{code: exitUsage, err: fmt.Errorf(name+": "+format, v...)}
		}
		switch {
		case *project && len(args) != n && n == 0:
			return usage("--project takes no ELEMENT (got %q)", args)
		case *project && len(args) != n:
			return usage("with --project, want %s only (got %s)", names, plural(len(args), "argument"))
		case *project:
			return nil
		case len(args) != n+1:
			return usage("want %s, or %s (got %s)", strings.TrimSpace("ELEMENT "+names), strings.TrimSpace("--project "+names), plural(len(args), "argument"))
		case args[0] == jobs.ProjectSecrets:
			return usage("%s is not an element: use --project for the project's secrets", jobs.ProjectSecrets)
		}
		return nil
	}
}

// secretOwner names whose secret it is, in messages: "api" or "project shop".
func secretOwner(project, element string) string {
	if element == jobs.ProjectSecrets {
		return "project " + project
	}
	return element
}

// readSecretValue reads a secret's value from stdin, without one trailing
// newline.
func (a *app) readSecretValue() ([]byte, error) {
	value, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("secrets set: read stdin: %w", err)}
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(value, []byte("\n")), []byte("\r")), nil
}

func (a *app) printSecrets(infos []jobs.SecretInfo, jsonOut bool) error {
	if jsonOut {
		return writeJSON(a.stdout, infos)
	}
	for _, i := range infos {
		fmt.Fprintf(a.stdout, "%s %d\n", pad(i.Name, 24), i.Version)
	}
	return nil
}
