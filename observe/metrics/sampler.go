package metrics

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backplane-dev/backplane/jobs"
)

// Sampling defaults.
const (
	// DefaultInterval is how often serve reads the stats of the instances
	// someone is looking at.
	DefaultInterval = 5 * time.Second
	// MaxNomadRange is how far back serve's own samples go; longer ranges
	// need Prometheus.
	MaxNomadRange = 15 * time.Minute
	// statsConcurrency bounds the stats reads in flight.
	statsConcurrency = 8
)

// StatsReader reads one instance's stats; *jobs.Cluster's AllocStats is one.
type StatsReader func(ctx context.Context, t jobs.Target, allocID string) (jobs.AllocStats, error)

// SamplerConfig wires a Sampler.
type SamplerConfig struct {
	Stats StatsReader
	// Interval between samples; DefaultInterval when 0.
	Interval time.Duration
	// Window is how much history is kept; MaxNomadRange when 0.
	Window time.Duration
	// OnSample is called (without locks held) with a project's snapshot
	// after each sampling round of it.
	OnSample func(project string, s Snapshot)
	Logger   *slog.Logger
	Now      func() time.Time
}

// Sampler samples the stats of the running instances of the projects
// someone is looking at (an open editor, a metrics request in the last
// minutes) once per interval, whatever the number of viewers, and keeps a
// bounded window of samples per instance. The instances come from the
// status watch (Observe), so sampling costs one stats call per running
// instance per interval and nothing else.
type Sampler struct {
	cfg   SamplerConfig
	log   *slog.Logger
	calls atomic.Uint64

	mu       sync.Mutex
	projects map[string]*project
}

type project struct {
	targets  map[string]jobs.Target // region/job ID → target
	statuses map[string]jobs.Status // region/job ID → latest status
	until    time.Time              // sample until then (demand)
	viewers  int
	rings    map[string]*ring // alloc ID → samples
	last     *Snapshot
}

type sample struct {
	at       time.Time
	cpu      float64
	cpuPct   float64
	mem      float64
	memPct   float64
	restarts float64
}

// ring is a fixed-size window of samples, oldest first when read.
type ring struct {
	element, region string
	buf             []sample
	next, n         int
}

func (r *ring) add(s sample) {
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	if r.n < len(r.buf) {
		r.n++
	}
}

func (r *ring) each(fn func(sample)) {
	start := (r.next - r.n + len(r.buf)) % len(r.buf)
	for i := 0; i < r.n; i++ {
		fn(r.buf[(start+i)%len(r.buf)])
	}
}

// NewSampler returns a sampler; Run drives it.
func NewSampler(cfg SamplerConfig) *Sampler {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Window <= 0 {
		cfg.Window = MaxNomadRange
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sampler{cfg: cfg, log: log.With("component", "metrics"), projects: map[string]*project{}}
}

// Interval is the sampling interval.
func (s *Sampler) Interval() time.Duration { return s.cfg.Interval }

// Calls is how many stats reads the sampler has made.
func (s *Sampler) Calls() uint64 { return s.calls.Load() }

func (s *Sampler) project(name string) *project {
	p := s.projects[name]
	if p == nil {
		p = &project{targets: map[string]jobs.Target{}, statuses: map[string]jobs.Status{}, rings: map[string]*ring{}}
		s.projects[name] = p
	}
	return p
}

// Track sets the jobs a project's watch follows.
func (s *Sampler) Track(name string, targets []jobs.Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(name)
	p.targets = map[string]jobs.Target{}
	for _, t := range targets {
		p.targets[t.Region+"/"+t.JobID] = t
	}
	for k := range p.statuses {
		if _, ok := p.targets[k]; !ok {
			delete(p.statuses, k)
		}
	}
}

// Observe takes a status from the watch.
func (s *Sampler) Observe(name string, st jobs.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(name)
	k := st.Region + "/" + st.JobID
	if _, ok := p.targets[k]; ok {
		p.statuses[k] = st
	}
}

// Forget drops a project.
func (s *Sampler) Forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.projects, name)
}

// View counts an open editor of the project (+1 when it opens, -1 when it
// closes): the project is sampled while any is open.
func (s *Sampler) View(name string, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(name)
	p.viewers = max(0, p.viewers+delta)
}

// Want samples the project for at least d from now.
func (s *Sampler) Want(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(name)
	if u := s.cfg.Now().Add(d); u.After(p.until) {
		p.until = u
	}
}

// Known reports whether the watch has given statuses for the project.
func (s *Sampler) Known(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[name]
	return p != nil && len(p.statuses) > 0
}

// Run samples every interval until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	tk := time.NewTicker(s.cfg.Interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		now := s.cfg.Now()
		var due []string
		s.mu.Lock()
		for name, p := range s.projects {
			if p.viewers > 0 || now.Before(p.until) {
				due = append(due, name)
			}
		}
		s.mu.Unlock()
		sort.Strings(due)
		for _, name := range due {
			s.Sample(ctx, name)
		}
	}
}

// Now is the project's snapshot: the last sample when it is younger than
// an interval, else a new sample. statuses, when given, stand in for the
// watch's (a project nobody watches).
func (s *Sampler) Now(ctx context.Context, name string, statuses []jobs.Status) Snapshot {
	s.mu.Lock()
	p := s.project(name)
	if p.last != nil && s.cfg.Now().Sub(p.last.At) < s.cfg.Interval && statuses == nil {
		snap := *p.last
		s.mu.Unlock()
		return snap
	}
	s.mu.Unlock()
	if statuses != nil {
		return s.sample(ctx, name, statuses, false)
	}
	return s.Sample(ctx, name)
}

// Sample reads the stats of the project's running instances once, records
// them, and returns the snapshot.
func (s *Sampler) Sample(ctx context.Context, name string) Snapshot {
	s.mu.Lock()
	p := s.project(name)
	statuses := make([]jobs.Status, 0, len(p.statuses))
	for _, st := range p.statuses {
		statuses = append(statuses, st)
	}
	s.mu.Unlock()
	return s.sample(ctx, name, statuses, true)
}

type read struct {
	st jobs.Status
	in jobs.Instance
	t  jobs.Target
	s  *jobs.AllocStats
	e  error
}

func (s *Sampler) sample(ctx context.Context, name string, statuses []jobs.Status, record bool) Snapshot {
	var reads []*read
	s.mu.Lock()
	p := s.project(name)
	for _, st := range statuses {
		if st.Signals == nil {
			continue
		}
		t, ok := p.targets[st.Region+"/"+st.JobID]
		if !ok {
			t = jobs.Target{Element: st.Element, Region: st.Region, JobID: st.JobID}
		}
		for _, in := range st.Signals.Instances {
			reads = append(reads, &read{st: st, in: in, t: t})
		}
	}
	s.mu.Unlock()
	sem := make(chan struct{}, statsConcurrency)
	var wg sync.WaitGroup
	for _, r := range reads {
		if r.in.State != "running" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.calls.Add(1)
			st, err := s.cfg.Stats(ctx, r.t, r.in.ID)
			if err != nil {
				r.e = err
				return
			}
			r.s = &st
		}()
	}
	wg.Wait()
	snap := Snapshot{At: s.cfg.Now().UTC(), Instances: make([]Instance, 0, len(reads))}
	for _, r := range reads {
		in := InstanceOf(r.st, r.in, r.s)
		if r.e != nil {
			in.Error = r.e.Error()
		}
		snap.Instances = append(snap.Instances, in)
	}
	sort.Slice(snap.Instances, func(i, j int) bool {
		a, b := snap.Instances[i], snap.Instances[j]
		if a.Element != b.Element {
			return a.Element < b.Element
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Alloc < b.Alloc
	})
	if record {
		s.record(name, snap)
		if s.cfg.OnSample != nil {
			s.cfg.OnSample(name, snap)
		}
	}
	return snap
}

// record adds a snapshot's figures to the instances' windows and drops
// the windows of instances gone for longer than the window.
func (s *Sampler) record(name string, snap Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(name)
	size := int(s.cfg.Window/s.cfg.Interval) + 1
	for _, in := range snap.Instances {
		if in.At.IsZero() {
			continue
		}
		r := p.rings[in.Alloc]
		if r == nil {
			r = &ring{element: in.Element, region: in.Region, buf: make([]sample, size)}
			p.rings[in.Alloc] = r
		}
		r.add(sample{at: in.At, cpu: in.CPUMHz, cpuPct: in.CPUPercent, mem: float64(in.MemoryBytes), memPct: in.MemoryPercent, restarts: float64(in.Restarts)})
	}
	cut := snap.At.Add(-s.cfg.Window)
	for id, r := range p.rings {
		newest := r.buf[(r.next-1+len(r.buf))%len(r.buf)]
		if r.n == 0 || newest.at.Before(cut) {
			delete(p.rings, id)
		}
	}
	p.last = &snap
}

// Range reads the kept samples of a project's instances from now-d to
// now, averaged into buckets of step, for the element (and region) given.
func (s *Sampler) Range(name, element, region string, d, step time.Duration) []Series {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[name]
	if p == nil {
		return []Series{}
	}
	now := s.cfg.Now()
	from := now.Add(-d)
	out := []Series{}
	ids := make([]string, 0, len(p.rings))
	for id := range p.rings {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := p.rings[id]
		if (element != "" && r.element != element) || (region != "" && r.region != region) {
			continue
		}
		type acc struct{ sum [5]float64 }
		buckets := map[int64]*acc{}
		counts := map[int64]int{}
		var keys []int64
		r.each(func(sm sample) {
			if sm.at.Before(from) {
				return
			}
			k := sm.at.Truncate(step).Unix()
			a := buckets[k]
			if a == nil {
				a = &acc{}
				buckets[k] = a
				keys = append(keys, k)
			}
			counts[k]++
			v := [5]float64{sm.cpu, sm.cpuPct, sm.mem, sm.memPct, sm.restarts}
			for i := range v {
				a.sum[i] += v[i]
			}
		})
		if len(keys) == 0 {
			continue
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for mi, m := range Names {
			se := Series{Element: r.element, Region: r.region, Alloc: id, Metric: m, Unit: Units[m], Points: make([]Point, 0, len(keys))}
			for _, k := range keys {
				v := buckets[k].sum[mi] / float64(counts[k])
				if m == Restarts {
					v = float64(int(v + 0.5))
				}
				se.Points = append(se.Points, Point{float64(k), v})
			}
			out = append(out, se)
		}
	}
	return out
}

// Last is the project's last snapshot, empty when none was taken.
func (s *Sampler) Last(name string) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projects[name]; p != nil && p.last != nil {
		return *p.last
	}
	return Snapshot{Instances: []Instance{}}
}

// Regions maps the project's known instances to their regions, from the
// watch's statuses and the last snapshot.
func (s *Sampler) Regions(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	p := s.projects[name]
	if p == nil {
		return out
	}
	if p.last != nil {
		for _, in := range p.last.Instances {
			out[in.Alloc] = in.Region
		}
	}
	for _, st := range p.statuses {
		if st.Signals != nil {
			for _, in := range st.Signals.Instances {
				out[in.ID] = st.Region
			}
		}
	}
	for id, r := range p.rings {
		if _, ok := out[id]; !ok {
			out[id] = r.region
		}
	}
	return out
}
