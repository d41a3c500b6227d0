package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/metrics"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/translator"
)

// promSchema has an element that holds 94% of its memory reservation and
// one that holds almost nothing. The client enforces the reservation (a
// cgroup limit, which also counts the page cache), so hog grows to its
// mark by its own anonymous resident memory rather than by a fixed size
// that would depend on the interpreter's; 256 MB leaves room for the rest.
const promSchema = `version: 1
project: prom
defaults: { driver: raw_exec }
elements:
  - id: steady
    kind: app.command
    command: exec sleep 3600
    resources: { cpu: 50, memory: 64 }
  - id: hog
    kind: app.command
    command: |
      exec python3 -c '
      import os, time
      limit = int(os.environ["NOMAD_MEMORY_LIMIT"]) << 20
      def anon():
          return int([l for l in open("/proc/self/status") if l.startswith("RssAnon:")][0].split()[1]) << 10
      held = []
      while anon() < 0.94 * limit:
          held.append(b"x" * (1 << 20))
      print("holding", anon() >> 20, "MiB of", limit >> 20, flush=True)
      time.sleep(3600)'
    resources: { cpu: 50, memory: 256 }
`

// ruleThreshold is the comparison that ends every rendered rule expression.
var ruleThreshold = regexp.MustCompile(`\s*>\s*[0-9.]+$`)

// TestMetricsPrometheusRules loads the translator's rules into a real
// Prometheus that scrapes a real Nomad, through metrics.RulesManager, and
// checks them against what Nomad exports: they load and evaluate
// (health ok), each rule's expression without its threshold returns
// series for an idle element (so the metric names and labels exist), and
// MemoryNearLimit fires for the element above 90% of its memory, with the
// labels Alertmanager routes on and the editor link. When Alertmanager is
// on PATH the alert also reaches it, carrying the region Prometheus's
// external_labels add. A rule file Prometheus refuses is taken back.
func TestMetricsPrometheusRules(t *testing.T) {
	agent.Require(t, "nomad")
	agent.Require(t, "prometheus")
	n := agent.StartNomad(t, agent.NomadOptions{})
	alerting := ""
	var am *agent.Alertmanager
	if _, err := exec.LookPath("alertmanager"); err == nil || os.Getenv("REQUIRE_AGENTS") == "1" {
		am = agent.StartAlertmanager(t, "")
		alerting = fmt.Sprintf("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [%q]\n", strings.TrimPrefix(am.URL, "http://"))
	} else {
		t.Log("alertmanager not on PATH: not checking that the alert reaches it with its region")
	}
	prom := agent.StartPrometheus(t, fmt.Sprintf(
		"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels: { region: %q }\n%sscrape_configs:\n%s",
		n.Region, alerting, agent.NomadScrapeConfig("nomad", n.Addr)))

	// The rules as the translator renders them, with a public URL and a 5s
	// `for` instead of 5m and 10m.
	const publicURL = "https://backplane.example.com"
	b := bundleFor(t, promSchema, translator.Options{Alerting: translator.AlertingOptions{PublicURL: publicURL, RuleFor: 5 * time.Second}})
	rm, err := metrics.NewRulesManager(prom.RulesDir, prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := rm.Apply(ctx, "prom", []byte(b.PrometheusRules)); err != nil {
		t.Fatalf("apply rules: %v\n%s", err, prom.Output())
	}

	start := time.Now()
	c := connect(t, jobs.Config{NomadAddr: n.Addr})
	deploy(t, c, b, jobs.ApplyOptions{})
	waitStates(t, c, jobs.Targets(b), 90*time.Second, healthyOrRunning(nil))
	healthy := time.Since(start)

	// Every rule loaded and evaluates.
	var groupHealth []string
	waitNoting(t, 30*time.Second, "rules loaded with health ok", func() (bool, string) {
		var out struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Name, Health, LastError string
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := promGet(ctx, prom.URL, "/api/v1/rules", nil, &out); err != nil {
			return false, err.Error()
		}
		groupHealth = groupHealth[:0]
		ok := 0
		for _, g := range out.Data.Groups {
			if g.Name != "backplane-prom" {
				continue
			}
			for _, r := range g.Rules {
				groupHealth = append(groupHealth, r.Name+"="+r.Health+" "+r.LastError)
				if r.Health == "ok" {
					ok++
				}
			}
		}
		return ok == 4 && len(groupHealth) == 4, strings.Join(groupHealth, "; ")
	})

	// Each expression without its threshold returns series for steady,
	// per instance and task: Nomad exports the metrics with these names
	// and labels.
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Expr   string            `yaml:"expr"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(b.PrometheusRules), &file); err != nil || len(file.Groups) != 1 {
		t.Fatalf("rendered rules: %v\n%s", err, b.PrometheusRules)
	}
	seen := map[string]bool{}
	for _, r := range file.Groups[0].Rules {
		if r.Labels["element"] != "steady" {
			continue
		}
		seen[r.Alert] = true
		expr := ruleThreshold.ReplaceAllString(r.Expr, "")
		if expr == r.Expr {
			t.Fatalf("%s: no threshold comparison at the end of %q", r.Alert, r.Expr)
		}
		var last string
		waitNoting(t, 30*time.Second, r.Alert+" series for steady", func() (bool, string) {
			res, err := promQuery(ctx, prom.URL, expr)
			if err != nil {
				return false, err.Error()
			}
			last = fmt.Sprint(res)
			for _, s := range res {
				if s.Metric["task"] == "steady" && s.Metric["alloc_id"] != "" {
					return true, last
				}
			}
			return false, last
		})
		t.Logf("%s for steady: %s  =>  %s", r.Alert, expr, last)
	}
	if !seen["MemoryNearLimit"] || !seen["CPUNearLimit"] {
		t.Fatalf("rules for steady: %v", seen)
	}
	series := time.Since(start)

	// MemoryNearLimit fires for hog, and for nothing else.
	type promAlert struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		State       string            `json:"state"`
		Value       string            `json:"value"`
	}
	var hog promAlert
	waitNoting(t, 60*time.Second, "MemoryNearLimit firing for hog", func() (bool, string) {
		var out struct {
			Data struct {
				Alerts []promAlert `json:"alerts"`
			} `json:"data"`
		}
		if err := promGet(ctx, prom.URL, "/api/v1/alerts", nil, &out); err != nil {
			return false, err.Error()
		}
		for _, a := range out.Data.Alerts {
			if a.Labels["alertname"] == "MemoryNearLimit" && a.Labels["element"] == "hog" && a.State == "firing" {
				hog = a
				return true, ""
			}
		}
		return false, fmt.Sprint(out.Data.Alerts)
	})
	firing := time.Since(start)
	l, ann := hog.Labels, hog.Annotations
	if l["project"] != "prom" || l["severity"] != "warning" || l["task"] != "hog" || l["alloc_id"] == "" {
		t.Errorf("labels %v", l)
	}
	if want := publicURL + "/p/prom?element=hog"; ann["editor_url"] != want {
		t.Errorf("editor_url %q, want %q", ann["editor_url"], want)
	}
	if s := ann["summary"]; !strings.HasPrefix(s, "hog: memory of task hog at ") || !strings.Contains(s, "% of its reservation (over 90% for 5s)") {
		t.Errorf("summary %q", s)
	}
	t.Logf("hog: %s (value %s)", ann["summary"], hog.Value)
	var others []string
	var out struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := promGet(ctx, prom.URL, "/api/v1/alerts", nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Data.Alerts {
		if a.Labels["element"] != "hog" {
			others = append(others, a.Labels["alertname"]+"/"+a.Labels["element"]+"/"+a.Labels["task"])
		}
	}
	if len(others) > 0 {
		t.Errorf("alerts besides hog's memory: %v", others)
	}

	// Alertmanager gets it with the region Prometheus adds.
	if am != nil {
		waitNoting(t, 30*time.Second, "MemoryNearLimit in Alertmanager with its region", func() (bool, string) {
			var got []struct {
				Labels map[string]string `json:"labels"`
			}
			if err := promGet(ctx, am.URL, "/api/v2/alerts", url.Values{"filter": {`alertname="MemoryNearLimit"`}}, &got); err != nil {
				return false, err.Error()
			}
			for _, a := range got {
				if a.Labels["element"] == "hog" && a.Labels["project"] == "prom" && a.Labels["region"] == n.Region {
					return true, ""
				}
			}
			return false, fmt.Sprint(got)
		})
	}
	t.Logf("from deploy: healthy %s, every expression has series %s, MemoryNearLimit firing %s (for: 5s, scrape and evaluation every 1s)",
		healthy.Round(100*time.Millisecond), series.Round(100*time.Millisecond), firing.Round(100*time.Millisecond))

	// A file Prometheus refuses (an annotation that is no template) is
	// taken back, and Prometheus keeps running the rules.
	good, err := os.ReadFile(filepath.Join(prom.RulesDir, "prom.yml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(b.PrometheusRules, "humanizePercentage", "noSuchFunction", 1)
	err = rm.Apply(ctx, "prom", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "failed to reload config") || !strings.Contains(err.Error(), filepath.Join(prom.RulesDir, "prom.yml")) {
		t.Fatalf("apply a refused file: %v", err)
	}
	t.Logf("refused: %v", err)
	if now, _ := os.ReadFile(filepath.Join(prom.RulesDir, "prom.yml")); string(now) != string(good) {
		t.Error("the refused file stayed in place")
	}
	if !strings.Contains(prom.Output(), "noSuchFunction") {
		t.Error("Prometheus's log does not name the rule at fault")
	}
	if err := rm.Apply(ctx, "prom", []byte(b.PrometheusRules)); err != nil {
		t.Errorf("apply the good rules again: %v", err)
	}
	if err := rm.Remove(ctx, "prom"); err != nil {
		t.Errorf("remove: %v", err)
	}
}

// waitNoting polls cond every 500ms until it holds, failing the test with
// its last note after timeout.
func waitNoting(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, note := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, note)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s promSample) String() string { return fmt.Sprintf("%v=%v", s.Metric, s.Value[1]) }

// promQuery runs an instant query.
func promQuery(ctx context.Context, base, expr string) ([]promSample, error) {
	var out struct {
		Data struct {
			Result []promSample `json:"result"`
		} `json:"data"`
	}
	err := promGet(ctx, base, "/api/v1/query", url.Values{"query": {expr}}, &out)
	return out.Data.Result, err
}

// promGet reads a Prometheus (or Alertmanager) JSON API into out.
func promGet(ctx context.Context, base, path string, q url.Values, out any) error {
	u := base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %.300s", path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}
