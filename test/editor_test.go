package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// TestEditorInBrowser drives the editor in a real headless Chromium
// (Debian's chromium through playwright-core) against a real
// `backplane serve`: web/ui/e2e/editor.e2e.mjs creates a project, drags
// elements from the palette, connects them, fills the inspector, saves,
// reloads, checks everything persisted and the YAML view shows the wiring,
// and makes a stale save from a second page to get the conflict dialog.
// Screenshots go to test/output/editor/.
func TestEditorInBrowser(t *testing.T) {
	chromium := agent.Require(t, "chromium")
	node := agent.Require(t, "node")
	ui, _ := filepath.Abs("../web/ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "playwright-core")); err != nil {
		requireOrSkip(t, "web/ui/node_modules/playwright-core is missing: run make ui")
	}
	if _, err := os.Stat("../web/uiembed/dist/index.html"); err != nil {
		requireOrSkip(t, "the editor is not built into web/uiembed/dist: run make ui")
	}
	s := serve(t)
	out, _ := filepath.Abs("output/editor")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(ui, "e2e", "editor.e2e.mjs"))
	cmd.Dir = ui
	cmd.Env = append(os.Environ(), "BASE_URL="+s.URL, "CHROMIUM="+chromium, "OUT_DIR="+out)
	done := make(chan struct{})
	var output []byte
	var err error
	go func() { output, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the browser suite did not finish in 5 minutes:\n%s", output)
	}
	t.Logf("browser suite output:\n%s", output)
	if err != nil {
		t.Fatalf("browser suite failed: %v", err)
	}
}

func requireOrSkip(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("REQUIRE_AGENTS") == "1" {
		t.Fatal(msg + " (REQUIRE_AGENTS=1)")
	}
	t.Skip(msg)
}
