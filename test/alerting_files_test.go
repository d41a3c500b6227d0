package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/test/agent"
)

// TestGoldenAlertmanagerConfigs runs Alertmanager's own checker over every
// golden alertmanager.yml.
func TestGoldenAlertmanagerConfigs(t *testing.T) {
	amtool := agent.Require(t, "amtool")
	files, _ := filepath.Glob("../translator/testdata/*/out/alertmanager.yml")
	if len(files) < 12 {
		t.Fatalf("found %d alertmanager.yml files", len(files))
	}
	// Email receivers rely on the global smtp_* settings of the config they
	// are merged into; stand one in.
	dir := t.TempDir()
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		merged := filepath.Join(dir, fmt.Sprintf("%d.yml", i))
		global := "global:\n  smtp_smarthost: localhost:25\n  smtp_from: alertmanager@localhost\n"
		if err := os.WriteFile(merged, []byte(global+string(body)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(amtool, "check-config", merged).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("amtool check-config %s: %v\n%s", f, err, out)
		}
	}
}

// TestGoldenPrometheusRules runs promtool over every golden rule file.
func TestGoldenPrometheusRules(t *testing.T) {
	promtool := agent.Require(t, "promtool")
	files, _ := filepath.Glob("../translator/testdata/*/out/prometheus-rules.yml")
	if len(files) < 12 {
		t.Fatalf("found %d prometheus-rules.yml files", len(files))
	}
	for _, f := range files {
		out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool check rules %s: %v\n%s", f, err, out)
		}
	}
}
