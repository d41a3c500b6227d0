package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func running(element, region string, allocs ...string) jobs.Status {
	st := jobs.Status{Element: element, Region: region, JobID: "shop-" + element, State: jobs.StateHealthy,
		Signals: &jobs.Signals{Service: true, CPUReservedMHz: 200, MemoryLimitBytes: 128 << 20}}
	for _, a := range allocs {
		st.Signals.Instances = append(st.Signals.Instances, jobs.Instance{ID: a, State: "running", Restarts: 1})
	}
	return st
}

func newTestSampler(t *testing.T) (*Sampler, *fakeClock, *atomic.Int64) {
	ck := &fakeClock{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	var calls atomic.Int64
	s := NewSampler(SamplerConfig{Now: ck.Now, Stats: func(ctx context.Context, tg jobs.Target, alloc string) (jobs.AllocStats, error) {
		calls.Add(1)
		return jobs.AllocStats{CPUMHz: 50, MemoryBytes: 64 << 20, At: ck.Now()}, nil
	}})
	s.Track("shop", []jobs.Target{{Element: "api", Region: "eu", JobID: "shop-api"}, {Element: "db", Region: "eu", JobID: "shop-db"}})
	s.Observe("shop", running("api", "eu", "a1", "a2"))
	s.Observe("shop", running("db", "eu", "d1"))
	return s, ck, &calls
}

func TestSamplerOneReadPerInstancePerInterval(t *testing.T) {
	s, ck, calls := newTestSampler(t)
	ctx := context.Background()
	snap := s.Now(ctx, "shop", nil)
	if len(snap.Instances) != 3 || calls.Load() != 3 {
		t.Fatalf("%d instances, %d reads", len(snap.Instances), calls.Load())
	}
	api := snap.Instances[0]
	if api.Element != "api" || api.CPUPercent != 25 || api.MemoryPercent != 50 || api.Restarts != 1 || api.MemoryLimitBytes != 128<<20 {
		t.Errorf("instance %+v", api)
	}
	// Any number of callers within the interval share that read.
	for range 10 {
		s.Now(ctx, "shop", nil)
	}
	if calls.Load() != 3 {
		t.Errorf("%d reads for 11 callers within one interval, want 3", calls.Load())
	}
	ck.add(DefaultInterval)
	s.Now(ctx, "shop", nil)
	if calls.Load() != 6 {
		t.Errorf("%d reads after an interval, want 6", calls.Load())
	}
}

func TestSamplerRangeBuckets(t *testing.T) {
	s, ck, _ := newTestSampler(t)
	ctx := context.Background()
	for range 12 {
		s.Sample(ctx, "shop")
		ck.add(DefaultInterval)
	}
	series := s.Range("shop", "api", "", 15*time.Minute, 30*time.Second)
	// Two instances, five metrics each.
	if len(series) != 10 {
		t.Fatalf("%d series", len(series))
	}
	for _, se := range series {
		if se.Element != "api" || se.Region != "eu" || len(se.Points) < 2 || len(se.Points) > 3 {
			t.Errorf("series %s/%s: %d points", se.Alloc, se.Metric, len(se.Points))
		}
		if se.Metric == MemoryBytes && se.Points[0][1] != float64(64<<20) {
			t.Errorf("memory %v", se.Points[0])
		}
	}
	// Samples older than the window are gone with their instance.
	s.Observe("shop", running("api", "eu", "a3"))
	ck.add(MaxNomadRange + time.Minute)
	s.Sample(ctx, "shop")
	for _, se := range s.Range("shop", "api", "", MaxNomadRange, time.Minute) {
		if se.Alloc != "a3" {
			t.Errorf("instance %s kept past the window", se.Alloc)
		}
	}
}

func TestSamplerSamplesOnlyWhatIsWatched(t *testing.T) {
	s, _, calls := newTestSampler(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.cfg.Interval = 20 * time.Millisecond
	go s.Run(ctx)
	time.Sleep(100 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatalf("%d reads with nobody looking", calls.Load())
	}
	s.View("shop", 1)
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no read while an editor is open")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
