package main

import (
	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
)

func (a *app) destroyCmd() *cobra.Command {
	var f clusterFlags
	var elements []string
	var purge bool
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Stop the project's jobs (or some elements') in every region",
		Long: `Destroy deregisters the jobs of the given elements, or of the whole project,
in every region, including jobs of the project that are no longer in the
schema. --purge also removes them from Nomad's state.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r, err := a.remoteFor(&f, "destroy"); err != nil {
				return err
			} else if r != nil {
				return a.remoteDestroy(r, &f, elements, purge)
			}
			p, err := a.open(&f)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			targets := jobs.Targets(p.bundle, elements...)
			if len(elements) == 0 {
				// Also the project's jobs the schema no longer has.
				plan, err := p.cluster.Plan(ctx, p.bundle, jobs.PlanOptions{})
				if err == nil {
					for _, it := range plan.Items {
						if it.Action == jobs.ActionRemove {
							targets = append(targets, jobs.Target{Element: it.Element, Region: it.Region, JobID: it.JobID, Namespace: it.Namespace})
						}
					}
				}
			}
			return a.opResults(f.jsonOut, "destroyed", p.cluster.Destroy(ctx, targets, purge))
		},
	}
	f.register(cmd)
	cmd.Flags().StringSliceVar(&elements, "element", nil, "destroy only these elements")
	cmd.Flags().BoolVar(&purge, "purge", false, "also purge the jobs from Nomad's state")
	return cmd
}
