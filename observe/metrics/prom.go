package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxPrometheusRange is the longest range read from Prometheus.
const MaxPrometheusRange = 7 * 24 * time.Hour

// Prometheus reads element metrics from a Prometheus that scrapes Nomad's
// allocation metrics (publish_allocation_metrics) with honor_labels, so
// the job label is the Nomad job ID.
type Prometheus struct {
	base *url.URL
	http *http.Client
}

// NewPrometheus returns a client for the Prometheus at rawURL.
func NewPrometheus(rawURL string, hc *http.Client) (*Prometheus, error) {
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q: want http(s)://host[:port]", rawURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("prometheus URL %q: credentials in the URL are not supported", u.Redacted())
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Prometheus{base: u, http: hc}, nil
}

// URL is the Prometheus base URL.
func (p *Prometheus) URL() string { return p.base.String() }

// PromSeries is one series of a range query.
type PromSeries struct {
	Labels map[string]string
	Points []Point
}

// QueryRange runs a PromQL range query.
func (p *Prometheus) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]PromSeries, error) {
	u := *p.base
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/query_range"
	form := url.Values{
		"query": {expr},
		"start": {strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64)},
		"end":   {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", p.base.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", p.base.Host, err)
	}
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("prometheus %s: HTTP %d: %.200s", p.base.Host, resp.StatusCode, body)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("prometheus %s: %s", p.base.Host, out.Error)
	}
	series := make([]PromSeries, 0, len(out.Data.Result))
	for _, r := range out.Data.Result {
		s := PromSeries{Labels: r.Metric, Points: make([]Point, 0, len(r.Values))}
		for _, v := range r.Values {
			ts, _ := v[0].(float64)
			str, _ := v[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if err != nil {
				continue
			}
			s.Points = append(s.Points, Point{ts, f})
		}
		series = append(series, s)
	}
	return series, nil
}

// elementQueries are the PromQL of each metric for one job, per instance.
func elementQueries(job string) map[string]string {
	sel := fmt.Sprintf(`{job=%q}`, job)
	by := func(m string) string { return "sum by (alloc_id) (" + m + sel + ")" }
	return map[string]string{
		CPUMHz:        by("nomad_client_allocs_cpu_total_ticks"),
		CPUPercent:    "100 * " + by("nomad_client_allocs_cpu_total_ticks") + " / " + by("nomad_client_allocs_cpu_allocated"),
		MemoryBytes:   by("nomad_client_allocs_memory_rss"),
		MemoryPercent: "100 * " + by("nomad_client_allocs_memory_rss") + " / " + by("nomad_client_allocs_memory_allocated"),
		// Nomad has no restart series until a task restarts (then the
		// client.allocs.restart counter); a healthy element has none.
		Restarts: by("nomad_client_allocs_restart"),
	}
}

// ElementRange reads an element's metrics per instance. regionOf names
// the region of an instance Backplane knows; a series' own region label
// (set by federation or relabelling) wins.
func (p *Prometheus) ElementRange(ctx context.Context, project, element string, start, end time.Time, step time.Duration, regionOf func(alloc string) string) ([]Series, error) {
	job := project + "-" + element
	qs := elementQueries(job)
	results := make([][]PromSeries, len(Names))
	errs := make([]error, len(Names))
	var wg sync.WaitGroup
	for i, m := range Names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = p.QueryRange(ctx, qs[m], start, end, step)
		}()
	}
	wg.Wait()
	out := []Series{}
	for i, m := range Names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, ps := range results[i] {
			alloc := ps.Labels["alloc_id"]
			region := ps.Labels["region"]
			if region == "" && regionOf != nil {
				region = regionOf(alloc)
			}
			out = append(out, Series{Element: element, Region: region, Alloc: alloc, Metric: m, Unit: Units[m], Points: ps.Points})
		}
	}
	return out, nil
}
