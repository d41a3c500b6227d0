package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/test/agent"
)

// burnSchema is one autoscaled element that spends far more CPU than it
// reserves (a fifth of a core against 100 MHz), so the autoscaler's
// target-value strategy scales it to max on its first evaluation.
const burnSchema = `version: 1
project: auto
defaults: { driver: raw_exec }
elements:
  - id: burn
    kind: app.command
    command: |
      python3 -c '
      import time
      while True:
          t = time.time()
          while time.time() - t < 0.02:
              pass
          time.sleep(0.08)
      ' &
      exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    scale: { count: 1, min: 1, max: 3, cpu_target: 50 }
    resources: { cpu: 100, memory: 64 }
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
`

// TestAutoscalerOwnsTheCount deploys an autoscaled element with the CLI, lets
// a real Nomad Autoscaler scale it, and checks that plan shows no count
// change, a second deploy keeps the autoscaler's count, and status reports
// the count and the scaling event.
func TestAutoscalerOwnsTheCount(t *testing.T) {
	agent.Require(t, "nomad-autoscaler")
	n := agent.StartNomad(t, agent.NomadOptions{})
	file := filepath.Join(t.TempDir(), "backplane.yaml")
	if err := os.WriteFile(file, []byte(burnSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NOMAD_ADDR=" + n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR="}
	if code, out := runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "2m"); code != 0 {
		t.Fatalf("first deploy exited %d:\n%s", code, out)
	}
	count := func() int {
		j, _, err := n.Client.Jobs().Info("auto-burn", nil)
		if err != nil {
			t.Fatalf("job info: %v", err)
		}
		return *j.TaskGroups[0].Count
	}
	if c := count(); c != 1 {
		t.Fatalf("starts with count %d, want scale.count 1", c)
	}

	// The policy evaluates every 30s; give it two rounds to reach max.
	agent.StartAutoscaler(t, n)
	deadline := time.Now().Add(100 * time.Second)
	for count() != 3 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	if c := count(); c != 3 {
		t.Fatalf("the autoscaler left the count at %d, want 3", c)
	}
	version := func() uint64 {
		j, _, _ := n.Client.Jobs().Info("auto-burn", nil)
		return *j.Version
	}
	scaledVersion := version()

	// plan: nothing to change, and it says the count is the autoscaler's.
	code, out := runCLI(t, env, "", "plan", "-f", file)
	if code != 0 {
		t.Fatalf("plan exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "unchanged") || strings.Contains(out, "Count: ") || !strings.Contains(out, "count 3 kept") {
		t.Errorf("plan after the autoscaler acted:\n%s\nwant the element unchanged, no count diff, and the kept count named", out)
	}

	// A second deploy of the same schema keeps the count.
	if code, out := runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "2m"); code != 0 {
		t.Fatalf("second deploy exited %d:\n%s", code, out)
	}
	if c := count(); c != 3 {
		t.Errorf("second deploy set the count to %d, want the autoscaler's 3", c)
	}
	if v := version(); v != scaledVersion {
		t.Errorf("second deploy registered a new version (%d → %d) of an unchanged schema", scaledVersion, v)
	}

	// A changed schema (new env) redeploys, still at the autoscaler's count.
	changed := strings.Replace(burnSchema, "    port: 8000\n", "    port: 8000\n    env: { RELEASE: \"2\" }\n", 1)
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "2m"); code != 0 {
		t.Fatalf("changed deploy exited %d:\n%s", code, out)
	}
	if c := count(); c != 3 {
		t.Errorf("a changed deploy set the count to %d, want the autoscaler's 3", c)
	}

	// status --json carries the count, the bounds and the scaling event.
	code, out = runCLI(t, env, "", "status", "-f", file, "--json")
	if code != 0 {
		t.Fatalf("status exited %d:\n%s", code, out)
	}
	var statuses []jobs.Status
	if err := json.Unmarshal([]byte(out), &statuses); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(statuses) != 1 {
		t.Fatalf("%d statuses", len(statuses))
	}
	s := statuses[0]
	if s.Desired != 3 || s.Scaling == nil || s.Scaling.Min != 1 || s.Scaling.Max != 3 {
		t.Fatalf("status %+v, want desired 3 and scaling 1..3", s)
	}
	found := false
	for _, ev := range s.Scaling.Events {
		if ev.By == "autoscaler" && ev.To != nil && *ev.To == 3 && ev.From == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no autoscaler event 1 → 3 in %+v", s.Scaling.Events)
	}
	code, out = runCLI(t, env, "", "status", "-f", file)
	if code != 0 || !strings.Contains(out, "scaled 1 → 3 by the autoscaler") {
		t.Errorf("status (exit %d) does not tell what the autoscaler did:\n%s", code, out)
	}
	if _, _, err := n.Client.Jobs().Deregister("auto-burn", true, &nomad.WriteOptions{}); err != nil {
		t.Errorf("purge: %v", err)
	}
}
