package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
)

func (a *app) rollbackCmd() *cobra.Command {
	var f clusterFlags
	var version int64
	cmd := &cobra.Command{
		Use:   "rollback ELEMENT",
		Short: "Revert an element to an earlier version in every region it runs in",
		Long: `Rollback reverts the element's job through Nomad's job revert: to --version
when given, otherwise to the newest earlier version Nomad marked stable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r, err := a.remoteFor(&f, "rollback"); err != nil {
				return err
			} else if r != nil {
				return a.remoteRollback(r, &f, args[0], version)
			}
			p, err := a.open(&f)
			if err != nil {
				return err
			}
			targets := jobs.Targets(p.bundle, args[0])
			if len(targets) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("rollback: no element %q in %s", args[0], p.file)}
			}
			var want *uint64
			if version >= 0 {
				v := uint64(version)
				want = &v
			}
			ctx, cancel := signalContext()
			defer cancel()
			return a.opResults(f.jsonOut, "rolled back to version", p.cluster.Rollback(ctx, targets, want))
		},
	}
	f.register(cmd)
	cmd.Flags().Int64Var(&version, "version", -1, "job version to revert to (default: the last stable one)")
	return cmd
}

// opResults prints rollback/destroy results and fails if any failed.
func (a *app) opResults(jsonOut bool, verb string, results []jobs.OpResult) error {
	failed := 0
	for _, r := range results {
		if r.Err != "" {
			failed++
		}
	}
	if jsonOut {
		if err := writeJSON(a.stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			switch {
			case r.Err != "":
				fmt.Fprintf(a.stderr, "%s %s failed: %s\n", pad(r.Element, 16), pad(r.Region, 8), r.Err)
			case verb == "destroyed":
				fmt.Fprintf(a.stdout, "%s %s destroyed\n", pad(r.Element, 16), pad(r.Region, 8))
			default:
				fmt.Fprintf(a.stdout, "%s %s %s %d\n", pad(r.Element, 16), pad(r.Region, 8), verb, r.Version)
			}
		}
	}
	if failed > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}
