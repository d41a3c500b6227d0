package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/metrics"
	"github.com/backplane-dev/backplane/test/agent"
)

// holdSchema has an element that holds 40 MiB, every page touched so it
// is resident, and one beside it that holds little.
const holdSchema = `version: 1
project: meter
defaults: { driver: raw_exec }
elements:
  - id: hold
    kind: app.command
    command: exec python3 -c 'import time; b=bytearray(40*1024*1024); b[::4096]=b"x"*len(b[::4096]); time.sleep(3600)'
    resources: { cpu: 100, memory: 128 }
  - id: idle
    kind: app.command
    command: exec sleep 3600
    resources: { cpu: 50, memory: 64 }
`

// holdLow and holdHigh bound the resident memory of the 40 MiB holder:
// the bytes plus the Python interpreter (about 8-12 MiB here), with room.
const holdLow, holdHigh = 40 << 20, 60 << 20

// TestMetricsFromNomad deploys, through serve, an element that holds a
// known amount of memory on a real Nomad, and reads its memory through the
// metrics API: a series within 30 s whose values lie within the bounds
// above, and the instance in /metrics/now. With several editors open, serve
// reads each instance's stats at most once per sampling interval.
func TestMetricsFromNomad(t *testing.T) {
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=")
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"meter"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	body, _ := json.Marshal(map[string]string{"yaml": holdSchema})
	if code, _, out := s.call(t, "POST", "/projects/meter/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted {
		t.Fatalf("deploy: %d %s", code, out)
	}

	deadline := time.Now().Add(30 * time.Second)
	var mem metrics.Series
	for {
		code, _, out := s.call(t, "GET", "/projects/meter/metrics?element=hold&range=15m", "")
		var r metrics.Range
		if code == 200 && json.Unmarshal([]byte(out), &r) == nil && r.Source == "nomad" {
			for _, se := range r.Series {
				if se.Metric == metrics.MemoryBytes && se.Element == "hold" && len(se.Points) > 0 && se.Points[len(se.Points)-1][1] >= holdLow {
					mem = se
				}
			}
		}
		if mem.Alloc != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no memory series at its size within 30 s; last answer %d %s", code, out)
		}
		time.Sleep(time.Second)
	}
	last := mem.Points[len(mem.Points)-1][1]
	if last < holdLow || last > holdHigh || mem.Unit != "bytes" || mem.Region != "global" {
		t.Errorf("memory series %s %s: last %.1f MiB, want %d..%d MiB", mem.Alloc, mem.Unit, last/(1<<20), holdLow>>20, holdHigh>>20)
	}

	code, _, out := s.call(t, "GET", "/projects/meter/metrics/now", "")
	var snap metrics.Snapshot
	if code != 200 || json.Unmarshal([]byte(out), &snap) != nil {
		t.Fatalf("metrics/now: %d %s", code, out)
	}
	var hold *metrics.Instance
	for i := range snap.Instances {
		if snap.Instances[i].Element == "hold" {
			hold = &snap.Instances[i]
		}
	}
	if hold == nil || hold.State != "running" || hold.CPUReservedMHz < 100 || hold.MemoryLimitBytes < 128<<20 ||
		hold.MemoryBytes < holdLow || hold.MemoryBytes > holdHigh || hold.MemoryPercent <= 0 {
		t.Errorf("metrics/now: %+v", snap.Instances)
	}
	// Without Prometheus a range beyond serve's own window is refused, saying why.
	if code, _, out := s.call(t, "GET", "/projects/meter/metrics?element=hold&range=1h", ""); code != 400 || !strings.Contains(out, "need Prometheus") {
		t.Errorf("range 1h without Prometheus: %d %s", code, out)
	}

	// Three editors open for a while: the reads stay within one per
	// running instance per interval.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3 {
		select {
		case ev := <-sseLines(ctx, t, s.URL+"/api/v1/projects/meter/events", "metrics"):
			if !strings.Contains(ev, `"element":"hold"`) {
				t.Errorf("metrics event %d: %s", i, ev)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("editor %d got no metrics event", i)
		}
	}
	before, at := statsReads(t, s), time.Now()
	time.Sleep(12 * time.Second)
	after, took := statsReads(t, s), time.Since(at)
	intervals := int(took/metrics.DefaultInterval) + 1
	t.Logf("hold's memory %.1f MiB; %d stats reads for 2 instances over %s with 3 editors open", last/(1<<20), after-before, took.Round(time.Second))
	if got, limit := after-before, 2*intervals; got > limit {
		t.Errorf("%d stats reads for 2 instances over %s with 3 editors open, want at most %d (one per instance per %s)",
			got, took.Round(time.Second), limit, metrics.DefaultInterval)
	}
	if after == before {
		t.Error("no stats read while editors are open")
	}
}

var statsReadsLine = regexp.MustCompile(`(?m)^backplane_nomad_stats_reads_total ([0-9.e+]+)$`)

// statsReads reads serve's count of stats reads from its /metrics.
func statsReads(t *testing.T, s *served) int {
	t.Helper()
	resp, err := http.Get(s.URL + "/api/v1/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		fmt.Fprintln(&text, sc.Text())
	}
	m := statsReadsLine.FindStringSubmatch(text.String())
	if m == nil {
		t.Fatalf("no backplane_nomad_stats_reads_total in /metrics")
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return int(f)
}

// TestMetricsThroughPrometheus deploys through serve configured with a real
// Prometheus that scrapes a real Nomad: the deploy loads the project's rule
// file (Prometheus runs the group), and an hour's range comes from
// Prometheus with the instance's memory and its region.
func TestMetricsThroughPrometheus(t *testing.T) {
	n := agent.StartNomad(t, agent.NomadOptions{})
	prom := agent.StartPrometheus(t, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"+
		agent.NomadScrapeConfig("nomad", n.Addr))
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=",
		"BACKPLANE_PROMETHEUS_URL="+prom.URL, "BACKPLANE_PROMETHEUS_RULES_DIR="+prom.RulesDir)
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"meter"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	body, _ := json.Marshal(map[string]string{"yaml": holdSchema})
	code, _, out := s.call(t, "POST", "/projects/meter/deploy", string(body), "Content-Type", "application/json")
	if code != http.StatusAccepted || !strings.Contains(out, `"warnings":[]`) {
		t.Fatalf("deploy: %d %s", code, out)
	}
	resp, err := http.Get(prom.URL + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name string `json:"name"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rules)
	resp.Body.Close()
	if err != nil || len(rules.Data.Groups) != 1 || rules.Data.Groups[0].Name != "backplane-meter" || len(rules.Data.Groups[0].Rules) != 4 {
		t.Fatalf("Prometheus runs %+v (%v), want group backplane-meter with 2 rules for each of 2 elements", rules.Data.Groups, err)
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, out := s.call(t, "GET", "/projects/meter/metrics?element=hold&range=1h", "")
		var r metrics.Range
		if code == 200 && json.Unmarshal([]byte(out), &r) == nil {
			if r.Source != "prometheus" {
				t.Fatalf("source %q, want prometheus", r.Source)
			}
			for _, se := range r.Series {
				if se.Metric == metrics.MemoryBytes && se.Region == "global" && len(se.Points) > 0 {
					if v := se.Points[len(se.Points)-1][1]; v >= holdLow && v <= holdHigh {
						return
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no memory series of hold's size from Prometheus within 60 s; last answer %d %s", code, out)
		}
		time.Sleep(time.Second)
	}
}
