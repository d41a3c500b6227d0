package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
)

func (a *app) statusCmd() *cobra.Command {
	var f clusterFlags
	var watch bool
	var elements []string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each element's state per region",
		Long: `Status prints, per element and region: state (pending, deploying, running,
healthy, degraded, failed, stopped, unknown), running/desired instances,
healthy instances, job version and the last event. An autoscaled element
also gets a line with its min..max, its current count and the last scaling
event ("scaled 1 → 3 by the autoscaler 2m ago: ..."). --watch follows
Nomad's event stream and prints each change until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r, err := a.remoteFor(&f, "status"); err != nil {
				return err
			} else if r != nil {
				return a.remoteStatus(r, &f, elements, watch)
			}
			p, err := a.open(&f)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			targets := jobs.Targets(p.bundle, elements...)
			if watch {
				_ = p.cluster.Watch(ctx, targets, func(s jobs.Status) {
					if f.jsonOut {
						_ = writeJSON(a.stdout, s)
						return
					}
					a.printStatus(s)
				})
				return nil
			}
			statuses := p.cluster.StatusAll(ctx, targets)
			if f.jsonOut {
				return writeJSON(a.stdout, statuses)
			}
			a.printStatuses(statuses)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&watch, "watch", false, "follow changes until interrupted")
	cmd.Flags().StringSliceVar(&elements, "element", nil, "only these elements")
	return cmd
}

// printStatuses prints a status table with its header.
func (a *app) printStatuses(statuses []jobs.Status) {
	fmt.Fprintf(a.stdout, "%s %s %s %s %s %s\n", pad("ELEMENT", 16), pad("REGION", 8), pad("STATE", 10), pad("RUNNING", 8), pad("VERSION", 8), "LAST EVENT")
	for _, s := range statuses {
		a.printStatus(s)
	}
}

func (a *app) printStatus(s jobs.Status) {
	fmt.Fprintf(a.stdout, "%s %s %s %s %s %s\n", pad(s.Element, 16), pad(s.Region, 8), pad(string(s.State), 10),
		pad(fmt.Sprintf("%d/%d", s.Running, s.Desired), 8), pad(fmt.Sprint(s.Version), 8), s.LastEvent)
	if sc := s.Scaling; sc != nil {
		line := fmt.Sprintf("autoscaled %d..%d, now %d", sc.Min, sc.Max, s.Desired)
		if len(sc.Events) > 0 {
			line += "; last: " + sc.Events[0].Summary(time.Now())
		}
		fmt.Fprintf(a.stdout, "%s %s\n", pad("", 16), line)
	}
}
