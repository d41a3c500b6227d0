package jobs

import (
	"fmt"
	"sort"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// An autoscaled element (a group with a scaling policy) starts with the
// count the schema gives; after that the autoscaler owns its count. A deploy
// keeps the live count, clamped into the policy's min..max, so that neither
// a redeploy nor an auto-deploy knocks an element under load back to its
// initial count. Nomad's plan endpoint has no preserve-counts option, so the
// plan is made with the live count written into the job, and apply
// registers that same job with PreserveCounts set (unless a count had to be
// clamped, when the clamped count must win).

// maxScalingEvents is how many recent scaling events a Status carries.
const maxScalingEvents = 5

// Scaling is an autoscaled element's bounds and its recent scaling events
// in one region, newest first.
type Scaling struct {
	Min    int64          `json:"min"`
	Max    int64          `json:"max"`
	Events []ScalingEvent `json:"events,omitempty"`
}

// ScalingEvent is one entry of Nomad's scaling events for a group
// (/v1/job/{id}/scale): a count change, or an autoscaler's note or error.
type ScalingEvent struct {
	Time time.Time `json:"time"`
	// From is the count before; To the count after, nil when the event
	// did not change the count.
	From int64  `json:"from"`
	To   *int64 `json:"to,omitempty"`
	// By is "autoscaler" when the Nomad Autoscaler made the change, or
	// "scale API" for anything else that called Nomad's scale endpoint.
	By      string `json:"by"`
	Message string `json:"message,omitempty"`
	Error   bool   `json:"error,omitempty"`
}

// Summary is the event as one line, relative to now:
// "scaled 1 → 3 by the autoscaler 2m ago: scaling up because factor is 3.0".
func (e ScalingEvent) Summary(now time.Time) string {
	var b strings.Builder
	switch {
	case e.Error:
		b.WriteString("scaling failed")
	case e.To != nil:
		fmt.Fprintf(&b, "scaled %d → %d", e.From, *e.To)
	default:
		b.WriteString("scaling note")
	}
	if e.By == "autoscaler" {
		b.WriteString(" by the autoscaler")
	} else if e.By != "" {
		b.WriteString(" by the " + e.By)
	}
	if !e.Time.IsZero() {
		b.WriteString(" " + ago(now.Sub(e.Time)))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// scalingOf returns the bounds of the job's first scaled group, or nil.
func scalingOf(job *nomad.Job) *Scaling {
	if job == nil {
		return nil
	}
	for _, tg := range job.TaskGroups {
		if sp := tg.Scaling; sp != nil {
			s := &Scaling{Max: deref64(sp.Max)}
			if sp.Min != nil {
				s.Min = *sp.Min
			}
			return s
		}
	}
	return nil
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// scalingEvents folds Nomad's scale status into events, newest first, at
// most maxScalingEvents.
func scalingEvents(resp *nomad.JobScaleStatusResponse) []ScalingEvent {
	if resp == nil {
		return nil
	}
	var out []ScalingEvent
	for _, g := range resp.TaskGroups {
		for _, ev := range g.Events {
			e := ScalingEvent{
				Time: time.Unix(0, int64(ev.Time)).UTC(), From: ev.PreviousCount, To: ev.Count,
				Message: ev.Message, Error: ev.Error, By: "scale API",
			}
			for k := range ev.Meta {
				if strings.HasPrefix(k, "nomad_autoscaler") || k == "nomad_policy_id" {
					e.By = "autoscaler"
				}
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if len(out) > maxScalingEvents {
		out = out[:maxScalingEvents]
	}
	return out
}

// keepCounts returns the job to plan and register for spec, given the live
// job (nil when the job is new): each group with a scaling policy takes the
// live count, clamped into the policy's min..max. preserve is true when
// some group is autoscaled and none had to be clamped, so that Nomad's
// PreserveCounts may keep whatever count the group has when it registers.
// notes say what was kept or clamped. spec is never modified.
func keepCounts(spec, live *nomad.Job) (job *nomad.Job, preserve bool, notes []string) {
	if live == nil || (live.Stop != nil && *live.Stop) {
		return spec, false, nil
	}
	liveCount := map[string]int{}
	for _, tg := range live.TaskGroups {
		if tg.Name != nil && tg.Count != nil {
			liveCount[*tg.Name] = *tg.Count
		}
	}
	cp := *spec
	cp.TaskGroups = make([]*nomad.TaskGroup, len(spec.TaskGroups))
	scaled, clamped := false, false
	for i, tg := range spec.TaskGroups {
		cp.TaskGroups[i] = tg
		if tg.Scaling == nil || tg.Name == nil {
			continue
		}
		n, ok := liveCount[*tg.Name]
		if !ok {
			continue // a new group starts with the schema's count
		}
		scaled = true
		lo, hi := int(deref64(tg.Scaling.Min)), int(deref64(tg.Scaling.Max))
		want := n
		switch {
		case hi > 0 && n > hi:
			want = hi
		case n < lo:
			want = lo
		}
		g := *tg
		g.Count = &want
		cp.TaskGroups[i] = &g
		if want != n {
			clamped = true
			notes = append(notes, fmt.Sprintf("group %s: count %d → %d, clamped into scale.min..max (%d..%d)", *tg.Name, n, want, lo, hi))
		} else if tg.Count == nil || *tg.Count != n {
			notes = append(notes, fmt.Sprintf("group %s: count %d kept, the autoscaler's (scale.count %d is only the initial count)", *tg.Name, n, deref(tg.Count)))
		}
	}
	if !scaled {
		return spec, false, nil
	}
	return &cp, !clamped, notes
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// readScaling adds the bounds and recent scaling events to an autoscaled
// job's status.
func (c *Cluster) readScaling(job *nomad.Job, t Target, q *nomad.QueryOptions) *Scaling {
	s := scalingOf(job)
	if s == nil {
		return nil
	}
	resp, _, err := c.Nomad.Jobs().ScaleStatus(t.JobID, q)
	if err != nil {
		c.log.Debug("read scaling events", "job", t.JobID, "region", t.Region, "error", err)
		return s
	}
	s.Events = scalingEvents(resp)
	return s
}

// phantomEdit reports whether a plan diff marks the job "Edited" only
// because of its scaling block, with no field changed anywhere. Nomad
// compares scaling policies as whole structs, and the stored policy never
// equals a submitted one (IDs, indexes, and the policy's numbers decoded
// from its Raft log as integers where the request's JSON has floats), so
// every plan of an autoscaled job says "Edited" with nothing in it. A real
// change to the policy shows as fields (Max, Policy's keys) and is kept.
func phantomEdit(d *nomad.JobDiff) bool {
	if d == nil || d.Type != "Edited" || len(d.Fields) > 0 || len(d.Objects) > 0 {
		return false
	}
	sawScaling := false
	for _, tg := range d.TaskGroups {
		if tg.Type == "None" {
			continue
		}
		if tg.Type != "Edited" || len(tg.Fields) > 0 {
			return false
		}
		for _, o := range tg.Objects {
			if o.Name != "Scaling" || !emptyObjectDiff(o) {
				return false
			}
			sawScaling = true
		}
		for _, t := range tg.Tasks {
			if t.Type != "None" && (len(t.Fields) > 0 || len(t.Objects) > 0) {
				return false
			}
		}
	}
	return sawScaling
}

// emptyObjectDiff reports whether an object diff changes no field, at any
// depth.
func emptyObjectDiff(o *nomad.ObjectDiff) bool {
	for _, f := range o.Fields {
		if f.Type != "None" {
			return false
		}
	}
	for _, c := range o.Objects {
		if !emptyObjectDiff(c) {
			return false
		}
	}
	return true
}
