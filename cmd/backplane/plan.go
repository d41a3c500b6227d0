package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
)

func (a *app) planCmd() *cobra.Command {
	var f clusterFlags
	var elements []string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what deploy would do, per element and region",
		Long: `Plan asks each region's Nomad what registering the schema's jobs would do:
create, update (with the changed fields), unchanged, or remove (a job of the
project that is no longer in the schema; only deploy --prune removes it), and
whether Nomad can place it. Problems that would stop a deploy (a secret not
yet in Vault, Consul or Vault needed but not configured) are listed last, and
make plan exit 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r, err := a.remoteFor(&f, "plan"); err != nil {
				return err
			} else if r != nil {
				return a.remotePlan(r, &f, elements)
			}
			p, err := a.open(&f)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			plan, err := p.cluster.Plan(ctx, p.bundle, jobs.PlanOptions{Elements: elements})
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			return a.finishPlan(plan, f.jsonOut)
		},
	}
	f.register(cmd)
	cmd.Flags().StringSliceVar(&elements, "element", nil, "plan only these elements")
	return cmd
}

// finishPlan prints the plan (or its JSON) and fails if it is blocked.
func (a *app) finishPlan(plan *jobs.Plan, jsonOut bool) error {
	if jsonOut {
		if err := writeJSON(a.stdout, plan); err != nil {
			return err
		}
	} else {
		a.printPlan(plan)
	}
	if planBlocked(plan) {
		return &exitError{code: exitInvalid}
	}
	return nil
}

// planBlocked reports whether the plan cannot be applied as it stands.
func planBlocked(p *jobs.Plan) bool {
	if len(p.Problems) > 0 {
		return true
	}
	for _, it := range p.Items {
		if it.Action == jobs.ActionError || len(it.Unplaced) > 0 {
			return true
		}
	}
	return false
}

func (a *app) printPlan(p *jobs.Plan) {
	counts := map[jobs.Action]int{}
	for _, it := range p.Items {
		counts[it.Action]++
		label := it.Element
		if label == "" {
			label = "-"
		}
		fmt.Fprintf(a.stdout, "%s %s %s\n", pad(string(it.Action), 9), pad(label, 16), pad(it.Region, 8))
		for _, c := range it.Changes {
			fmt.Fprintf(a.stdout, "    %s\n", c)
		}
		for _, n := range it.Notes {
			fmt.Fprintf(a.stdout, "    %s\n", n)
		}
		for _, u := range it.Unplaced {
			fmt.Fprintf(a.stdout, "    cannot place: %s\n", u)
		}
		if it.Err != "" {
			fmt.Fprintf(a.stdout, "    error: %s\n", it.Err)
		}
		if it.Warnings != "" {
			fmt.Fprintf(a.stdout, "    nomad warns: %s\n", strings.ReplaceAll(it.Warnings, "\n", " "))
		}
	}
	fmt.Fprintf(a.stdout, "plan: %d to create, %d to update, %d unchanged, %d to remove (with --prune), %d errors\n",
		counts[jobs.ActionCreate], counts[jobs.ActionUpdate], counts[jobs.ActionUnchanged], counts[jobs.ActionRemove], counts[jobs.ActionError])
	for _, w := range p.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s\n", w)
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(a.stderr, "%s: %s\n", "problem", pr)
	}
}
