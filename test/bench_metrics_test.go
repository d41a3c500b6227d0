package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/metrics"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/translator"
)

// BenchmarkSampling50 is what watching a 50-element project costs serve:
// 50 running instances on a real Nomad, serve reaching Nomad through a
// counting proxy. It measures 30 s with nobody looking (the baseline) and
// 30 s with five editors open, and reports Nomad API calls per minute
// (stats reads and all), serve's CPU seconds per minute, and its resident
// memory, for each. The bound that matters: stats reads per minute stay at
// most instances x 60 s / interval, whatever the number of editors.
func BenchmarkSampling50(b *testing.B) {
	const elements = 50
	n := agent.StartNomad(b, agent.NomadOptions{})
	var src strings.Builder
	src.WriteString("version: 1\nproject: fifty\ndefaults: { driver: raw_exec }\nelements:\n")
	for i := range elements {
		fmt.Fprintf(&src, "  - { id: e%d, kind: app.command, command: exec sleep 3600, resources: { cpu: 20, memory: 16 } }\n", i)
	}
	bundle := bundleFor(b, src.String(), translator.Options{})
	c := connect(b, jobs.Config{NomadAddr: n.Addr})
	ctx := context.Background()
	plan, err := c.Plan(ctx, bundle, jobs.PlanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if res, err := c.Apply(ctx, plan, jobs.ApplyOptions{}); err != nil || !res.OK() {
		b.Fatalf("apply: %v", err)
	}
	waitRunning(b, c, jobs.Targets(bundle), elements)

	var calls, stats atomic.Int64
	target, _ := url.Parse(n.Addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // the event stream
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if strings.HasSuffix(r.URL.Path, "/stats") {
			stats.Add(1)
		}
		proxy.ServeHTTP(w, r)
	})
	port := agent.FreePorts(b, 1)[0]
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Handler: counting}
	go srv.ListenAndServe()
	defer srv.Close()

	s := serve(b, fmt.Sprintf("NOMAD_ADDR=http://127.0.0.1:%d", port), "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=")
	if code, _, out := s.call(b, "POST", "/projects", `{"slug":"fifty"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		b.Fatalf("create: %d %s", code, out)
	}
	if code, _, out := s.call(b, "PUT", "/projects/fifty/schema", src.String(), "If-Match", "*", "Content-Type", "application/yaml"); code != http.StatusOK {
		b.Fatalf("save: %d %s", code, out)
	}
	const window = 30 * time.Second
	measure := func(name string) {
		c0, s0, cpu0 := calls.Load(), stats.Load(), cpuSeconds(b, s.pid)
		time.Sleep(window)
		perMin := float64(time.Minute) / float64(window)
		b.ReportMetric(float64(calls.Load()-c0)*perMin, name+"-nomad-calls/min")
		b.ReportMetric(float64(stats.Load()-s0)*perMin, name+"-stats-reads/min")
		b.ReportMetric((cpuSeconds(b, s.pid)-cpu0)*perMin, name+"-cpu-s/min")
		b.ReportMetric(float64(rssBytes(b, s.pid))/(1<<20), name+"-rss-MiB")
	}
	for b.Loop() {
		measure("idle")
		sctx, cancel := context.WithCancel(ctx)
		for i := range 5 {
			select {
			case ev := <-sseLines(sctx, b, s.URL+"/api/v1/projects/fifty/events", "metrics"):
				var snap metrics.Snapshot
				if json.Unmarshal([]byte(ev), &snap) != nil || len(snap.Instances) != elements {
					b.Fatalf("editor %d: %d instances in the metrics event", i, len(snap.Instances))
				}
			case <-time.After(time.Minute):
				b.Fatalf("editor %d got no metrics event", i)
			}
		}
		measure("5-editors")
		cancel()
	}
	b.ReportMetric(float64(elements)*float64(time.Minute/metrics.DefaultInterval), "bound-stats-reads/min")
}

// waitRunning waits until every target has an instance running.
func waitRunning(b *testing.B, c *jobs.Cluster, targets []jobs.Target, want int) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		n := 0
		for _, st := range c.StatusAll(context.Background(), targets) {
			if st.Running > 0 {
				n++
			}
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d elements running after 5 minutes", n, want)
		}
		time.Sleep(time.Second)
	}
}

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command (which may hold spaces) start after ")".
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// rssBytes is the process's resident memory.
func rssBytes(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
