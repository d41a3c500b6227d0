package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/backplane-dev/backplane/jobs"
	emetrics "github.com/backplane-dev/backplane/observe/metrics"
)

// RulesApplier loads a project's Prometheus rule file and removes it;
// *emetrics.RulesManager is one.
type RulesApplier interface {
	Apply(ctx context.Context, project string, rules []byte) error
	Remove(ctx context.Context, project string) error
}

// MetricsConfig wires emetrics. Without a Prometheus, serve samples Nomad
// itself (the last emetrics.MaxNomadRange); without Rules, deploys load no
// rule files.
type MetricsConfig struct {
	Prometheus *emetrics.Prometheus
	Rules      RulesApplier
	// Interval is the sampling interval; emetrics.DefaultInterval when 0.
	Interval time.Duration
}

// How long a metrics request keeps a project sampled and watched.
const metricsLease = 2 * time.Minute

type statsReader interface {
	AllocStats(ctx context.Context, t jobs.Target, allocID string) (jobs.AllocStats, error)
}

// newSampler starts sampling when the cluster can read stats.
func (s *Server) newSampler(cfg MetricsConfig) *emetrics.Sampler {
	sr, ok := s.cluster.(statsReader)
	if s.cluster == nil || !ok {
		return nil
	}
	sm := emetrics.NewSampler(emetrics.SamplerConfig{
		Stats: sr.AllocStats, Interval: cfg.Interval, Logger: s.log,
		OnSample: func(project string, snap emetrics.Snapshot) {
			if s.hub.hasSubscribers(project) {
				s.hub.publish(project, encodeEvent("metrics", snap))
			}
		},
	})
	s.promReg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "backplane_nomad_stats_reads_total", Help: "Allocation stats read from Nomad for element metrics.",
	}, func() float64 { return float64(sm.Calls()) }))
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSampler = cancel
	go sm.Run(ctx)
	return sm
}

// metricsNow answers GET /projects/{p}/metrics/now: each instance's CPU,
// memory and restarts, from one stats read per running instance (shared by
// every caller within a sampling interval).
func (s *Server) metricsNow(c *gin.Context) error {
	if s.cluster == nil || s.sampler == nil {
		return errNoCluster
	}
	ctx := c.Request.Context()
	slug := c.Param("p")
	_, b, err := s.revisionBundle(ctx, slug, 0)
	if err != nil {
		return err
	}
	s.sampler.Want(slug, metricsLease)
	s.hub.lease(slug, metricsLease)
	var statuses []jobs.Status
	if !s.sampler.Known(slug) {
		// The watch has not reported yet: ask Nomad now.
		statuses = s.cluster.StatusAll(ctx, jobs.Targets(b))
	}
	snap := s.sampler.Now(ctx, slug, statuses)
	element, region := c.Query("element"), c.Query("region")
	out := snap
	out.Instances = make([]emetrics.Instance, 0, len(snap.Instances))
	for _, in := range snap.Instances {
		if (element == "" || in.Element == element) && (region == "" || in.Region == region) {
			out.Instances = append(out.Instances, in)
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// parseRange reads a range: a Go duration or whole days ("7d").
func parseRange(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a range (15m, 1h, 6h, 24h, 7d)", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a range (15m, 1h, 6h, 24h, 7d)", v)
	}
	return d, nil
}

// metricsRange answers GET /projects/{p}/metrics: series over a range,
// from Prometheus when configured, else from serve's own samples.
func (s *Server) metricsRange(c *gin.Context) error {
	prom := s.prometheus
	if prom == nil && (s.cluster == nil || s.sampler == nil) {
		return errNoCluster
	}
	ctx := c.Request.Context()
	slug := c.Param("p")
	_, b, err := s.revisionBundle(ctx, slug, 0)
	if err != nil {
		return err
	}
	element, region := c.Query("element"), c.Query("region")
	if element != "" && len(jobs.Targets(b, element)) == 0 {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "element", Message: "no element " + element + " in the schema"}
	}
	rs := c.DefaultQuery("range", "15m")
	d, err := parseRange(rs)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "range", Message: err.Error()}
	}
	limit, source := emetrics.MaxNomadRange, "nomad"
	if prom != nil {
		limit, source = emetrics.MaxPrometheusRange, "prometheus"
	}
	if d > limit {
		msg := fmt.Sprintf("a range is at most %s", limit)
		if prom == nil {
			msg = fmt.Sprintf("ranges beyond %s need Prometheus (BACKPLANE_PROMETHEUS_URL): serve keeps only the last %s of its own samples", limit, limit)
		}
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "range", Message: msg}
	}
	minStep := emetrics.DefaultInterval
	if s.sampler != nil {
		minStep = s.sampler.Interval()
	}
	step := (d / 120).Round(time.Second)
	if v := c.Query("step"); v != "" {
		if step, err = time.ParseDuration(v); err != nil || step <= 0 {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "step", Message: fmt.Sprintf("%q is not a duration", v)}
		}
	}
	step = max(step, minStep)
	if d/step > 11000 {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "step", Message: "too many points: raise step"}
	}
	out := emetrics.Range{Source: source, Range: rs, Step: step.String()}
	// Keep the project watched: its instances name their regions.
	s.hub.lease(slug, metricsLease)
	if prom != nil {
		if element == "" {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "element", Message: "element is required"}
		}
		end := time.Now()
		series, err := prom.ElementRange(ctx, slug, element, end.Add(-d), end, step, s.regionOfAlloc(slug))
		if err != nil {
			return &apiError{Status: http.StatusBadGateway, Code: "prometheus_error", Message: err.Error()}
		}
		if region != "" {
			kept := series[:0]
			for _, se := range series {
				if se.Region == region {
					kept = append(kept, se)
				}
			}
			series = kept
		}
		out.Series = series
	} else {
		s.sampler.Want(slug, metricsLease)
		out.Series = s.sampler.Range(slug, element, region, d, step)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// regionOfAlloc names the region of the project's instances that the
// watch and the sampler have seen.
func (s *Server) regionOfAlloc(slug string) func(string) string {
	if s.sampler == nil {
		return nil
	}
	m := s.sampler.Regions(slug)
	return func(a string) string { return m[a] }
}
