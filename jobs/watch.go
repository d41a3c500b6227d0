package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// Target is one element's job in one region.
type Target struct {
	Element string `json:"element"`
	Region  string `json:"region"`
	JobID   string `json:"job_id"`
	// Namespace is the job's Nomad namespace; empty means "default".
	Namespace string `json:"namespace,omitempty"`
}

// Status reads a job's status now: its version, latest deployment and
// allocations, folded by Compute. A region that cannot be asked gives
// StateUnknown with the error as the last event.
func (c *Cluster) Status(ctx context.Context, t Target) Status {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	st := Status{Element: t.Element, Region: t.Region, JobID: t.JobID}
	q := (&nomad.QueryOptions{Region: t.Region, Namespace: t.Namespace}).WithContext(ctx)
	job, _, err := c.Nomad.Jobs().Info(t.JobID, q)
	if err != nil {
		if isNotFound(err) {
			st.State = StateStopped
			st.LastEvent = "not registered"
			return st
		}
		st.State, st.LastEvent = StateUnknown, fmt.Sprintf("region %s: %v", t.Region, err)
		return st
	}
	// The deployment and the allocations are read side by side: a status
	// read is on the path from "Nomad marked it healthy" to the light
	// turning green.
	var o Observation
	o.Job = job
	var depErr, allocErr error
	var deployments []*nomad.Deployment
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// Every deployment, not only the latest: a failed one stays an
		// alert after Nomad's automatic revert deploys the old version.
		deployments, _, depErr = c.Nomad.Jobs().Deployments(t.JobID, false, q)
		for _, d := range deployments {
			if o.Deployment == nil || d.CreateIndex > o.Deployment.CreateIndex {
				o.Deployment = d
			}
		}
	}()
	go func() {
		defer wg.Done()
		st.Scaling = c.readScaling(job, t, q)
	}()
	o.Allocations, _, allocErr = c.Nomad.Jobs().Allocations(t.JobID, false, q)
	wg.Wait()
	if depErr != nil && !isNotFound(depErr) {
		st.State, st.LastEvent = StateUnknown, fmt.Sprintf("region %s: %v", t.Region, depErr)
		return st
	}
	if allocErr != nil {
		st.State, st.LastEvent = StateUnknown, fmt.Sprintf("region %s: %v", t.Region, allocErr)
		return st
	}
	st.State, st.Desired, st.Running, st.Healthy, st.Version = Compute(o)
	st.Signals = ComputeSignals(job, deployments, o.Allocations)
	var at time.Time
	st.LastEvent, at = lastEvent(o.Allocations)
	if d := o.Deployment; d != nil && d.JobVersion == st.Version && d.StatusDescription != "" {
		st.LastEvent = "deployment: " + d.StatusDescription
		if st.State == StateHealthy && d.Status == "running" {
			// Healthy before Nomad has booked the deployment's success.
			st.LastEvent = "deployment: every instance healthy"
		}
	}
	st.UpdatedAt = at
	if job.SubmitTime != nil {
		if s := time.Unix(0, *job.SubmitTime); s.After(st.UpdatedAt) {
			st.UpdatedAt = s
		}
	}
	st.UpdatedAt = st.UpdatedAt.UTC()
	return st
}

func isNotFound(err error) bool {
	var ue nomad.UnexpectedResponseError
	if errors.As(err, &ue) && ue.StatusCode() == 404 {
		return true
	}
	return strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "not found")
}

// Watch keeps the targets' status current until ctx ends, calling fn with
// each target's status once at the start and again whenever it changes.
// It follows each region's event stream (topics Job, Allocation and
// Deployment, filtered to the targets' jobs) and re-reads a job whenever an
// event touches it, so the state always comes from Nomad itself: a restart
// of Backplane picks up a deployment in progress where it stands. Where the
// stream is unavailable it falls back to blocking queries, and it reconnects
// with backoff. fn is called from one goroutine per region, one call at a
// time overall.
func (c *Cluster) Watch(ctx context.Context, targets []Target, fn func(Status)) error {
	byRegion := map[string][]Target{}
	for _, t := range targets {
		byRegion[t.Region] = append(byRegion[t.Region], t)
	}
	var mu sync.Mutex
	emit := func(s Status) {
		mu.Lock()
		defer mu.Unlock()
		fn(s)
	}
	var wg sync.WaitGroup
	for region, ts := range byRegion {
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&regionWatch{c: c, region: region, targets: ts, emit: emit, last: map[string]Status{}}).run(ctx)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

type regionWatch struct {
	c       *Cluster
	region  string
	targets []Target
	emit    func(Status)
	last    map[string]Status
}

// refresh re-reads the given jobs (all when ids is nil), in parallel, and
// emits the changes in target order.
func (w *regionWatch) refresh(ctx context.Context, ids map[string]bool) {
	var todo []Target
	for _, t := range w.targets {
		if ids == nil || ids[t.JobID] {
			todo = append(todo, t)
		}
	}
	statuses := make([]Status, len(todo))
	w.c.parallel(ctx, len(todo), func(ctx context.Context, i int) { statuses[i] = w.c.Status(ctx, todo[i]) })
	if ctx.Err() != nil {
		return
	}
	for i, t := range todo {
		s := statuses[i]
		prev, seen := w.last[t.JobID]
		if seen && sameStatus(prev, s) {
			continue
		}
		w.last[t.JobID] = s
		w.emit(s)
	}
}

func sameStatus(a, b Status) bool {
	return a.State == b.State && a.Desired == b.Desired && a.Running == b.Running &&
		a.Healthy == b.Healthy && a.Version == b.Version && a.LastEvent == b.LastEvent &&
		sameScaling(a.Scaling, b.Scaling) && a.Signals.fingerprint() == b.Signals.fingerprint()
}

func sameScaling(a, b *Scaling) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Min != b.Min || a.Max != b.Max || len(a.Events) != len(b.Events) {
		return false
	}
	return len(a.Events) == 0 || a.Events[0].Time.Equal(b.Events[0].Time)
}

func (w *regionWatch) run(ctx context.Context) {
	w.refresh(ctx, nil)
	jobIDs := make([]string, 0, len(w.targets))
	want := map[string]bool{}
	for _, t := range w.targets {
		jobIDs = append(jobIDs, t.JobID)
		want[t.JobID] = true
	}
	sort.Strings(jobIDs)
	topics := map[nomad.Topic][]string{
		nomad.TopicJob:        jobIDs,
		nomad.TopicAllocation: jobIDs,
		nomad.TopicDeployment: jobIDs,
	}
	const minBackoff, maxBackoff = 250 * time.Millisecond, 10 * time.Second
	backoff := minBackoff
	var index uint64
	for ctx.Err() == nil {
		start := time.Now()
		err := w.stream(ctx, topics, want, &index)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = minBackoff // the stream was healthy for a while
		}
		w.c.log.Debug("event stream ended; polling meanwhile", "region", w.region, "error", err)
		// Poll with a blocking query for a while, then try the stream
		// again; never faster than the backoff, even when the poll returns
		// at once.
		w.poll(ctx, backoff)
		if rest := backoff - time.Since(start); rest > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(rest):
			}
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// stream follows the event stream until it ends or fails.
func (w *regionWatch) stream(ctx context.Context, topics map[nomad.Topic][]string, want map[string]bool, index *uint64) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := (&nomad.QueryOptions{Region: w.region, Namespace: "*"}).WithContext(sctx)
	ch, err := w.c.Nomad.EventStream().Stream(sctx, topics, *index, q)
	if err != nil {
		return err
	}
	// A reconnect may have missed events: read everything once.
	w.refresh(ctx, nil)
	// Events come in bursts (an allocation update, then its deployment's):
	// the first one of a burst starts a short timer, and the jobs the
	// burst touched are re-read once when it fires. It bounds the re-reads
	// to one round per settle per region, and is what the watch adds to
	// every change it reports.
	const settle = 50 * time.Millisecond
	dirty := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			w.refresh(ctx, dirty)
			dirty = map[string]bool{}
		case evs, ok := <-ch:
			if !ok {
				return errors.New("stream closed")
			}
			if evs.Err != nil {
				return evs.Err
			}
			if evs.IsHeartbeat() {
				continue
			}
			*index = evs.Index
			for _, ev := range evs.Events {
				for _, id := range eventJobIDs(ev) {
					if want[id] {
						if len(dirty) == 0 {
							timer.Reset(settle)
						}
						dirty[id] = true
					}
				}
			}
		}
	}
}

// eventJobIDs are the job IDs an event is about.
func eventJobIDs(ev nomad.Event) []string {
	ids := []string{ev.Key}
	ids = append(ids, ev.FilterKeys...)
	if a, err := ev.Allocation(); err == nil && a != nil {
		ids = append(ids, a.JobID)
	}
	if d, err := ev.Deployment(); err == nil && d != nil {
		ids = append(ids, d.JobID)
	}
	return ids
}

// poll waits on a blocking query over the region's allocations for up to
// d, then re-reads every target.
func (w *regionWatch) poll(ctx context.Context, d time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, d+w.c.cfg.RequestTimeout)
	defer cancel()
	q := (&nomad.QueryOptions{Region: w.region, WaitIndex: 1, WaitTime: d}).WithContext(pctx)
	if _, meta, err := w.c.Nomad.Allocations().List(q); err == nil && meta != nil {
		q.WaitIndex = meta.LastIndex
		_, _, _ = w.c.Nomad.Allocations().List(q)
	} else {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
	w.refresh(ctx, nil)
}
