package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
)

// Load benchmarks run against a real server on loopback with a real SQLite
// store. Requests are paced open-loop at a fixed rate for a bounded count,
// and latency percentiles are reported as metrics; compare runs with
// benchstat. Run: go test ./web -run '^$' -bench Load -benchtime 1x

func loadClient() *http.Client {
	return &http.Client{Transport: withAdmin(&http.Transport{
		MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}), Timeout: 10 * time.Second}
}

// paced issues n requests at rate per second (open loop: a slow answer
// does not delay the next request) and returns each latency.
func paced(b *testing.B, rate, n int, do func() error) []time.Duration {
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t0 := time.Now()
			if err := do(); err != nil {
				errs <- err
			}
			lat[i] = time.Since(t0)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("request failed: %v", err)
	}
	return lat
}

func percentile(lat []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func report(b *testing.B, lat []time.Duration) {
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

func loadServer(b *testing.B, cluster Cluster) (*testServer, *http.Client) {
	ts := newTestServer(b, cluster)
	return ts, loadClient()
}

func BenchmarkLoadGetSchema(b *testing.B) {
	ts, client := loadServer(b, nil)
	seed(b, ts, client)
	for _, rate := range []int{100, 250, 500, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			for b.Loop() {
				n := rate * 4 // four seconds at each rate
				lat := paced(b, rate, n, func() error {
					resp, err := client.Get(ts.URL + "/api/v1/projects/shop/schema")
					if err != nil {
						return err
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						return fmt.Errorf("status %d", resp.StatusCode)
					}
					return nil
				})
				report(b, lat)
			}
		})
	}
}

func BenchmarkLoadPutSchema(b *testing.B) {
	ts, client := loadServer(b, nil)
	seed(b, ts, client)
	for _, rate := range []int{50, 100, 250} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			for b.Loop() {
				n := rate * 4
				lat := paced(b, rate, n, func() error {
					req, _ := http.NewRequest("PUT", ts.URL+"/api/v1/projects/shop/schema", strings.NewReader(apiSchema))
					req.Header.Set("Content-Type", "application/yaml")
					req.Header.Set("If-Match", "*")
					resp, err := client.Do(req)
					if err != nil {
						return err
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						return fmt.Errorf("status %d", resp.StatusCode)
					}
					return nil
				})
				report(b, lat)
			}
		})
	}
}

// BenchmarkLoadSSEFanout connects 1,000 subscribers to one project's event
// stream, publishes one status change, and reports how long until every
// subscriber has it (and the median subscriber).
func BenchmarkLoadSSEFanout(b *testing.B) {
	fc := newFakeCluster()
	ts, _ := loadServer(b, fc)
	seed(b, ts, loadClient())
	const subscribers = 1000
	client := &http.Client{Transport: withAdmin(&http.Transport{MaxIdleConnsPerHost: subscribers, MaxConnsPerHost: 0})}
	type conn struct {
		r    *bufio.Reader
		body io.Closer
	}
	conns := make([]conn, subscribers)
	for i := range conns {
		resp, err := client.Get(ts.URL + "/api/v1/projects/shop/events")
		if err != nil {
			b.Fatalf("subscriber %d: %v", i, err)
		}
		conns[i] = conn{bufio.NewReader(resp.Body), resp.Body}
		if _, err := conns[i].r.ReadString('\n'); err != nil { // ": connected"
			b.Fatal(err)
		}
	}
	defer func() {
		for _, c := range conns {
			c.body.Close()
		}
	}()
	<-fc.watching
	round := 0
	for b.Loop() {
		round++
		var wg sync.WaitGroup
		arrived := make([]time.Duration, subscribers)
		start := time.Now()
		want := fmt.Sprintf(`"version":%d`, round)
		for i := range conns {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for {
					line, err := conns[i].r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "data: ") && strings.Contains(line, want) {
						arrived[i] = time.Since(start)
						return
					}
				}
			}(i)
		}
		start = time.Now()
		fc.statuses <- jobs.Status{Element: "api", Region: "global", JobID: "shop-api", State: jobs.StateHealthy, Version: uint64(round)}
		wg.Wait()
		for i, d := range arrived {
			if d == 0 {
				b.Fatalf("subscriber %d never got the event", i)
			}
		}
		b.ReportMetric(float64(percentile(arrived, 1).Microseconds())/1000, "all-ms")
		b.ReportMetric(float64(percentile(arrived, 0.5).Microseconds())/1000, "p50-ms")
	}
}

// seed creates the project and saves the test schema.
func seed(b *testing.B, ts *testServer, client *http.Client) {
	b.Helper()
	resp, err := client.Post(ts.URL+"/api/v1/projects", "application/json", strings.NewReader(`{"slug":"shop"}`))
	if err != nil || resp.StatusCode != 201 {
		b.Fatalf("create project: %v", err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("PUT", ts.URL+"/api/v1/projects/shop/schema", strings.NewReader(apiSchema))
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("If-Match", "*")
	resp, err = client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("save schema: %v", err)
	}
	resp.Body.Close()
}
