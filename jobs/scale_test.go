package jobs

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

func scaledJob(count int, min, max int64) *nomad.Job {
	return &nomad.Job{ID: new("shop-api"), TaskGroups: []*nomad.TaskGroup{{
		Name: new("api"), Count: new(count),
		Scaling: &nomad.ScalingPolicy{Min: new(min), Max: new(max)},
	}}}
}

func TestKeepCounts(t *testing.T) {
	fixed := &nomad.Job{ID: new("shop-api"), TaskGroups: []*nomad.TaskGroup{{Name: new("api"), Count: new(2)}}}
	stopped := scaledJob(3, 1, 4)
	stopped.Stop = new(true)
	tests := []struct {
		name       string
		spec, live *nomad.Job
		count      int
		preserve   bool
		note       string
	}{
		{name: "new job starts with the schema's count", spec: scaledJob(1, 1, 3), live: nil, count: 1},
		{name: "a stopped job starts again from the schema's count", spec: scaledJob(1, 1, 3), live: stopped, count: 1},
		{name: "no scaling policy: the schema's count wins", spec: fixed, live: scaledJob(5, 1, 8), count: 2},
		{name: "autoscaled: the live count is kept", spec: scaledJob(1, 1, 3), live: scaledJob(3, 1, 3), count: 3, preserve: true,
			note: "group api: count 3 kept, the autoscaler's (scale.count 1 is only the initial count)"},
		{name: "autoscaled at the schema's count: no note", spec: scaledJob(2, 1, 3), live: scaledJob(2, 1, 3), count: 2, preserve: true},
		{name: "live count above a lowered max is clamped", spec: scaledJob(1, 1, 2), live: scaledJob(3, 1, 3), count: 2,
			note: "group api: count 3 → 2, clamped into scale.min..max (1..2)"},
		{name: "live count below a raised min is clamped", spec: scaledJob(4, 4, 8), live: scaledJob(2, 1, 8), count: 4,
			note: "group api: count 2 → 4, clamped into scale.min..max (4..8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := json.Marshal(tt.spec)
			job, preserve, notes := keepCounts(tt.spec, tt.live)
			if got := *job.TaskGroups[0].Count; got != tt.count {
				t.Errorf("count %d, want %d", got, tt.count)
			}
			if preserve != tt.preserve {
				t.Errorf("preserve counts %v, want %v", preserve, tt.preserve)
			}
			if got := strings.Join(notes, "\n"); got != tt.note {
				t.Errorf("notes %q, want %q", got, tt.note)
			}
			if after, _ := json.Marshal(tt.spec); string(after) != string(before) {
				t.Error("keepCounts modified the spec it was given")
			}
		})
	}
}

func TestScalingEvents(t *testing.T) {
	at := func(sec int64) uint64 { return uint64(time.Unix(1_700_000_000+sec, 0).UnixNano()) }
	resp := &nomad.JobScaleStatusResponse{TaskGroups: map[string]nomad.TaskGroupScaleStatus{"api": {Events: []nomad.ScalingEvent{
		{Time: at(10), PreviousCount: 1, Count: new(int64(3)), Message: "scaling up because factor is 3.000000",
			Meta: map[string]any{"nomad_autoscaler.count.capped": true, "nomad_policy_id": "abc"}},
		{Time: at(20), PreviousCount: 3, Count: new(int64(2)), Message: "manual"},
		{Time: at(5), PreviousCount: 1, Error: true, Message: "failed to query source"},
	}}}}
	evs := scalingEvents(resp)
	if len(evs) != 3 || evs[0].Message != "manual" || evs[1].By != "autoscaler" || evs[0].By != "scale API" || !evs[2].Error {
		t.Fatalf("events %+v", evs)
	}
	now := time.Unix(1_700_000_000+130, 0)
	if got, want := evs[1].Summary(now), "scaled 1 → 3 by the autoscaler 2m ago: scaling up because factor is 3.000000"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got, want := evs[2].Summary(now), "scaling failed by the scale API 2m ago: failed to query source"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	var many []nomad.ScalingEvent
	for i := range 12 {
		many = append(many, nomad.ScalingEvent{Time: at(int64(i)), Count: new(int64(i))})
	}
	got := scalingEvents(&nomad.JobScaleStatusResponse{TaskGroups: map[string]nomad.TaskGroupScaleStatus{"api": {Events: many}}})
	if len(got) != maxScalingEvents || *got[0].To != 11 {
		t.Errorf("kept %d events, newest %+v; want the %d newest", len(got), got[0], maxScalingEvents)
	}
}

// TestPlanApplyKeepsAutoscaledCount: with the live job scaled to 3, the job
// planned and registered carries count 3, and registers with PreserveCounts;
// an element without autoscaling registers with its own count and without.
func TestPlanApplyKeepsAutoscaledCount(t *testing.T) {
	for _, tc := range []struct {
		name     string
		extra    string
		count    int
		preserve bool
	}{
		{"autoscaled", "scale: {count: 1, min: 1, max: 3}", 3, true},
		{"fixed count", "scale: {count: 1}", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNomad(t, fakeConfig{
				planDiff: &nomad.JobDiff{Type: "Edited", ID: "shop-api"}, planIndex: 12, regions: []string{"eu"},
				status: func(region, id string) (*nomad.Job, *nomad.Deployment, []*nomad.AllocationListStub) {
					return scaledJob(3, 1, 3), nil, nil
				},
			})
			c := f.cluster(t)
			p := plan(t, c, bundle(t, []string{"eu"}, tc.extra), PlanOptions{})
			if _, err := apply(t, c, p, ApplyOptions{}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			plans := f.requests(http.MethodPut, "/v1/job/shop-api/plan")
			plans = append(plans, f.requests(http.MethodPost, "/v1/job/shop-api/plan")...)
			regs := f.registers()
			if len(plans) != 1 || len(regs) != 1 {
				t.Fatalf("%d plan and %d register requests, want one each", len(plans), len(regs))
			}
			var planReq nomad.JobPlanRequest
			var regReq nomad.JobRegisterRequest
			if err := json.Unmarshal(plans[0].Body, &planReq); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(regs[0].Body, &regReq); err != nil {
				t.Fatal(err)
			}
			if got := *planReq.Job.TaskGroups[0].Count; got != tc.count {
				t.Errorf("planned count %d, want %d", got, tc.count)
			}
			if got := *regReq.Job.TaskGroups[0].Count; got != tc.count {
				t.Errorf("registered count %d, want %d", got, tc.count)
			}
			if regReq.PreserveCounts != tc.preserve {
				t.Errorf("PreserveCounts %v, want %v", regReq.PreserveCounts, tc.preserve)
			}
		})
	}
}

func TestPhantomEdit(t *testing.T) {
	scaling := func(fields ...*nomad.FieldDiff) *nomad.JobDiff {
		return &nomad.JobDiff{Type: "Edited", TaskGroups: []*nomad.TaskGroupDiff{{
			Type: "Edited", Name: "api",
			Objects: []*nomad.ObjectDiff{{Type: "Edited", Name: "Scaling", Fields: fields}},
			Tasks:   []*nomad.TaskDiff{{Type: "None", Name: "api"}},
		}}}
	}
	withTaskChange := scaling()
	withTaskChange.TaskGroups[0].Tasks[0] = &nomad.TaskDiff{Type: "Edited", Name: "api", Fields: []*nomad.FieldDiff{{Type: "Edited", Name: "Env[X]"}}}
	withCount := scaling()
	withCount.TaskGroups[0].Fields = []*nomad.FieldDiff{{Type: "Edited", Name: "Count", Old: "1", New: "3"}}
	policyChange := scaling()
	policyChange.TaskGroups[0].Objects[0].Objects = []*nomad.ObjectDiff{{Type: "Edited", Name: "Policy",
		Fields: []*nomad.FieldDiff{{Type: "Edited", Name: "cooldown", Old: "1m", New: "2m"}}}}
	tests := []struct {
		name string
		diff *nomad.JobDiff
		want bool
	}{
		{"scaling edited with nothing in it", scaling(), true},
		{"a real scaling field", scaling(&nomad.FieldDiff{Type: "Edited", Name: "Max", Old: "3", New: "4"}), false},
		{"a real policy change", policyChange, false},
		{"a task change too", withTaskChange, false},
		{"a count change", withCount, false},
		{"no diff", &nomad.JobDiff{Type: "None"}, false},
		{"a job field", &nomad.JobDiff{Type: "Edited", Fields: []*nomad.FieldDiff{{Type: "Edited", Name: "Meta[x]"}}}, false},
		{"edited without scaling", &nomad.JobDiff{Type: "Edited", TaskGroups: []*nomad.TaskGroupDiff{{Type: "Edited", Name: "api"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := phantomEdit(tt.diff); got != tt.want {
				t.Errorf("phantomEdit = %v, want %v", got, tt.want)
			}
		})
	}
}
