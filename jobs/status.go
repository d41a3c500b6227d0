package jobs

import (
	"sort"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// State is an element's state in one region. The CLI prints it and the
// editor colours its light by it (grey: pending, stopped, unknown; amber:
// deploying, running, degraded; green: healthy; red: failed).
type State string

const (
	// StatePending: the job is registered but nothing is placed yet, or the
	// scheduler could not place it.
	StatePending State = "pending"
	// StateDeploying: a deployment is in progress and not yet healthy.
	StateDeploying State = "deploying"
	// StateRunning: the desired instances run, with no health information
	// (batch and periodic jobs, groups without checks before a deployment).
	StateRunning State = "running"
	// StateHealthy: the latest deployment succeeded and every desired
	// instance runs.
	StateHealthy State = "healthy"
	// StateDegraded: fewer instances run than desired, or some are
	// unhealthy, but not none.
	StateDegraded State = "degraded"
	// StateFailed: the latest deployment failed, or no instance runs and the
	// last ones failed.
	StateFailed State = "failed"
	// StateStopped: the job is stopped or not registered.
	StateStopped State = "stopped"
	// StateUnknown: the region could not be asked.
	StateUnknown State = "unknown"
)

// Status is an element's status in one region, as `status --json` prints it
// and the editor's lights show it.
type Status struct {
	Element   string    `json:"element"`
	Region    string    `json:"region"`
	JobID     string    `json:"job_id"`
	State     State     `json:"state"`
	Desired   int       `json:"desired"`
	Running   int       `json:"running"`
	Healthy   int       `json:"healthy"`
	Version   uint64    `json:"version"`
	LastEvent string    `json:"last_event,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Scaling is set for an autoscaled element: its min..max and recent
	// scaling events. Desired is then the count the autoscaler chose.
	Scaling *Scaling `json:"scaling,omitempty"`
	// Signals are what alerts are raised from; not part of the JSON.
	Signals *Signals `json:"-"`
}

// Observation is what Backplane reads from Nomad about one job: its current
// version, its latest deployment and its allocations. Compute turns it into
// a State; it holds no clock and no client, so the transitions are tested
// as a table.
type Observation struct {
	Job         *nomad.Job // nil when the job is not registered
	Deployment  *nomad.Deployment
	Allocations []*nomad.AllocationListStub
}

// Compute derives an element's state. The transitions, for a service job:
//
//	not registered or stopped                → stopped
//	registered, no allocation running yet    → pending (failed if the last ones failed)
//	deployment running                       → deploying (healthy once every
//	                                           desired instance is healthy)
//	deployment failed                        → failed
//	deployment successful, all desired up    → healthy
//	fewer running than desired, or unhealthy → degraded
//	no deployment (no update block, batch)   → running when all desired run
//	newer version not yet all running, and   → deploying (the gap between an
//	  its deployment not yet created           old instance stopping and the
//	                                           new one placed is not "pending")
//
// Only allocations of the current job version count toward running and
// healthy, so a half-finished rolling update is "deploying", not "healthy".
func Compute(o Observation) (state State, desired, running, healthy int, version uint64) {
	job := o.Job
	if job == nil || (job.Stop != nil && *job.Stop) {
		return StateStopped, 0, 0, 0, versionOf(job)
	}
	version = versionOf(job)
	for _, tg := range job.TaskGroups {
		if tg.Count != nil {
			desired += *tg.Count
		}
	}
	failedRecently, failedCurrent, olderAllocs := false, false, false
	for _, a := range o.Allocations {
		if a.JobVersion < version {
			olderAllocs = true
		}
		if a.DesiredStatus != "run" {
			continue
		}
		switch a.ClientStatus {
		case "running":
			if a.JobVersion != version {
				continue
			}
			running++
			if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && *a.DeploymentStatus.Healthy {
				healthy++
			}
		case "failed", "lost":
			failedRecently = true
			if a.JobVersion == version {
				failedCurrent = true
			}
		}
	}
	periodic := job.Periodic != nil && job.Periodic.Enabled != nil && *job.Periodic.Enabled
	batch := job.Type != nil && (*job.Type == "batch" || *job.Type == "sysbatch")
	if periodic || batch {
		// A periodic job is a schedule: registered means it is in place.
		// Its runs are child jobs, which the status of the parent does not
		// wait for.
		if periodic {
			return StateRunning, 0, 0, 0, version
		}
		switch {
		case running > 0:
			return StateRunning, desired, running, healthy, version
		case failedRecently:
			return StateFailed, desired, running, healthy, version
		case job.Status != nil && *job.Status == "dead":
			return StateStopped, desired, running, healthy, version
		}
		return StatePending, desired, running, healthy, version
	}
	if d := o.Deployment; d != nil && d.JobVersion == version {
		switch d.Status {
		case "running", "pending", "initializing", "paused", "blocked", "unblocking":
			if d.Status == "running" && desired > 0 && healthy >= desired && running >= desired {
				// Every desired instance of this version passed its
				// checks for min_healthy_time: Nomad has only to record
				// the deployment's success, which lags by seconds.
				return StateHealthy, desired, running, healthy, version
			}
			return StateDeploying, desired, running, healthy, version
		case "failed", "cancelled":
			if running > 0 {
				return StateDegraded, desired, running, healthy, version
			}
			return StateFailed, desired, running, healthy, version
		case "successful":
			switch {
			case running >= desired:
				// Nomad marks healthy at deploy time; an instance that
				// restarted since still counts as running and healthy.
				healthy = max(healthy, running)
				return StateHealthy, desired, running, healthy, version
			case running > 0:
				return StateDegraded, desired, running, healthy, version
			case failedRecently:
				return StateFailed, desired, running, healthy, version
			}
			return StatePending, desired, running, healthy, version
		}
	}
	if rollingOut(o.Deployment, version, olderAllocs) && running < desired && !failedCurrent {
		// A newer version was registered and Nomad has not created its
		// deployment yet, or has stopped an old instance before placing
		// the new one: the element is being redeployed, not pending.
		return StateDeploying, desired, running, healthy, version
	}
	switch {
	case desired == 0:
		return StateRunning, desired, running, healthy, version
	case running >= desired:
		return StateRunning, desired, running, healthy, version
	case running > 0:
		return StateDegraded, desired, running, healthy, version
	case failedRecently:
		return StateFailed, desired, running, healthy, version
	}
	return StatePending, desired, running, healthy, version
}

// rollingOut reports whether a newer job version than the one last
// deployed is being rolled out: the latest deployment is of an older
// version, or there is none but allocations of older versions remain.
func rollingOut(d *nomad.Deployment, version uint64, olderAllocs bool) bool {
	if d != nil {
		return d.JobVersion < version
	}
	return olderAllocs
}

func versionOf(job *nomad.Job) uint64 {
	if job == nil || job.Version == nil {
		return 0
	}
	return *job.Version
}

// lastEvent is the newest task event across the allocations, as a short
// line for the status hover ("api: Started", "api: Restarting: exit 1").
func lastEvent(allocs []*nomad.AllocationListStub) (string, time.Time) {
	var best string
	var at time.Time
	for _, a := range allocs {
		names := make([]string, 0, len(a.TaskStates))
		for n := range a.TaskStates {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, ev := range a.TaskStates[n].Events {
				t := time.Unix(0, ev.Time)
				if t.After(at) {
					at = t
					best = n + ": " + ev.Type
					if ev.DisplayMessage != "" {
						best += ": " + ev.DisplayMessage
					}
				}
			}
		}
	}
	return best, at
}
