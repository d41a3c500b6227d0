package jobs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// ProjectSecrets is the reserved element name under which a project's own
// secrets live (secret/backplane/<project>/_project): the receivers' Slack
// and webhook URLs and SMTP passwords. No element can have this ID, and no
// element's Vault policy reads it.
const ProjectSecrets = "_project"

// Signals are the facts about a job that alerts are raised from, read with
// its status. They are not part of the status's JSON: the alert bridge
// turns them into alerts (see observe/alerts).
type Signals struct {
	// Service is false for batch and periodic jobs, whose runs end by design.
	Service bool
	// Up counts the instances running now, of any version.
	Up int
	// Restarts are the times the current version's tasks restarted or its
	// instances failed, newest first, as far back as Nomad keeps them (the
	// last ten events of each task).
	Restarts []time.Time
	// Failed is the newest failed instance of the current version while
	// fewer instances run than are wanted; nil otherwise.
	Failed *Failure
	// DeploymentFailed is the job's newest failed deployment, until a newer
	// version is registered (an automatic revert does not count).
	DeploymentFailed *Failure
	// Allocs are the running instances' IDs, for reading their checks.
	Allocs []string
	// Instances are the instances that run or are being placed (desired
	// to run, not yet terminal), oldest first: what metrics sample.
	Instances []Instance
	// CPUReservedMHz and MemoryLimitBytes are one instance's reservation:
	// its tasks' resources summed, sidecars included (the memory limit is
	// memory_max where a task sets it).
	CPUReservedMHz   int
	MemoryLimitBytes uint64
}

// Instance is one allocation of a job, as metrics show it.
type Instance struct {
	ID string `json:"alloc"`
	// State is Nomad's client status: pending or running.
	State    string `json:"state"`
	Version  uint64 `json:"version"`
	Restarts int    `json:"restarts"`
	// StartedAt is when its tasks last started; zero before they did.
	StartedAt time.Time `json:"started_at,omitzero"`
}

// Failure is one failed instance or deployment.
type Failure struct {
	ID      string    `json:"id"`
	Message string    `json:"message"`
	At      time.Time `json:"at,omitzero"`
}

// fingerprint changes whenever an alert could change; the watch compares
// it to decide whether a re-read is news.
func (s *Signals) fingerprint() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v/%d/%d", s.Service, s.Up, len(s.Restarts))
	if len(s.Restarts) > 0 {
		fmt.Fprintf(&b, "/%d", s.Restarts[0].UnixNano())
	}
	if s.Failed != nil {
		b.WriteString("/f:" + s.Failed.ID)
	}
	if s.DeploymentFailed != nil {
		b.WriteString("/d:" + s.DeploymentFailed.ID)
	}
	b.WriteString("/" + strings.Join(s.Allocs, ","))
	return b.String()
}

// ComputeSignals derives a job's signals from what Nomad reports: the job,
// every deployment it has (any order) and its allocations. Like Compute it
// holds no clock and no client.
func ComputeSignals(job *nomad.Job, deployments []*nomad.Deployment, allocs []*nomad.AllocationListStub) *Signals {
	s := &Signals{}
	if job == nil || (job.Stop != nil && *job.Stop) {
		return s
	}
	version := versionOf(job)
	batch := job.Type != nil && (*job.Type == "batch" || *job.Type == "sysbatch")
	periodic := job.Periodic != nil && job.Periodic.Enabled != nil && *job.Periodic.Enabled
	s.Service = !batch && !periodic
	desired := 0
	for _, tg := range job.TaskGroups {
		if tg.Count != nil {
			desired += *tg.Count
		}
	}
	running := 0
	var failed *nomad.AllocationListStub
	for _, a := range allocs {
		if a.DesiredStatus == "run" && a.ClientStatus == "running" {
			s.Up++
			s.Allocs = append(s.Allocs, a.ID)
			if a.JobVersion == version {
				running++
			}
		}
		if a.JobVersion != version {
			continue
		}
		for _, ts := range a.TaskStates {
			for _, ev := range ts.Events {
				if ev.Type == nomad.TaskRestarting {
					s.Restarts = append(s.Restarts, time.Unix(0, ev.Time).UTC())
				}
			}
		}
		if a.ClientStatus == "failed" {
			s.Restarts = append(s.Restarts, time.Unix(0, a.ModifyTime).UTC())
			if failed == nil || a.ModifyTime > failed.ModifyTime {
				failed = a
			}
		}
	}
	sort.Strings(s.Allocs)
	s.Instances = instances(allocs)
	s.CPUReservedMHz, s.MemoryLimitBytes = reservation(job)
	sort.Slice(s.Restarts, func(i, j int) bool { return s.Restarts[i].After(s.Restarts[j]) })
	if failed != nil && running < desired {
		s.Failed = &Failure{ID: failed.ID, Message: failureMessage(failed), At: time.Unix(0, failed.ModifyTime).UTC()}
	}
	s.DeploymentFailed = failedDeployment(version, deployments)
	return s
}

// instances lists the allocations that run or are being placed.
func instances(allocs []*nomad.AllocationListStub) []Instance {
	var out []Instance
	type keyed struct {
		in     Instance
		create int64
	}
	var ks []keyed
	for _, a := range allocs {
		if a.DesiredStatus != "run" || (a.ClientStatus != "running" && a.ClientStatus != "pending") {
			continue
		}
		in := Instance{ID: a.ID, State: a.ClientStatus, Version: a.JobVersion}
		for _, ts := range a.TaskStates {
			in.Restarts += int(ts.Restarts)
			if !ts.StartedAt.IsZero() && (in.StartedAt.IsZero() || ts.StartedAt.After(in.StartedAt)) {
				in.StartedAt = ts.StartedAt.UTC()
			}
		}
		ks = append(ks, keyed{in, a.CreateTime})
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].create != ks[j].create {
			return ks[i].create < ks[j].create
		}
		return ks[i].in.ID < ks[j].in.ID
	})
	for _, k := range ks {
		out = append(out, k.in)
	}
	return out
}

// reservation is one instance's CPU and memory limit: the first group's
// tasks summed (a Backplane job has one group).
func reservation(job *nomad.Job) (cpuMHz int, memBytes uint64) {
	if len(job.TaskGroups) == 0 {
		return 0, 0
	}
	for _, t := range job.TaskGroups[0].Tasks {
		r := t.Resources
		if r == nil {
			continue
		}
		if r.CPU != nil {
			cpuMHz += *r.CPU
		}
		mb := 0
		if r.MemoryMB != nil {
			mb = *r.MemoryMB
		}
		if r.MemoryMaxMB != nil && *r.MemoryMaxMB > mb {
			mb = *r.MemoryMaxMB
		}
		memBytes += uint64(mb) << 20
	}
	return cpuMHz, memBytes
}

// failedDeployment is the newest failed deployment, unless a newer version
// than it (and than its automatic revert) has been registered since.
func failedDeployment(version uint64, deployments []*nomad.Deployment) *Failure {
	var f *nomad.Deployment
	for _, d := range deployments {
		if d.Status == nomad.DeploymentStatusFailed && (f == nil || d.CreateIndex > f.CreateIndex) {
			f = d
		}
	}
	if f == nil {
		return nil
	}
	last := f.JobVersion
	if strings.Contains(f.StatusDescription, "rolling back") {
		last++ // the revert registers the old spec as the next version
	}
	if version > last {
		return nil
	}
	for _, d := range deployments {
		if d.CreateIndex > f.CreateIndex && d.JobVersion > last {
			return nil
		}
	}
	return &Failure{ID: f.ID, Message: fmt.Sprintf("deployment of version %d failed: %s", f.JobVersion, f.StatusDescription)}
}

// failureMessage says why an instance failed: its failed task's last
// events ("exit code 1; restart limit reached").
func failureMessage(a *nomad.AllocationListStub) string {
	names := make([]string, 0, len(a.TaskStates))
	for n, ts := range a.TaskStates {
		if ts.Failed {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	short := a.ID
	if len(short) > 8 {
		short = short[:8]
	}
	msg := "instance " + short + " failed"
	for _, n := range names {
		evs := a.TaskStates[n].Events
		var parts []string
		for i := len(evs) - 1; i >= 0 && len(parts) < 2; i-- {
			if m := evs[i].DisplayMessage; m != "" && evs[i].Type != nomad.TaskReceived {
				parts = append(parts, m)
			}
		}
		if len(parts) > 0 {
			msg += "; " + n + ": " + strings.Join(parts, "; ")
		}
	}
	return msg
}

// Check is one service check of a running instance, as Nomad's own
// service discovery reports it.
type Check struct {
	Alloc   string `json:"alloc"`
	Check   string `json:"check"`
	Service string `json:"service"`
	Task    string `json:"task,omitempty"`
	// Status is "success", "failure" or "pending".
	Status string    `json:"status"`
	Output string    `json:"output,omitempty"`
	At     time.Time `json:"at"`
}

// Checks reads the service checks of running instances in a region
// (Nomad-provider services; Consul-provider services are checked by
// Consul). The request goes through the servers, so it works with any
// client the API reaches. An instance that cannot be asked is skipped and
// named in the error.
func (c *Cluster) Checks(ctx context.Context, t Target, allocs []string) ([]Check, error) {
	out := make([][]Check, len(allocs))
	errs := make([]error, len(allocs))
	c.parallel(ctx, len(allocs), func(ctx context.Context, i int) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
		q := (&nomad.QueryOptions{Region: t.Region, Namespace: t.Namespace}).WithContext(ctx)
		st, err := c.Nomad.Allocations().Checks(allocs[i], q)
		if err != nil {
			errs[i] = fmt.Errorf("instance %s: %w", allocs[i], err)
			return
		}
		for _, cs := range st {
			out[i] = append(out[i], Check{Alloc: allocs[i], Check: cs.Check, Service: cs.Service, Task: cs.Task,
				Status: cs.Status, Output: cs.Output, At: time.Unix(cs.Timestamp, 0).UTC()})
		}
	})
	var all []Check
	var msgs []string
	for i := range allocs {
		all = append(all, out[i]...)
		if errs[i] != nil && !isNotFound(errs[i]) {
			msgs = append(msgs, errs[i].Error())
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Alloc != all[j].Alloc {
			return all[i].Alloc < all[j].Alloc
		}
		return all[i].Check < all[j].Check
	})
	if len(msgs) > 0 {
		return all, fmt.Errorf("region %s: read checks: %s", t.Region, strings.Join(msgs, "; "))
	}
	return all, nil
}
