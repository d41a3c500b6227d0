package test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/metrics"
	"github.com/backplane-dev/backplane/test/agent"
)

// metricsBrowserYAML is the project the browser suite looks at: one
// raw_exec web server with a known reservation (100 MHz, 128 MiB).
const metricsBrowserYAML = `version: 1
project: e2e-metrics
defaults: { driver: raw_exec }
elements:
  - id: app
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    resources: { cpu: 100, memory: 128 }
layout: { app: { x: 120, y: 140 } }
`

// TestMetricsBrowser drives the editor's metrics in a real headless
// Chromium (web/ui/e2e/metrics.e2e.mjs) against a real `backplane serve`
// on a real Nomad dev agent: the test deploys one raw_exec element through
// the API; in the browser its node shows the live "CPU n% · MEM n%" from
// the `metrics` events, and its Metrics tab draws the memory, CPU and
// restarts charts (uPlot) from serve's own samples, refreshes them by
// itself, offers only the last 15 minutes without Prometheus, and says so
// for no cluster, a range needing Prometheus and no samples (mocked).
// Then the test reads the element's series through the API. Skipped
// without chromium, node, the built editor, `nomad` or `python3`.
func TestMetricsBrowser(t *testing.T) {
	b := requireBrowser(t)
	agent.Require(t, "python3")
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=")

	const slug = "e2e-metrics"
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"`+slug+`"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	body, _ := json.Marshal(map[string]string{"yaml": metricsBrowserYAML})
	if code, _, out := s.call(t, "POST", "/projects/"+slug+"/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted {
		t.Fatalf("deploy: %d %s", code, out)
	}
	// The suite starts once the instance runs and has figures, so the
	// browser's first look finds it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, out := s.call(t, "GET", "/projects/"+slug+"/metrics/now?element=app", "")
		var snap metrics.Snapshot
		if code == 200 && json.Unmarshal([]byte(out), &snap) == nil && len(snap.Instances) == 1 &&
			snap.Instances[0].State == "running" && !snap.Instances[0].At.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app has no running instance with figures within 60 s: %d %s", code, out)
		}
		time.Sleep(500 * time.Millisecond)
	}

	b.run(t, "metrics.e2e.mjs", 5*time.Minute, append(e2eAdmin(t, s, "mira"), "BASE_URL="+s.URL, "E2E_SLUG="+slug, "E2E_ELEMENT=app")...)

	// What the charts drew, through the API: app's memory over the last
	// 15 minutes from serve's samples, within its 128 MiB limit.
	code, _, out := s.call(t, "GET", "/projects/"+slug+"/metrics?element=app&range=15m&step=15s", "")
	var r metrics.Range
	if code != 200 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("metrics of app: %d %s", code, out)
	}
	if r.Source != "nomad" || r.Step != "15s" {
		t.Errorf("metrics of app: source %q step %q, want nomad and 15s", r.Source, r.Step)
	}
	var mem *metrics.Series
	for i := range r.Series {
		if r.Series[i].Metric == metrics.MemoryBytes {
			mem = &r.Series[i]
		}
	}
	if mem == nil || len(mem.Points) < 2 || mem.Region != "global" || mem.Element != "app" {
		t.Fatalf("no memory series of app with points: %s", out)
	}
	for _, p := range mem.Points {
		if p[1] <= 0 || p[1] > 128<<20 {
			t.Errorf("app's memory at %v is %.0f bytes, want within its 128 MiB limit", time.Unix(int64(p[0]), 0), p[1])
		}
	}
}
