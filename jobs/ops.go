package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/translator"
)

// Targets lists the bundle's jobs, narrowed to the given elements (all when
// none), sorted by element then region.
func Targets(b *translator.Bundle, elements ...string) []Target {
	only := map[string]bool{}
	for _, e := range elements {
		only[e] = true
	}
	var out []Target
	for region, js := range b.Jobs {
		for _, j := range js {
			el := j.Meta[translator.MetaElement]
			if len(only) > 0 && !only[el] {
				continue
			}
			out = append(out, Target{Element: el, Region: region, JobID: *j.ID, Namespace: ns(j)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Element != out[j].Element {
			return out[i].Element < out[j].Element
		}
		return out[i].Region < out[j].Region
	})
	return out
}

// StatusAll reads every target's status, in parallel, in target order.
func (c *Cluster) StatusAll(ctx context.Context, targets []Target) []Status {
	out := make([]Status, len(targets))
	c.parallel(ctx, len(targets), func(ctx context.Context, i int) { out[i] = c.Status(ctx, targets[i]) })
	return out
}

// OpResult is the outcome of a rollback or destroy for one job.
type OpResult struct {
	Target
	// Version is the version rolled back to.
	Version uint64 `json:"version,omitempty"`
	EvalID  string `json:"eval_id,omitempty"`
	Err     string `json:"error,omitempty"`
}

// ErrNoStableVersion is wrapped when rollback finds no earlier stable version.
var ErrNoStableVersion = errors.New("no earlier stable version")

// Rollback reverts each target's job to version (when non-nil) or to the
// newest version before the current one that Nomad marked stable, through
// Nomad's job revert. Regions are handled in parallel.
func (c *Cluster) Rollback(ctx context.Context, targets []Target, version *uint64) []OpResult {
	out := make([]OpResult, len(targets))
	c.parallel(ctx, len(targets), func(ctx context.Context, i int) {
		t := targets[i]
		r := OpResult{Target: t}
		ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
		q := (&nomad.QueryOptions{Region: t.Region, Namespace: t.Namespace}).WithContext(ctx)
		versions, _, _, err := c.Nomad.Jobs().Versions(t.JobID, false, q)
		if err != nil {
			r.Err = fmt.Sprintf("rollback %s in region %s: %v", t.JobID, t.Region, err)
			out[i] = r
			return
		}
		to, current, err := pickVersion(versions, version)
		if err != nil {
			r.Err = fmt.Sprintf("rollback %s in region %s: %v", t.JobID, t.Region, err)
			out[i] = r
			return
		}
		wo := (&nomad.WriteOptions{Region: t.Region, Namespace: t.Namespace}).WithContext(ctx)
		resp, _, err := c.Nomad.Jobs().Revert(t.JobID, to, &current, wo, "", "")
		if err != nil {
			r.Err = fmt.Sprintf("rollback %s in region %s to version %d: %v", t.JobID, t.Region, to, err)
		} else {
			r.Version, r.EvalID = to, resp.EvalID
		}
		out[i] = r
	})
	return out
}

// pickVersion chooses the version to revert to. versions are newest first.
func pickVersion(versions []*nomad.Job, want *uint64) (to, current uint64, err error) {
	if len(versions) == 0 {
		return 0, 0, ErrNoStableVersion
	}
	current = *versions[0].Version
	if want != nil {
		for _, v := range versions {
			if *v.Version == *want {
				if *want == current {
					return 0, 0, fmt.Errorf("version %d is already the current one", *want)
				}
				return *want, current, nil
			}
		}
		return 0, 0, fmt.Errorf("no version %d", *want)
	}
	for _, v := range versions[1:] {
		if v.Stable != nil && *v.Stable {
			return *v.Version, current, nil
		}
	}
	return 0, 0, fmt.Errorf("%w before version %d", ErrNoStableVersion, current)
}

// Destroy deregisters each target's job (purging it from Nomad's state when
// purge is set), in parallel across regions.
func (c *Cluster) Destroy(ctx context.Context, targets []Target, purge bool) []OpResult {
	out := make([]OpResult, len(targets))
	var mu sync.Mutex
	c.parallel(ctx, len(targets), func(ctx context.Context, i int) {
		t := targets[i]
		ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
		wo := (&nomad.WriteOptions{Region: t.Region, Namespace: t.Namespace}).WithContext(ctx)
		eval, _, err := c.Nomad.Jobs().Deregister(t.JobID, purge, wo)
		r := OpResult{Target: t, EvalID: eval}
		if err != nil && !isNotFound(err) {
			r.Err = fmt.Sprintf("destroy %s in region %s: %v", t.JobID, t.Region, err)
		}
		mu.Lock()
		out[i] = r
		mu.Unlock()
	})
	return out
}
