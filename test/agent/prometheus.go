package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Prometheus is a running Prometheus with its config in a temp file and an
// empty folder of rule files.
type Prometheus struct {
	// URL is its HTTP API, http://127.0.0.1:port.
	URL string
	// ConfigPath is the file it runs (--config.file); rewrite it and POST
	// URL/-/reload (the lifecycle API is on).
	ConfigPath string
	// RulesDir is the folder its rule_files read (RulesDir/*.yml); hand it
	// to a metrics.RulesManager.
	RulesDir string
	proc     *process
}

// Test speeds: Prometheus scrapes and evaluates every second.
const (
	PrometheusScrapeInterval     = "1s"
	PrometheusEvaluationInterval = "1s"
)

var (
	globalKey    = regexp.MustCompile(`(?m)^global:`)
	ruleFilesKey = regexp.MustCompile(`(?m)^rule_files:`)
)

// StartPrometheus starts Prometheus on a free loopback port, with storage
// in a temp folder and the lifecycle API on (so POST /-/reload works), and
// waits until it is ready. configYAML is the rest of its config file
// (scrape_configs, alerting); unless it has its own, StartPrometheus adds a
// global section that scrapes and evaluates every second and
// rule_files: [RulesDir/*.yml].
func StartPrometheus(t testing.TB, configYAML string) *Prometheus {
	t.Helper()
	bin := Require(t, "prometheus")
	dir := t.TempDir()
	p := &Prometheus{
		ConfigPath: filepath.Join(dir, "prometheus.yml"),
		RulesDir:   filepath.Join(dir, "rules"),
	}
	if err := os.Mkdir(p.RulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	if !globalKey.MatchString(configYAML) {
		fmt.Fprintf(&cfg, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", PrometheusScrapeInterval, PrometheusEvaluationInterval)
	}
	if !ruleFilesKey.MatchString(configYAML) {
		fmt.Fprintf(&cfg, "rule_files:\n  - %q\n", filepath.Join(p.RulesDir, "*.yml"))
	}
	cfg.WriteString(configYAML)
	if err := os.WriteFile(p.ConfigPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePorts(t, 1)[0]
	p.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	p.proc = start(t, "prometheus", bin,
		"--config.file="+p.ConfigPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--web.external-url="+p.URL,
		"--web.enable-lifecycle")
	waitFor(t, p.proc, 60*time.Second, func() error { return httpOK(p.URL+"/-/ready", "") })
	return p
}

// NomadScrapeConfig is a scrape_configs entry for the Nomad agent at addr
// (http://host:port): its /v1/metrics in Prometheus format, with
// honor_labels so that `job` stays the Nomad job ID.
func NomadScrapeConfig(name, addr string) string {
	host := strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	return fmt.Sprintf(`  - job_name: %q
    scrape_interval: %s
    metrics_path: /v1/metrics
    params: { format: [prometheus] }
    honor_labels: true
    static_configs:
      - targets: [%q]
`, name, PrometheusScrapeInterval, host)
}

// Output is what Prometheus printed so far (its log: reloads and the rule
// that failed to load).
func (p *Prometheus) Output() string { return p.proc.out.String() }

// Running reports whether the process is still up.
func (p *Prometheus) Running() bool { return !p.proc.exited() }

// Stop stops Prometheus (t.Cleanup does it too).
func (p *Prometheus) Stop() { p.proc.Stop() }
