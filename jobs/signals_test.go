package jobs

import (
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

func TestComputeSignals(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	job := func(version uint64, count int) *nomad.Job {
		return &nomad.Job{Version: new(version), Type: new("service"), TaskGroups: []*nomad.TaskGroup{{Count: new(count)}}}
	}
	restarting := func(at ...time.Time) map[string]*nomad.TaskState {
		ts := &nomad.TaskState{}
		for _, a := range at {
			ts.Events = append(ts.Events, &nomad.TaskEvent{Type: nomad.TaskRestarting, Time: a.UnixNano()})
		}
		return map[string]*nomad.TaskState{"main": ts}
	}
	failedTask := map[string]*nomad.TaskState{"main": {Failed: true, Events: []*nomad.TaskEvent{
		{Type: nomad.TaskTerminated, DisplayMessage: "Exit Code: 1", Time: t0.UnixNano()},
		{Type: nomad.TaskNotRestarting, DisplayMessage: "Exceeded allowed attempts 2 in interval 30m0s", Time: t0.UnixNano()}}}}
	cases := []struct {
		name        string
		job         *nomad.Job
		deployments []*nomad.Deployment
		allocs      []*nomad.AllocationListStub
		check       func(t *testing.T, s *Signals)
	}{
		{"restarts of the current version only, newest first", job(2, 1), nil, []*nomad.AllocationListStub{
			{ID: "old", JobVersion: 1, DesiredStatus: "stop", ClientStatus: "complete", TaskStates: restarting(t0.Add(-time.Hour))},
			{ID: "cur", JobVersion: 2, DesiredStatus: "run", ClientStatus: "running", TaskStates: restarting(t0.Add(-2*time.Minute), t0.Add(-time.Minute))},
		}, func(t *testing.T, s *Signals) {
			if len(s.Restarts) != 2 || !s.Restarts[0].Equal(t0.Add(-time.Minute)) || s.Up != 1 || s.Failed != nil || !s.Service {
				t.Errorf("%+v", s)
			}
		}},
		{"a failed instance while short of the count", job(1, 1), nil, []*nomad.AllocationListStub{
			{ID: "abcdef0123", JobVersion: 1, DesiredStatus: "run", ClientStatus: "failed", ModifyTime: t0.UnixNano(), TaskStates: failedTask},
		}, func(t *testing.T, s *Signals) {
			if s.Failed == nil || s.Failed.ID != "abcdef0123" || s.Up != 0 || len(s.Restarts) != 1 ||
				s.Failed.Message != "instance abcdef01 failed; main: Exceeded allowed attempts 2 in interval 30m0s; Exit Code: 1" {
				t.Errorf("%+v %+v", s, s.Failed)
			}
		}},
		{"a failed instance already replaced", job(1, 1), nil, []*nomad.AllocationListStub{
			{ID: "a", JobVersion: 1, DesiredStatus: "run", ClientStatus: "failed", ModifyTime: t0.UnixNano(), TaskStates: failedTask},
			{ID: "b", JobVersion: 1, DesiredStatus: "run", ClientStatus: "running"},
		}, func(t *testing.T, s *Signals) {
			if s.Failed != nil || s.Up != 1 {
				t.Errorf("%+v", s)
			}
		}},
		{"a failed deployment stays failed through its automatic revert", job(4, 1), []*nomad.Deployment{
			{ID: "d3", JobVersion: 3, Status: "failed", StatusDescription: "Failed due to unhealthy allocations - rolling back to job version 2", CreateIndex: 30},
			{ID: "d4", JobVersion: 4, Status: "successful", CreateIndex: 40},
			{ID: "d2", JobVersion: 2, Status: "successful", CreateIndex: 20},
		}, nil, func(t *testing.T, s *Signals) {
			if s.DeploymentFailed == nil || s.DeploymentFailed.ID != "d3" {
				t.Errorf("%+v", s.DeploymentFailed)
			}
		}},
		{"a newer version clears the failed deployment", job(5, 1), []*nomad.Deployment{
			{ID: "d3", JobVersion: 3, Status: "failed", StatusDescription: "Failed due to unhealthy allocations - rolling back to job version 2", CreateIndex: 30},
			{ID: "d4", JobVersion: 4, Status: "successful", CreateIndex: 40},
		}, nil, func(t *testing.T, s *Signals) {
			if s.DeploymentFailed != nil {
				t.Errorf("%+v", s.DeploymentFailed)
			}
		}},
		{"a periodic job is not a service", &nomad.Job{Version: new(uint64(0)), Type: new("batch"), Periodic: &nomad.PeriodicConfig{Enabled: new(true)}}, nil, nil,
			func(t *testing.T, s *Signals) {
				if s.Service {
					t.Errorf("%+v", s)
				}
			}},
		{"a stopped job has no signals", &nomad.Job{Version: new(uint64(1)), Stop: new(true)}, nil, []*nomad.AllocationListStub{
			{ID: "a", JobVersion: 1, DesiredStatus: "run", ClientStatus: "failed"},
		}, func(t *testing.T, s *Signals) {
			if s.Failed != nil || s.Service || s.Up != 0 {
				t.Errorf("%+v", s)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, ComputeSignals(c.job, c.deployments, c.allocs)) })
	}
}
