package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// Outcome is what Apply did with one job.
type Outcome string

const (
	OutcomeRegistered Outcome = "registered"
	OutcomeUnchanged  Outcome = "unchanged"
	OutcomeRemoved    Outcome = "removed"
	OutcomeSkipped    Outcome = "skipped" // a removal without --prune
	// OutcomeConflict: the job changed in Nomad after the plan; nothing was
	// overwritten. Plan and apply again.
	OutcomeConflict Outcome = "conflict"
	OutcomeFailed   Outcome = "failed"
)

// ApplyItem is the result for one job in one region.
type ApplyItem struct {
	Element string `json:"element"`
	Region  string `json:"region"`
	JobID   string `json:"job_id"`
	// Namespace is the job's Nomad namespace; empty means "default".
	Namespace string  `json:"namespace,omitempty"`
	Outcome   Outcome `json:"outcome"`
	EvalID    string  `json:"eval_id,omitempty"`
	Err       string  `json:"error,omitempty"`
	// Elapsed is how long the region took to answer.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Result is what Apply did. OK reports whether every job landed.
type Result struct {
	Project string       `json:"project"`
	Items   []*ApplyItem `json:"items"`
}

// OK reports whether nothing failed or conflicted.
func (r *Result) OK() bool {
	for _, it := range r.Items {
		if it.Outcome == OutcomeFailed || it.Outcome == OutcomeConflict {
			return false
		}
	}
	return true
}

// ErrConflict is wrapped by errors for jobs changed since the plan.
var ErrConflict = errors.New("job changed since the plan")

// ErrBlocked is returned when the plan has problems that must be fixed
// before anything is applied.
var ErrBlocked = errors.New("plan has problems")

// ApplyOptions control Apply.
type ApplyOptions struct {
	// Prune deregisters the project's jobs that are no longer in the schema.
	Prune bool
	// Progress, when set, is called as each job lands (from several
	// goroutines, one call at a time).
	Progress func(*ApplyItem)
}

// Apply carries out a plan: Vault policies and credentials and Consul
// intentions first, then every create and update, in parallel across
// regions with bounded concurrency, each registered with the modify index
// seen at plan time enforced. Unchanged jobs are not registered again. A
// region that fails does not stop the others; its items say why. Nothing is
// reported registered unless Nomad accepted it. Running Apply again on a
// fresh plan finishes what failed.
func (c *Cluster) Apply(ctx context.Context, p *Plan, opts ApplyOptions) (*Result, error) {
	if p.bundle == nil {
		return nil, errors.New("apply: the plan was not made by Cluster.Plan; plan again")
	}
	if len(p.Problems) > 0 {
		return nil, fmt.Errorf("%w:\n  %s", ErrBlocked, strings.Join(p.Problems, "\n  "))
	}
	namespace := "default"
	for _, it := range p.Items {
		if it.job != nil && it.job.Namespace != nil && *it.job.Namespace != "" {
			namespace = *it.job.Namespace
			break
		}
	}
	if err := c.applyVault(ctx, p.bundle, namespace, p.only); err != nil {
		return nil, fmt.Errorf("apply %s: %w", p.Project, err)
	}
	if err := c.applyIntentions(ctx, p); err != nil {
		return nil, fmt.Errorf("apply %s: %w", p.Project, err)
	}
	res := &Result{Project: p.Project, Items: make([]*ApplyItem, len(p.Items))}
	progress := func(it *ApplyItem) {}
	if opts.Progress != nil {
		ch := make(chan *ApplyItem)
		done := make(chan struct{})
		go func() {
			for it := range ch {
				opts.Progress(it)
			}
			close(done)
		}()
		defer func() { close(ch); <-done }()
		progress = func(it *ApplyItem) { ch <- it }
	}
	c.parallel(ctx, len(p.Items), func(ctx context.Context, i int) {
		it := c.applyItem(ctx, p.Items[i], opts)
		res.Items[i] = it
		progress(it)
	})
	return res, nil
}

func (c *Cluster) applyItem(ctx context.Context, pi *PlanItem, opts ApplyOptions) *ApplyItem {
	it := &ApplyItem{Element: pi.Element, Region: pi.Region, JobID: pi.JobID, Namespace: pi.Namespace}
	start := time.Now()
	defer func() { it.Elapsed = time.Since(start) }()
	if err := ctx.Err(); err != nil {
		it.Outcome, it.Err = OutcomeFailed, err.Error()
		return it
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	switch pi.Action {
	case ActionUnchanged:
		it.Outcome = OutcomeUnchanged
	case ActionError:
		it.Outcome, it.Err = OutcomeFailed, pi.Err
	case ActionRemove:
		if !opts.Prune {
			it.Outcome = OutcomeSkipped
			return it
		}
		wo := (&nomad.WriteOptions{Region: pi.Region, Namespace: pi.Namespace}).WithContext(ctx)
		eval, _, err := c.Nomad.Jobs().Deregister(pi.JobID, false, wo)
		if err != nil {
			it.Outcome, it.Err = OutcomeFailed, fmt.Sprintf("deregister %s in region %s: %v", pi.JobID, pi.Region, err)
			return it
		}
		it.Outcome, it.EvalID = OutcomeRemoved, eval
	case ActionCreate, ActionUpdate:
		wo := (&nomad.WriteOptions{Region: pi.Region, Namespace: pi.Namespace}).WithContext(ctx)
		resp, _, err := c.Nomad.Jobs().RegisterOpts(pi.job, &nomad.RegisterOptions{EnforceIndex: true, ModifyIndex: pi.ModifyIndex, PreserveCounts: pi.preserveCounts}, wo)
		switch {
		case err != nil && strings.Contains(err.Error(), "Enforcing job modify index"):
			it.Outcome = OutcomeConflict
			it.Err = fmt.Sprintf("deploy %s in region %s: %v: it was changed in Nomad after the plan; nothing was overwritten, plan again", pi.JobID, pi.Region, ErrConflict)
		case err != nil:
			it.Outcome, it.Err = OutcomeFailed, fmt.Sprintf("deploy %s in region %s: %v", pi.JobID, pi.Region, err)
		default:
			it.Outcome, it.EvalID = OutcomeRegistered, resp.EvalID
			if resp.Warnings != "" {
				c.log.Warn("nomad warns about a job", "job", pi.JobID, "region", pi.Region, "warnings", resp.Warnings)
			}
		}
	}
	return it
}

func (c *Cluster) setIntentions(ctx context.Context, e *consul.ServiceIntentionsConfigEntry) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	if _, _, err := c.Consul.ConfigEntries().Set(e, (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("write Consul intentions for %s: %w", e.Name, err)
	}
	return nil
}

// applyIntentions writes the mesh's intentions to Consul.
func (c *Cluster) applyIntentions(ctx context.Context, p *Plan) error {
	b := p.bundle
	if len(b.Intentions) == 0 {
		return nil
	}
	if c.Consul == nil {
		return fmt.Errorf("consul: %w: the mesh needs CONSUL_HTTP_ADDR", ErrNotConfigured)
	}
	entries := append([]*consul.ServiceIntentionsConfigEntry(nil), b.Intentions...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	for _, e := range entries {
		if err := c.setIntentions(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
