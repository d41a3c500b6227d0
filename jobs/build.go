package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/translator"
)

// BuildRun is how a build job's allocation ended.
type BuildRun struct {
	AllocID string `json:"alloc_id"`
	// OK is true when the build and its upload both succeeded.
	OK bool `json:"ok"`
	// Reason says what failed, from Nomad's task events, when !OK.
	Reason string `json:"reason,omitempty"`
}

// StartBuild writes the build job's one-time upload tokens into its Nomad
// variable (translator.BuildVarPath), where only that job can read them,
// and registers the job. A job of the same ID (an earlier build of the
// commit) is replaced.
func (c *Cluster) StartBuild(ctx context.Context, job *nomad.Job, tokens map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	region, namespace := "", ns(job)
	if job.Region != nil {
		region = *job.Region
	}
	wo := (&nomad.WriteOptions{Region: region, Namespace: namespace}).WithContext(ctx)
	v := &nomad.Variable{Path: translator.BuildVarPath(*job.ID), Namespace: namespace, Items: nomad.VariableItems(tokens)}
	if _, _, err := c.Nomad.Variables().Update(v, wo); err != nil {
		return fmt.Errorf("build %s: store its upload tokens in Nomad: %w", *job.ID, err)
	}
	// A finished job of the same ID would keep its dead allocation:
	// purge it so the new one runs.
	if _, _, err := c.Nomad.Jobs().Deregister(*job.ID, true, wo); err != nil && !isNotFound(err) {
		return fmt.Errorf("build %s: purge the previous run: %w", *job.ID, err)
	}
	if _, _, err := c.Nomad.Jobs().Register(job, wo); err != nil {
		return fmt.Errorf("build %s: register: %w", *job.ID, err)
	}
	return nil
}

// EndBuild removes a build job's upload tokens (they are spent or no
// longer needed). The job itself stays for Nomad to collect, with its
// log.
func (c *Cluster) EndBuild(ctx context.Context, region, namespace, jobID string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	wo := (&nomad.WriteOptions{Region: region, Namespace: namespace}).WithContext(ctx)
	if _, err := c.Nomad.Variables().Delete(translator.BuildVarPath(jobID), wo); err != nil && !isNotFound(err) {
		return fmt.Errorf("build %s: remove its upload tokens: %w", jobID, err)
	}
	return nil
}

// WaitBuild waits until the build job's allocation has ended and says
// how. onAlloc, when set, is called once with the allocation's ID as soon
// as Nomad placed it (to follow its log). A build Nomad cannot place (no
// client with the driver, not enough resources) fails once its
// evaluation says so.
func (c *Cluster) WaitBuild(ctx context.Context, region, namespace, jobID string, onAlloc func(allocID string)) (BuildRun, error) {
	seen := ""
	var index uint64
	for {
		if err := ctx.Err(); err != nil {
			return BuildRun{}, err
		}
		q := (&nomad.QueryOptions{Region: region, Namespace: namespace, WaitIndex: index, WaitTime: 5 * time.Second}).WithContext(ctx)
		allocs, meta, err := c.Nomad.Jobs().Allocations(jobID, true, q)
		if err != nil {
			if ctx.Err() != nil {
				return BuildRun{}, ctx.Err()
			}
			c.log.Warn("build: read its allocation", "job", jobID, "error", err)
			select {
			case <-ctx.Done():
				return BuildRun{}, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		index = meta.LastIndex
		var a *nomad.AllocationListStub
		for _, s := range allocs {
			if a == nil || s.CreateIndex > a.CreateIndex {
				a = s
			}
		}
		if a == nil {
			if reason := c.unplaced(ctx, region, namespace, jobID); reason != "" {
				return BuildRun{Reason: reason}, nil
			}
			continue
		}
		if a.ID != seen {
			seen = a.ID
			if onAlloc != nil {
				onAlloc(a.ID)
			}
		}
		switch a.ClientStatus {
		case nomad.AllocClientStatusComplete, nomad.AllocClientStatusFailed, nomad.AllocClientStatusLost:
		default:
			continue
		}
		// Poststop tasks run after the build task; the allocation is
		// terminal once they are done too.
		return buildOutcome(a), nil
	}
}

// buildOutcome reads a terminal build allocation: the build task must
// have exited 0 and the upload task too.
func buildOutcome(a *nomad.AllocationListStub) BuildRun {
	run := BuildRun{AllocID: a.ID, OK: true}
	for _, task := range []string{translator.BuildTask, "upload"} {
		st := a.TaskStates[task]
		if st == nil {
			run.OK, run.Reason = false, fmt.Sprintf("the %s task never ran (allocation %s)", task, a.ClientStatus)
			return run
		}
		if st.Failed {
			run.OK = false
			run.Reason = taskFailure(task, st)
			return run
		}
	}
	if a.ClientStatus != nomad.AllocClientStatusComplete {
		run.OK, run.Reason = false, "the build's allocation is "+a.ClientStatus
	}
	return run
}

// taskFailure says why a task failed, from its last telling event.
func taskFailure(task string, st *nomad.TaskState) string {
	for i := len(st.Events) - 1; i >= 0; i-- {
		e := st.Events[i]
		switch {
		case e.Type == nomad.TaskTerminated && e.ExitCode != 0:
			what := "the build command"
			if task != translator.BuildTask {
				what = "the " + task + " step"
			}
			return fmt.Sprintf("%s exited with code %d", what, e.ExitCode)
		case e.DisplayMessage != "" && (e.FailsTask || e.Type == nomad.TaskArtifactDownloadFailed || e.Type == nomad.TaskDriverFailure || e.Type == nomad.TaskSetupFailure):
			return task + ": " + e.DisplayMessage
		}
	}
	return "the " + task + " task failed"
}

// unplaced returns why Nomad cannot place the job's allocation, or "".
func (c *Cluster) unplaced(ctx context.Context, region, namespace, jobID string) string {
	q := (&nomad.QueryOptions{Region: region, Namespace: namespace}).WithContext(ctx)
	evals, _, err := c.Nomad.Jobs().Evaluations(jobID, q)
	if err != nil {
		return ""
	}
	for _, e := range evals {
		for tg, m := range e.FailedTGAllocs {
			var parts []string
			for cls, n := range m.ConstraintFiltered {
				parts = append(parts, fmt.Sprintf("%s (%d nodes)", cls, n))
			}
			for dim, n := range m.DimensionExhausted {
				parts = append(parts, fmt.Sprintf("%s exhausted (%d nodes)", dim, n))
			}
			if m.NodesEvaluated == 0 && len(parts) == 0 {
				parts = append(parts, "no client node is ready")
			}
			return fmt.Sprintf("Nomad cannot place the build (group %s): %s", tg, strings.Join(parts, ", "))
		}
	}
	return ""
}

// BuildLog streams the build task's log (stdout, where the build job
// sends stderr too) line by line to fn, from the start; with follow it
// keeps reading until the task ends or ctx does.
func (c *Cluster) BuildLog(ctx context.Context, region, namespace, allocID string, follow bool, fn func(line string)) error {
	q := (&nomad.QueryOptions{Region: region, Namespace: namespace}).WithContext(ctx)
	alloc, _, err := c.Nomad.Allocations().Info(allocID, q)
	if err != nil {
		return fmt.Errorf("build log: %w", err)
	}
	cancel := make(chan struct{})
	defer close(cancel)
	frames, errs := c.Nomad.AllocFS().Logs(alloc, follow, translator.BuildTask, "stdout", nomad.OriginStart, 0, cancel, q)
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					return
				}
				if f != nil && len(f.Data) > 0 {
					if _, err := pw.Write(f.Data); err != nil {
						return
					}
				}
			case err, ok := <-errs:
				if ok && err != nil {
					pw.CloseWithError(err)
				}
				if !ok {
					errs = nil
				}
				if err != nil {
					return
				}
			case <-ctx.Done():
				pw.CloseWithError(ctx.Err())
				return
			}
		}
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fn(sc.Text())
	}
	pr.Close()
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("build log: %w", err)
	}
	return nil
}

// JobArtifacts lists the artifact digests (translator.MetaArtifact) the
// versions Nomad keeps of a job refer to: what runs, and what a rollback
// could bring back. A job that does not exist refers to none.
func (c *Cluster) JobArtifacts(ctx context.Context, region, namespace, jobID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	q := (&nomad.QueryOptions{Region: region, Namespace: namespace}).WithContext(ctx)
	versions, _, _, err := c.Nomad.Jobs().Versions(jobID, false, q)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, v := range versions {
		if d := v.Meta[translator.MetaArtifact]; d != "" {
			out = append(out, d)
		}
	}
	return out, nil
}
