package main

import (
	"bytes"
	"fmt"
	"io"

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
	set := &cobra.Command{
		Use:   "set ELEMENT NAME",
		Short: "Write a secret's value, read from stdin, to Vault",
		Long: `Set reads the value from stdin (one trailing newline is dropped) and writes
it to Vault KV v2 at secret/backplane/<project>/<element>, keeping the
element's other secrets. The value is never echoed or logged.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r, err := a.remoteFor(&f, "secrets set"); err != nil {
				return err
			} else if r != nil {
				return a.remoteSetSecret(r, &f, args[0], args[1])
			}
			p, err := a.open(&f)
			if err != nil {
				return err
			}
			element, name := args[0], args[1]
			if !schema.ValidEnvName(name) {
				return &exitError{code: exitUsage, err: fmt.Errorf("secrets set: %q is not a valid secret name", name)}
			}
			if p.bundle.LokiLabels[p.bundle.Project+"-"+element] == nil {
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
			fmt.Fprintf(a.stdout, "set %s for %s (version %d)\n", name, element, version)
			return nil
		},
	}
	f.register(set)
	var lf clusterFlags
	list := &cobra.Command{
		Use:   "list ELEMENT",
		Short: "List an element's secret names and versions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r, err := a.remoteFor(&lf, "secrets list"); err != nil {
				return err
			} else if r != nil {
				return a.remoteSecrets(r, &lf, args[0])
			}
			p, err := a.open(&lf)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			infos, err := p.cluster.Secrets(ctx, p.bundle.Project, args[0])
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			return a.printSecrets(infos, lf.jsonOut)
		},
	}
	lf.register(list)
	cmd.AddCommand(set, list)
	return cmd
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
