package jobs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/translator"
)

// Action is what applying a plan does to one job.
type Action string

const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionUnchanged Action = "unchanged"
	ActionRemove    Action = "remove"
	// ActionError: the region could not plan the job; see Err.
	ActionError Action = "error"
)

// PlanItem is one job in one region.
type PlanItem struct {
	Element string `json:"element"`
	Region  string `json:"region"`
	JobID   string `json:"job_id"`
	// Namespace is the job's Nomad namespace; empty means "default".
	Namespace string `json:"namespace,omitempty"`
	Action    Action `json:"action"`
	// Changes are the field changes Nomad reports, one per line.
	Changes []string `json:"changes,omitempty"`
	// ModifyIndex is the job's modify index when planned (0: no such job).
	// Apply registers with it enforced, so a change made in between is a
	// conflict rather than overwritten.
	ModifyIndex uint64 `json:"modify_index"`
	// Unplaced says what Nomad could not place, per group.
	Unplaced []string `json:"unplaced,omitempty"`
	Warnings string   `json:"warnings,omitempty"`
	// Notes say what the plan kept from the live job: an autoscaled
	// group's count, or that it had to be clamped into new bounds.
	Notes []string `json:"notes,omitempty"`
	Err   string   `json:"error,omitempty"`

	job *nomad.Job
	// preserveCounts registers with Nomad's PreserveCounts: the job has an
	// autoscaled group and no count had to be clamped.
	preserveCounts bool
}

// Plan is what Apply would do, and what blocks it.
type Plan struct {
	Project string      `json:"project"`
	Items   []*PlanItem `json:"items"`
	// Problems block Apply: secrets missing from Vault, Consul or Vault
	// needed but not configured. Each names the element and field.
	Problems []string `json:"problems,omitempty"`
	// Warnings do not block Apply (a region the project does not use that
	// cannot be listed for leftover jobs).
	Warnings []string `json:"warnings,omitempty"`

	bundle *translator.Bundle
	only   map[string]bool
}

// PlanOptions narrow a plan.
type PlanOptions struct {
	// Elements limits the plan to these element IDs; empty means all.
	Elements []string
}

// Plan asks each region what registering the bundle's jobs would do, and
// lists the project's jobs that are no longer in the schema as removals.
// Regions are asked in parallel; a region that fails gives error items for
// its jobs and does not stop the others.
func (c *Cluster) Plan(ctx context.Context, b *translator.Bundle, opts PlanOptions) (*Plan, error) {
	only := map[string]bool{}
	for _, e := range opts.Elements {
		only[e] = true
	}
	p := &Plan{Project: b.Project, bundle: b, only: only}
	wanted := map[string]bool{} // region/jobID
	var items []*PlanItem
	for region, js := range b.Jobs {
		for _, j := range js {
			wanted[region+"/"+*j.ID] = true
			el := j.Meta[translator.MetaElement]
			if len(only) > 0 && !only[el] {
				continue
			}
			items = append(items, &PlanItem{Element: el, Region: region, JobID: *j.ID, Namespace: ns(j), job: j})
		}
	}
	if len(only) > 0 {
		known := map[string]bool{}
		for _, it := range items {
			known[it.Element] = true
		}
		for _, e := range opts.Elements {
			if !known[e] {
				return nil, fmt.Errorf("plan: no element %q in project %s", e, b.Project)
			}
		}
	}
	c.parallel(ctx, len(items), func(ctx context.Context, i int) { c.planJob(ctx, items[i]) })

	removals, warnings := c.removals(ctx, b, wanted, only)
	p.Warnings = warnings
	items = append(items, removals...)
	sort.Slice(items, func(i, j int) bool {
		if items[i].Element != items[j].Element {
			return items[i].Element < items[j].Element
		}
		return items[i].Region < items[j].Region
	})
	p.Items = items
	p.Problems = c.problems(ctx, b, only)
	return p, nil
}

func (c *Cluster) planJob(ctx context.Context, it *PlanItem) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	if err := c.keepLiveCounts(ctx, it); err != nil {
		it.Action, it.Err = ActionError, fmt.Sprintf("plan %s in region %s: %v", it.JobID, it.Region, err)
		return
	}
	wo := (&nomad.WriteOptions{Region: it.Region, Namespace: ns(it.job)}).WithContext(ctx)
	resp, _, err := c.Nomad.Jobs().PlanOpts(it.job, &nomad.PlanOptions{Diff: true}, wo)
	if err != nil {
		it.Action, it.Err = ActionError, fmt.Sprintf("plan %s in region %s: %v", it.JobID, it.Region, err)
		return
	}
	it.ModifyIndex = resp.JobModifyIndex
	it.Warnings = strings.TrimSpace(resp.Warnings)
	switch {
	case resp.Diff == nil || resp.Diff.Type == "Added":
		it.Action = ActionCreate
	case resp.Diff.Type == "None", phantomEdit(resp.Diff):
		it.Action = ActionUnchanged
	default:
		it.Action = ActionUpdate
		it.Changes = diffLines(resp.Diff)
	}
	groups := make([]string, 0, len(resp.FailedTGAllocs))
	for g := range resp.FailedTGAllocs {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		it.Unplaced = append(it.Unplaced, placementFailure(g, resp.FailedTGAllocs[g]))
	}
}

// keepLiveCounts replaces an autoscaled job with one that keeps the live
// counts (see keepCounts); other jobs are left as they are, unread.
func (c *Cluster) keepLiveCounts(ctx context.Context, it *PlanItem) error {
	if scalingOf(it.job) == nil {
		return nil
	}
	q := (&nomad.QueryOptions{Region: it.Region, Namespace: ns(it.job)}).WithContext(ctx)
	live, _, err := c.Nomad.Jobs().Info(it.JobID, q)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read the live count: %w", err)
	}
	it.job, it.preserveCounts, it.Notes = keepCounts(it.job, live)
	return nil
}

// removals lists the project's jobs in every region that the bundle no
// longer has. A region that cannot be listed is reported as an error item.
func (c *Cluster) removals(ctx context.Context, b *translator.Bundle, wanted, only map[string]bool) ([]*PlanItem, []string) {
	regions := map[string]bool{}
	for r := range b.Jobs {
		regions[r] = true
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	var known []string
	_, err := c.Nomad.Raw().Query("/v1/regions", &known, (&nomad.QueryOptions{}).WithContext(rctx))
	cancel()
	if err == nil {
		for _, r := range known {
			regions[r] = true
		}
	}
	names := make([]string, 0, len(regions))
	for r := range regions {
		names = append(names, r)
	}
	sort.Strings(names)
	var mu sync.Mutex
	var out []*PlanItem
	var warnings []string
	c.parallel(ctx, len(names), func(ctx context.Context, i int) {
		region := names[i]
		stubs, err := c.projectJobs(ctx, b.Project, region)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			// A region the schema uses already has error items for its
			// jobs. One it does not use cannot fail the deploy: it can
			// only hold leftovers to prune, so say so and go on.
			if _, used := b.Jobs[region]; !used {
				warnings = append(warnings, fmt.Sprintf("region %s: cannot list jobs to find ones to remove: %v", region, err))
			}
			return
		}
		for _, s := range stubs {
			el := s.Meta[translator.MetaElement]
			if wanted[region+"/"+s.ID] || s.Stop || (len(only) > 0 && !only[el]) {
				continue
			}
			out = append(out, &PlanItem{Element: el, Region: region, JobID: s.ID, Namespace: s.Namespace, Action: ActionRemove, ModifyIndex: s.JobModifyIndex})
		}
	})
	sort.Strings(warnings)
	return out, warnings
}

// projectJobs lists the element jobs in a region that carry the
// project's meta; build jobs are not the project's elements (they end on
// their own, and Nomad collects them).
func (c *Cluster) projectJobs(ctx context.Context, project, region string) ([]*nomad.JobListStub, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	q := (&nomad.QueryOptions{Region: region, Prefix: project + "-", Namespace: "*"}).WithContext(ctx)
	stubs, _, err := c.Nomad.Jobs().List(q)
	if err != nil {
		return nil, err
	}
	var out []*nomad.JobListStub
	for _, s := range stubs {
		if s.Meta[translator.MetaProject] == project && s.ParentID == "" && s.Meta[translator.MetaBuild] == "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// problems lists what blocks Apply before anything is written.
func (c *Cluster) problems(ctx context.Context, b *translator.Bundle, only map[string]bool) []string {
	var out []string
	if len(b.Intentions) > 0 && c.Consul == nil {
		out = append(out, "mesh: the schema turns the mesh on, which needs Consul: set CONSUL_HTTP_ADDR")
	}
	if c.Vault == nil {
		var els []string
		for id := range b.VaultPolicies {
			if el := strings.TrimPrefix(id, b.Project+"-"); len(only) == 0 || only[el] {
				els = append(els, el)
			}
		}
		if len(els) > 0 {
			sort.Strings(els)
			out = append(out, fmt.Sprintf("vault: %s read secrets or credentials from Vault, which is not configured: set VAULT_ADDR and VAULT_TOKEN", strings.Join(els, ", ")))
			return out
		}
	}
	jobIDs := make([]string, 0, len(b.Secrets))
	for id := range b.Secrets {
		jobIDs = append(jobIDs, id)
	}
	sort.Strings(jobIDs)
	for _, id := range jobIDs {
		el := strings.TrimPrefix(id, b.Project+"-")
		if len(only) > 0 && !only[el] {
			continue
		}
		have, err := c.secretNames(ctx, b.Project, el)
		if err != nil {
			out = append(out, fmt.Sprintf("elements[%s].secrets: cannot read Vault: %v", el, err))
			continue
		}
		for i, name := range b.Secrets[id] {
			if !have[name] {
				out = append(out, fmt.Sprintf("elements[%s].secrets[%d]: %s is not set in Vault; run: backplane secrets set %s %s", el, i, name, el, name))
			}
		}
	}
	return out
}

// diffLines flattens Nomad's job diff into readable lines.
func diffLines(d *nomad.JobDiff) []string {
	var out []string
	sign := func(t string) string {
		switch t {
		case "Added":
			return "+"
		case "Deleted":
			return "-"
		case "Edited":
			return "~"
		}
		return " "
	}
	var fields func(prefix string, fs []*nomad.FieldDiff)
	fields = func(prefix string, fs []*nomad.FieldDiff) {
		for _, f := range fs {
			if f.Type == "None" {
				continue
			}
			out = append(out, fmt.Sprintf("%s %s%s: %q => %q", sign(f.Type), prefix, f.Name, f.Old, f.New))
		}
	}
	var objects func(prefix string, os []*nomad.ObjectDiff)
	objects = func(prefix string, os []*nomad.ObjectDiff) {
		for _, o := range os {
			if o.Type == "None" {
				continue
			}
			fields(prefix+o.Name+".", o.Fields)
			objects(prefix+o.Name+".", o.Objects)
		}
	}
	fields("", d.Fields)
	objects("", d.Objects)
	for _, tg := range d.TaskGroups {
		if tg.Type == "None" {
			continue
		}
		p := "group " + tg.Name + ": "
		fields(p, tg.Fields)
		objects(p, tg.Objects)
		for _, t := range tg.Tasks {
			if t.Type == "None" {
				continue
			}
			tp := p + "task " + t.Name + ": "
			fields(tp, t.Fields)
			objects(tp, t.Objects)
		}
	}
	return out
}

func placementFailure(group string, m *nomad.AllocationMetric) string {
	if m == nil {
		return "group " + group + ": could not be placed"
	}
	var why []string
	for dim, n := range m.DimensionExhausted {
		why = append(why, fmt.Sprintf("%s exhausted on %d nodes", dim, n))
	}
	for c, n := range m.ConstraintFiltered {
		why = append(why, fmt.Sprintf("constraint %s filtered %d nodes", c, n))
	}
	for class, n := range m.ClassExhausted {
		why = append(why, fmt.Sprintf("class %s exhausted on %d nodes", class, n))
	}
	sort.Strings(why)
	if m.NodesEvaluated == 0 {
		why = append(why, "no nodes in the job's datacenters and node pool")
	}
	return fmt.Sprintf("group %s: %d unplaced after evaluating %d nodes: %s", group, m.CoalescedFailures+1, m.NodesEvaluated, strings.Join(why, "; "))
}

func ns(j *nomad.Job) string {
	if j != nil && j.Namespace != nil {
		return *j.Namespace
	}
	return ""
}

// parallel runs fn for 0..n-1 with at most cfg.Concurrency at once, and
// waits for all of them.
func (c *Cluster) parallel(ctx context.Context, n int, fn func(context.Context, int)) {
	sem := make(chan struct{}, c.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			fn(ctx, i)
		}(i)
	}
	wg.Wait()
}
