package test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/test/agent"
)

// TestEditorDeployInBrowser deploys through the editor against a real Nomad:
// a dev agent with raw_exec, `backplane serve` with NOMAD_ADDR, and
// web/ui/e2e/deploy.e2e.mjs in a real headless Chromium, which creates the
// project e2e-live, loads a two-element raw_exec schema through the YAML
// view, saves, plans, deploys from the plan dialog, waits for both status
// lights to turn green, checks the deploy history, then changes an env var
// in the inspector and redeploys. Afterwards the jobs are checked through
// the Nomad API, so the test does not rely on the UI alone. Screenshots go
// to test/output/editor/ (deploy-*.png).
func TestEditorDeployInBrowser(t *testing.T) {
	chromium := agent.Require(t, "chromium")
	node := agent.Require(t, "node")
	ui, _ := filepath.Abs("../web/ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "playwright-core")); err != nil {
		requireOrSkip(t, "web/ui/node_modules/playwright-core is missing: run make ui")
	}
	if _, err := os.Stat("../web/uiembed/dist/index.html"); err != nil {
		requireOrSkip(t, "the editor is not built into web/uiembed/dist: run make ui")
	}
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr)
	out, _ := filepath.Abs("output/editor")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(ui, "e2e", "deploy.e2e.mjs"))
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "BASE_URL="+s.URL, "CHROMIUM="+chromium, "OUT_DIR="+out)
	done := make(chan struct{})
	var output []byte
	var err error
	started := time.Now()
	go func() { output, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the browser deploy suite did not finish in 5 minutes:\n%s", output)
	}
	t.Logf("browser deploy suite output (%s):\n%s", time.Since(started).Round(100*time.Millisecond), output)
	if err != nil {
		t.Fatalf("browser deploy suite failed: %v", err)
	}

	// What the editor did, seen from Nomad. The script deployed revision 2
	// (both jobs, version 0), then revision 3 with an env var on web only
	// (web at version 1, worker unchanged at version 0).
	q := &nomad.QueryOptions{Region: n.Region}
	for _, want := range []struct {
		job     string
		version uint64
	}{{"e2e-live-web", 1}, {"e2e-live-worker", 0}} {
		j, _, err := n.Client.Jobs().Info(want.job, q)
		if err != nil {
			t.Fatalf("job %s is not in Nomad: %v", want.job, err)
		}
		if got := deref(j.Status); got != "running" {
			t.Errorf("job %s: status %q, want running", want.job, got)
		}
		if got := deref(j.Type); got != "service" {
			t.Errorf("job %s: type %q, want service", want.job, got)
		}
		if j.Version == nil || *j.Version != want.version {
			t.Errorf("job %s: version %v, want %d", want.job, deref(j.Version), want.version)
		}
		if el := strings.TrimPrefix(want.job, "e2e-live-"); j.Meta["backplane.project"] != "e2e-live" || j.Meta["backplane.element"] != el {
			t.Errorf("job %s: meta %v, want backplane.project e2e-live and backplane.element %s", want.job, j.Meta, el)
		}
		if k := running(t, n.Client, n.Region, want.job); k != 1 {
			t.Errorf("job %s: %d running allocations, want 1", want.job, k)
		}
		for _, tg := range j.TaskGroups {
			for _, task := range tg.Tasks {
				if task.Driver != "raw_exec" {
					t.Errorf("job %s task %s: driver %q, want raw_exec", want.job, task.Name, task.Driver)
				}
			}
		}
	}

	// The env var set in the inspector reached the web job.
	j, _, err := n.Client.Jobs().Info("e2e-live-web", q)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tg := range j.TaskGroups {
		for _, task := range tg.Tasks {
			for _, tmpl := range task.Templates {
				if tmpl.EmbeddedTmpl != nil && strings.Contains(*tmpl.EmbeddedTmpl, `GREETING="hello from the editor"`) {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("the web job has no GREETING env var from the inspector")
	}

	// The web process really serves, at the address Nomad's service
	// discovery has for it, and the worker got that address through the
	// connection.
	regs, _, err := n.Client.Services().Get("e2e-live-web", q)
	if err != nil || len(regs) != 1 {
		t.Fatalf("service e2e-live-web: %v %v", regs, err)
	}
	url := fmt.Sprintf("http://%s:%d/", regs[0].Address, regs[0].Port)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	allocLog(t, n.Client, n.Region, "e2e-live-worker", "worker", "web is at "+url[:len(url)-1], time.Minute)

	// And the server's own record agrees: two succeeded deploys, both
	// elements healthy.
	code, _, body := s.call(t, "GET", "/projects/e2e-live/deployments", "")
	if code != 200 || strings.Count(body, `"status":"succeeded"`) != 2 {
		t.Errorf("deployments: %d %s", code, body)
	}
	code, _, body = s.call(t, "GET", "/projects/e2e-live/status", "")
	if code != 200 || strings.Count(body, `"state":"healthy"`) != 2 {
		t.Errorf("status: %d %s", code, body)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
