package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// job builds a registered job of the given type and version with one task
// group per count.
func job(typ string, version uint64, counts ...int) *nomad.Job {
	j := &nomad.Job{ID: new("shop-api"), Type: new(typ), Version: new(version)}
	for _, n := range counts {
		j.TaskGroups = append(j.TaskGroups, &nomad.TaskGroup{Count: new(n)})
	}
	return j
}

func alloc(version uint64, desired, client string) *nomad.AllocationListStub {
	return &nomad.AllocationListStub{JobID: "shop-api", JobVersion: version, DesiredStatus: desired, ClientStatus: client}
}

func healthyAlloc(version uint64) *nomad.AllocationListStub {
	a := alloc(version, "run", "running")
	a.DeploymentStatus = &nomad.AllocDeploymentStatus{Healthy: new(true)}
	return a
}

func deployment(version uint64, status string) *nomad.Deployment {
	return &nomad.Deployment{JobID: "shop-api", JobVersion: version, Status: status}
}

func allocs(as ...*nomad.AllocationListStub) []*nomad.AllocationListStub { return as }

func TestCompute(t *testing.T) {
	stopped := job("service", 4, 2)
	stopped.Stop = new(true)
	periodic := job("batch", 2, 1)
	periodic.Periodic = &nomad.PeriodicConfig{Enabled: new(true), Spec: new("0 3 * * *")}
	periodicOff := job("batch", 2, 1)
	periodicOff.Periodic = &nomad.PeriodicConfig{Enabled: new(false)}
	deadBatch := job("batch", 1, 1)
	deadBatch.Status = new("dead")
	nilCount := job("service", 0, 2, 3)
	nilCount.TaskGroups = append(nilCount.TaskGroups, &nomad.TaskGroup{})

	tests := []struct {
		name                      string
		obs                       Observation
		state                     State
		desired, running, healthy int
		version                   uint64
	}{
		{name: "not registered", obs: Observation{}, state: StateStopped},
		{name: "stopped keeps its version", obs: Observation{Job: stopped, Allocations: allocs(alloc(4, "run", "running"))},
			state: StateStopped, version: 4},
		{name: "service without allocations is pending", obs: Observation{Job: job("service", 0, 2)},
			state: StatePending, desired: 2},
		{name: "service with allocations not yet running is pending",
			obs:   Observation{Job: job("service", 0, 2), Allocations: allocs(alloc(0, "run", "pending"))},
			state: StatePending, desired: 2},
		{name: "failed allocations and none running",
			obs:   Observation{Job: job("service", 1, 2), Allocations: allocs(alloc(1, "run", "failed"), alloc(1, "run", "pending"))},
			state: StateFailed, desired: 2, version: 1},
		{name: "lost allocations count as failed",
			obs:   Observation{Job: job("service", 1, 1), Allocations: allocs(alloc(1, "run", "lost"))},
			state: StateFailed, desired: 1, version: 1},
		{name: "allocations Nomad is stopping are ignored",
			obs:   Observation{Job: job("service", 1, 1), Allocations: allocs(alloc(1, "stop", "failed"), alloc(1, "stop", "running"))},
			state: StatePending, desired: 1, version: 1},
		{name: "deployment running",
			obs: Observation{Job: job("service", 3, 2), Deployment: deployment(3, "running"),
				Allocations: allocs(healthyAlloc(3), alloc(3, "run", "pending"))},
			state: StateDeploying, desired: 2, running: 1, healthy: 1, version: 3},
		{name: "deployment running with every instance healthy is healthy before Nomad records success",
			obs: Observation{Job: job("service", 3, 2), Deployment: deployment(3, "running"),
				Allocations: allocs(healthyAlloc(3), healthyAlloc(3))},
			state: StateHealthy, desired: 2, running: 2, healthy: 2, version: 3},
		{name: "deployment running with healthy instances of an older version is deploying",
			obs: Observation{Job: job("service", 3, 1), Deployment: deployment(3, "running"),
				Allocations: allocs(healthyAlloc(2))},
			state: StateDeploying, desired: 1, version: 3},
		{name: "deployment paused is still deploying",
			obs:   Observation{Job: job("service", 3, 1), Deployment: deployment(3, "paused")},
			state: StateDeploying, desired: 1, version: 3},
		{name: "deployment failed with none running",
			obs:   Observation{Job: job("service", 3, 2), Deployment: deployment(3, "failed"), Allocations: allocs(alloc(3, "run", "failed"))},
			state: StateFailed, desired: 2, version: 3},
		{name: "deployment failed with some running",
			obs:   Observation{Job: job("service", 3, 2), Deployment: deployment(3, "failed"), Allocations: allocs(alloc(3, "run", "running"), alloc(3, "run", "failed"))},
			state: StateDegraded, desired: 2, running: 1, version: 3},
		{name: "deployment cancelled with none running",
			obs:   Observation{Job: job("service", 3, 1), Deployment: deployment(3, "cancelled")},
			state: StateFailed, desired: 1, version: 3},
		{name: "deployment successful with all desired running",
			obs: Observation{Job: job("service", 5, 2), Deployment: deployment(5, "successful"),
				// One instance restarted since the deployment and lost its
				// health flag: it still counts as healthy.
				Allocations: allocs(healthyAlloc(5), alloc(5, "run", "running"))},
			state: StateHealthy, desired: 2, running: 2, healthy: 2, version: 5},
		{name: "deployment successful with fewer running",
			obs:   Observation{Job: job("service", 5, 3), Deployment: deployment(5, "successful"), Allocations: allocs(healthyAlloc(5), alloc(5, "run", "failed"))},
			state: StateDegraded, desired: 3, running: 1, healthy: 1, version: 5},
		{name: "deployment successful with none running and failures",
			obs:   Observation{Job: job("service", 5, 1), Deployment: deployment(5, "successful"), Allocations: allocs(alloc(5, "run", "failed"))},
			state: StateFailed, desired: 1, version: 5},
		{name: "deployment successful with none running yet",
			obs:   Observation{Job: job("service", 5, 1), Deployment: deployment(5, "successful")},
			state: StatePending, desired: 1, version: 5},
		{name: "allocations of an older version do not count: the new version is deploying",
			obs: Observation{Job: job("service", 2, 2), Deployment: deployment(1, "successful"),
				Allocations: allocs(healthyAlloc(1), healthyAlloc(1))},
			state: StateDeploying, desired: 2, version: 2},
		// The moment a redeployed element's light went grey: version 2 is
		// registered, the old instance is stopping and the new one is not
		// placed yet, and Nomad's latest deployment is still version 1's.
		{name: "redeploy between the old instance stopping and the new one placed is deploying",
			obs: Observation{Job: job("service", 2, 1), Deployment: deployment(1, "successful"),
				Allocations: allocs(alloc(1, "stop", "complete"))},
			state: StateDeploying, desired: 1, version: 2},
		{name: "redeploy with no deployment recorded and the old instance stopping is deploying",
			obs:   Observation{Job: job("service", 2, 1), Allocations: allocs(alloc(1, "stop", "running"))},
			state: StateDeploying, desired: 1, version: 2},
		{name: "redeploy whose new instance failed before its deployment exists is failed",
			obs: Observation{Job: job("service", 2, 1), Deployment: deployment(1, "successful"),
				Allocations: allocs(alloc(1, "stop", "complete"), alloc(2, "run", "failed"))},
			state: StateFailed, desired: 1, version: 2},
		{name: "first deploy with nothing placed yet is still pending",
			obs:   Observation{Job: job("service", 0, 1)},
			state: StatePending, desired: 1},
		{name: "rolling update half done is deploying, not healthy",
			obs: Observation{Job: job("service", 2, 2), Deployment: deployment(2, "running"),
				Allocations: allocs(healthyAlloc(1), healthyAlloc(2))},
			state: StateDeploying, desired: 2, running: 1, healthy: 1, version: 2},
		{name: "old successful deployment with new version all running is running",
			obs: Observation{Job: job("service", 2, 1), Deployment: deployment(1, "successful"),
				Allocations: allocs(alloc(2, "run", "running"))},
			state: StateRunning, desired: 1, running: 1, version: 2},
		{name: "periodic job is running with nothing desired",
			obs:   Observation{Job: periodic, Allocations: allocs(alloc(2, "run", "failed"))},
			state: StateRunning, version: 2},
		{name: "disabled periodic batch job is a batch job",
			obs:   Observation{Job: periodicOff},
			state: StatePending, desired: 1, version: 2},
		{name: "batch running",
			obs:   Observation{Job: job("batch", 1, 2), Allocations: allocs(alloc(1, "run", "running"), alloc(1, "run", "failed"))},
			state: StateRunning, desired: 2, running: 1, version: 1},
		{name: "batch failed",
			obs:   Observation{Job: job("batch", 1, 1), Allocations: allocs(alloc(1, "run", "failed"))},
			state: StateFailed, desired: 1, version: 1},
		{name: "batch dead",
			obs:   Observation{Job: deadBatch, Allocations: allocs(alloc(1, "run", "complete"))},
			state: StateStopped, desired: 1, version: 1},
		{name: "batch pending",
			obs:   Observation{Job: job("batch", 1, 1)},
			state: StatePending, desired: 1, version: 1},
		{name: "sysbatch is batch",
			obs:   Observation{Job: job("sysbatch", 1, 1), Allocations: allocs(alloc(1, "run", "running"))},
			state: StateRunning, desired: 1, running: 1, version: 1},
		{name: "no deployment and all running",
			obs:   Observation{Job: job("service", 1, 2), Allocations: allocs(alloc(1, "run", "running"), alloc(1, "run", "running"))},
			state: StateRunning, desired: 2, running: 2, version: 1},
		{name: "no deployment and fewer running",
			obs:   Observation{Job: job("service", 1, 2), Allocations: allocs(alloc(1, "run", "running"), alloc(1, "run", "failed"))},
			state: StateDegraded, desired: 2, running: 1, version: 1},
		{name: "no deployment and nothing desired",
			obs:   Observation{Job: job("service", 1, 0)},
			state: StateRunning, version: 1},
		{name: "desired summed over groups",
			obs:   Observation{Job: nilCount, Allocations: allocs(alloc(0, "run", "running"))},
			state: StateDegraded, desired: 5, running: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, desired, running, healthy, version := Compute(tt.obs)
			if state != tt.state || desired != tt.desired || running != tt.running || healthy != tt.healthy || version != tt.version {
				t.Errorf("Compute() = %s desired=%d running=%d healthy=%d version=%d; want %s desired=%d running=%d healthy=%d version=%d",
					state, desired, running, healthy, version, tt.state, tt.desired, tt.running, tt.healthy, tt.version)
			}
		})
	}
}

func TestLastEvent(t *testing.T) {
	at := func(sec int64) int64 { return time.Unix(1_700_000_000+sec, 0).UnixNano() }
	tests := []struct {
		name   string
		allocs []*nomad.AllocationListStub
		want   string
		wantAt int64
	}{
		{name: "no allocations", want: "", wantAt: 0},
		{name: "allocation without events", allocs: allocs(alloc(0, "run", "pending")), want: ""},
		{
			name: "newest across allocations and tasks",
			allocs: []*nomad.AllocationListStub{
				{TaskStates: map[string]*nomad.TaskState{
					"api": {Events: []*nomad.TaskEvent{
						{Type: "Received", Time: at(1)},
						{Type: "Started", Time: at(3)},
					}},
					"logship": {Events: []*nomad.TaskEvent{{Type: "Started", Time: at(2)}}},
				}},
				{TaskStates: map[string]*nomad.TaskState{
					"api": {Events: []*nomad.TaskEvent{
						{Type: "Restarting", DisplayMessage: "exit 1", Time: at(5)},
						{Type: "Terminated", Time: at(4)},
					}},
				}},
				{TaskStates: map[string]*nomad.TaskState{
					"logship": {Events: []*nomad.TaskEvent{{Type: "Started", Time: at(0)}}},
				}},
			},
			want:   "api: Restarting: exit 1",
			wantAt: at(5),
		},
		{
			name: "without a display message",
			allocs: []*nomad.AllocationListStub{{TaskStates: map[string]*nomad.TaskState{
				"web":     {Events: []*nomad.TaskEvent{{Type: "Started", Time: at(9)}}},
				"logship": {Events: []*nomad.TaskEvent{{Type: "Killed", DisplayMessage: "stopped", Time: at(8)}}},
			}}},
			want:   "web: Started",
			wantAt: at(9),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotAt := lastEvent(tt.allocs)
			if got != tt.want {
				t.Errorf("lastEvent() = %q, want %q", got, tt.want)
			}
			var wantAt time.Time
			if tt.wantAt != 0 {
				wantAt = time.Unix(0, tt.wantAt)
			}
			if !gotAt.Equal(wantAt) {
				t.Errorf("lastEvent() at %v, want %v", gotAt, wantAt)
			}
		})
	}
}

func TestPickVersion(t *testing.T) {
	v := func(n uint64, stable bool) *nomad.Job {
		return &nomad.Job{Version: new(n), Stable: new(stable)}
	}
	ptr := func(n uint64) *uint64 { return &n }
	// Newest first, as Nomad lists them.
	history := []*nomad.Job{v(4, true), v(3, false), v(2, true), v(1, true), v(0, false)}
	tests := []struct {
		name        string
		versions    []*nomad.Job
		want        *uint64
		to, current uint64
		err         error  // errors.Is target, when set
		errText     string // substring of the error, when set
	}{
		{name: "newest earlier stable version", versions: history, to: 2, current: 4},
		{name: "current stable version is skipped", versions: []*nomad.Job{v(1, true), v(0, true)}, to: 0, current: 1},
		{name: "explicit version", versions: history, want: ptr(3), to: 3, current: 4},
		{name: "explicit unstable oldest version", versions: history, want: ptr(0), to: 0, current: 4},
		{name: "explicit current version", versions: history, want: ptr(4), errText: "version 4 is already the current one"},
		{name: "missing version", versions: history, want: ptr(9), errText: "no version 9"},
		{name: "no stable version", versions: []*nomad.Job{v(2, true), v(1, false), v(0, false)},
			err: ErrNoStableVersion, errText: "before version 2"},
		{name: "only one version", versions: []*nomad.Job{v(0, true)}, err: ErrNoStableVersion, errText: "before version 0"},
		{name: "no versions", err: ErrNoStableVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, current, err := pickVersion(tt.versions, tt.want)
			if tt.err == nil && tt.errText == "" {
				if err != nil {
					t.Fatalf("pickVersion() error = %v", err)
				}
				if to != tt.to || current != tt.current {
					t.Errorf("pickVersion() = %d, %d; want %d, %d", to, current, tt.to, tt.current)
				}
				return
			}
			if err == nil {
				t.Fatalf("pickVersion() = %d, %d; want an error", to, current)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("pickVersion() error = %v, want it to wrap %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("pickVersion() error = %q, want it to contain %q", err, tt.errText)
			}
		})
	}
}
