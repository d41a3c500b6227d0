package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/translator"
)

func (a *app) deployCmd() *cobra.Command {
	var f clusterFlags
	var elements []string
	var wait, prune bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Plan and apply the schema to every region, and follow it",
		Long: `Deploy plans, then registers the new and changed jobs in every region in
parallel (unchanged ones are left alone), each with the modify index seen at
plan time enforced, so a change made in Nomad in between is reported as a
conflict and not overwritten. A region that fails does not stop the others.
With --wait it follows each element until it is healthy or failed. It exits
non-zero if anything failed; running it again finishes the job.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r, err := a.remoteFor(&f, "deploy"); err != nil {
				return err
			} else if r != nil {
				return a.remoteDeploy(r, &f, elements, prune, wait, timeout)
			}
			p, err := a.open(&f)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			started := time.Now()
			plan, err := p.cluster.Plan(ctx, p.bundle, jobs.PlanOptions{Elements: elements})
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			if len(plan.Problems) > 0 {
				if f.jsonOut {
					_ = writeJSON(a.stdout, map[string]any{"plan": plan})
				}
				return &exitError{code: exitInvalid, err: fmt.Errorf("deploy %s: nothing applied; fix these first:\n  %s", plan.Project, strings.Join(plan.Problems, "\n  "))}
			}
			view := newProgress(a, !f.jsonOut && isTerminal(a.stdout), f.jsonOut)
			res, err := p.cluster.Apply(ctx, plan, jobs.ApplyOptions{Prune: prune, Progress: view.applied})
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			registered := time.Since(started)
			var statuses []jobs.Status
			if wait {
				statuses = a.waitHealthy(ctx, p.cluster.Watch, waitTargets(res.Items), batchJobs(p.bundle), nil, timeout, view)
			}
			report := deployReport{Project: res.Project, Items: res.Items, Statuses: statuses,
				RegisteredAfter: registered.Seconds(), Elapsed: time.Since(started).Seconds()}
			return a.finishDeploy(report, view, f.jsonOut)
		},
	}
	f.register(cmd)
	cmd.Flags().StringSliceVar(&elements, "element", nil, "deploy only these elements")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow each element until it is healthy or failed")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	cmd.Flags().BoolVar(&prune, "prune", false, "deregister the project's jobs that are no longer in the schema")
	return cmd
}

type deployReport struct {
	Project         string            `json:"project"`
	Items           []*jobs.ApplyItem `json:"items"`
	Statuses        []jobs.Status     `json:"statuses,omitempty"`
	RegisteredAfter float64           `json:"registered_after_seconds"`
	Elapsed         float64           `json:"elapsed_seconds"`
}

// failures names each job that did not land or did not become healthy.
func (r deployReport) failures() []string {
	var out []string
	for _, it := range r.Items {
		if it.Outcome == jobs.OutcomeFailed || it.Outcome == jobs.OutcomeConflict {
			out = append(out, fmt.Sprintf("%s in %s: %s", it.Element, it.Region, it.Err))
		}
	}
	for _, s := range r.Statuses {
		if !settledOK(s) {
			msg := string(s.State)
			if s.LastEvent != "" {
				msg += " (" + s.LastEvent + ")"
			}
			out = append(out, fmt.Sprintf("%s in %s: %s", s.Element, s.Region, msg))
		}
	}
	return out
}

func settledOK(s jobs.Status) bool {
	return s.State == jobs.StateHealthy || s.State == jobs.StateRunning
}

// finishDeploy prints the deploy report (or its JSON) and fails if any job
// did not land or settle.
func (a *app) finishDeploy(report deployReport, view *progress, jsonOut bool) error {
	failed := report.failures()
	if jsonOut {
		if err := writeJSON(a.stdout, report); err != nil {
			return err
		}
	} else {
		view.summary(report, failed)
	}
	if len(failed) > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}

// batchJobs names the bundle's batch jobs (by job ID): for them, running is
// as far as they go.
func batchJobs(b *translator.Bundle) map[string]bool {
	batch := map[string]bool{}
	if b == nil {
		return batch
	}
	for _, js := range b.Jobs {
		for _, j := range js {
			if j.Type != nil && *j.Type == "batch" && j.ID != nil {
				batch[*j.ID] = true
			}
		}
	}
	return batch
}

// waitTargets are the jobs a deploy registered or left unchanged: those
// --wait follows.
func waitTargets(items []*jobs.ApplyItem) []jobs.Target {
	var targets []jobs.Target
	for _, it := range items {
		if it.Outcome == jobs.OutcomeRegistered || it.Outcome == jobs.OutcomeUnchanged {
			targets = append(targets, jobs.Target{Element: it.Element, Region: it.Region, JobID: it.JobID, Namespace: it.Namespace})
		}
	}
	return targets
}

// watchFunc follows targets' statuses until ctx ends: the cluster's Watch
// when talking to Nomad, the server's events stream when going through it.
type watchFunc func(ctx context.Context, targets []jobs.Target, fn func(jobs.Status)) error

// waitHealthy follows the targets until each settles (healthy, or running
// for jobs without a deployment; failed) or the timeout passes, and returns
// their last statuses. fresh, when set, drops statuses that predate the
// deploy (a server replays the last status it knows on connect).
func (a *app) waitHealthy(ctx context.Context, watch watchFunc, targets []jobs.Target, batch map[string]bool,
	fresh func(jobs.Target, jobs.Status) bool, timeout time.Duration, view *progress) []jobs.Status {
	if len(targets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var mu sync.Mutex
	last := map[jobs.Target]jobs.Status{}
	settled := func(t jobs.Target, s jobs.Status) bool {
		switch s.State {
		case jobs.StateHealthy, jobs.StateFailed:
			return true
		case jobs.StateRunning:
			return batch[t.JobID] || s.Desired == 0
		}
		return false
	}
	_ = watch(ctx, targets, func(s jobs.Status) {
		t := jobs.Target{Element: s.Element, Region: s.Region, JobID: s.JobID}
		known := false
		for _, tt := range targets {
			if tt.Region == s.Region && tt.JobID == s.JobID {
				t, known = tt, true
			}
		}
		if !known || (fresh != nil && !fresh(t, s)) {
			return
		}
		mu.Lock()
		last[t] = s
		done := len(last) == len(targets)
		for tt, ss := range last {
			if !settled(tt, ss) {
				done = false
			}
		}
		mu.Unlock()
		view.status(s)
		if done {
			cancel()
		}
	})
	out := make([]jobs.Status, 0, len(targets))
	for _, t := range targets {
		s, ok := last[t]
		if !ok {
			s = jobs.Status{Element: t.Element, Region: t.Region, JobID: t.JobID, State: jobs.StateUnknown}
		}
		if !settled(t, s) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			still := "still " + string(s.State) + " after " + timeout.String()
			if s.LastEvent != "" {
				still = s.LastEvent + " (" + still + ")"
			}
			s.LastEvent = still
			if s.State == jobs.StateRunning || s.State == jobs.StateDeploying || s.State == jobs.StatePending {
				s.State = jobs.StateDegraded
			}
		}
		out = append(out, s)
	}
	return out
}

// progress prints deploy progress: a line per element and region that
// grows as it moves (`api  eu  registered → deploying 1/2 → healthy 2/2`),
// redrawn in place on a terminal and printed as it changes otherwise.
type progress struct {
	a      *app
	tty    bool
	quiet  bool
	mu     sync.Mutex
	order  []string
	lines  map[string][]string
	drawn  int
	prefix map[string]string
}

func newProgress(a *app, tty, quiet bool) *progress {
	return &progress{a: a, tty: tty, quiet: quiet, lines: map[string][]string{}, prefix: map[string]string{}}
}

func (p *progress) add(key, prefix, step string) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.lines[key]; !ok {
		p.order = append(p.order, key)
		p.prefix[key] = prefix
	}
	steps := p.lines[key]
	if len(steps) > 0 && steps[len(steps)-1] == step {
		return
	}
	p.lines[key] = append(steps, step)
	if !p.tty {
		fmt.Fprintf(p.a.stdout, "%s %s\n", prefix, step)
		return
	}
	if p.drawn > 0 {
		fmt.Fprintf(p.a.stdout, "\033[%dA", p.drawn)
	}
	for _, k := range p.order {
		fmt.Fprintf(p.a.stdout, "\033[2K%s %s\n", p.prefix[k], strings.Join(p.lines[k], " → "))
	}
	p.drawn = len(p.order)
}

func (p *progress) applied(it *jobs.ApplyItem) {
	step := string(it.Outcome)
	if it.Err != "" {
		step += ": " + it.Err
	}
	p.add(it.Element+"/"+it.Region, pad(it.Element, 16)+" "+pad(it.Region, 8), step)
}

func (p *progress) status(s jobs.Status) {
	step := string(s.State)
	if s.Desired > 0 {
		step += fmt.Sprintf(" %d/%d", s.Running, s.Desired)
	}
	if s.State == jobs.StateFailed && s.LastEvent != "" {
		step += " (" + s.LastEvent + ")"
	}
	p.add(s.Element+"/"+s.Region, pad(s.Element, 16)+" "+pad(s.Region, 8), step)
}

func (p *progress) summary(r deployReport, failed []string) {
	counts := map[jobs.Outcome]int{}
	for _, it := range r.Items {
		counts[it.Outcome]++
	}
	fmt.Fprintf(p.a.stdout, "deploy %s: %d registered, %d unchanged, %d removed, %d failed, %d conflicts in %.1fs (all registered after %.2fs)\n",
		r.Project, counts[jobs.OutcomeRegistered], counts[jobs.OutcomeUnchanged], counts[jobs.OutcomeRemoved],
		counts[jobs.OutcomeFailed], counts[jobs.OutcomeConflict], r.Elapsed, r.RegisteredAfter)
	if counts[jobs.OutcomeSkipped] > 0 {
		fmt.Fprintf(p.a.stdout, "%s no longer in the schema; deploy --prune removes them\n", plural(counts[jobs.OutcomeSkipped], "job"))
	}
	for _, f := range failed {
		fmt.Fprintf(p.a.stderr, "failed: %s\n", f)
	}
}
