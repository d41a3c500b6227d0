package test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// TestEditorInBrowser drives the editor in a real headless Chromium
// (Debian's chromium through playwright-core) against a real
// `backplane serve`: web/ui/e2e/editor.e2e.mjs signs in through the sign-in
// page as a server admin made through the API, creates a project, drags
// elements from the palette, connects them, fills the inspector, saves,
// reloads, checks everything persisted and the YAML view shows the wiring,
// and makes a stale save from a second page to get the conflict dialog.
// Screenshots go to test/output/editor/.
func TestEditorInBrowser(t *testing.T) {
	b := requireBrowser(t)
	s := serve(t)
	b.run(t, "editor.e2e.mjs", 5*time.Minute, append(e2eAdmin(t, s, "erin"), "BASE_URL="+s.URL)...)
}

// browserSuite is what the browser suites need: node, Chromium, web/ui with
// playwright-core, the built editor, and where the screenshots go.
type browserSuite struct {
	node, chromium, ui, out string
}

// requireBrowser finds what the browser suites need, or skips the test
// (fails it with REQUIRE_AGENTS=1) saying what is missing.
func requireBrowser(t *testing.T) browserSuite {
	t.Helper()
	chromium := agent.Require(t, "chromium")
	node := agent.Require(t, "node")
	ui, _ := filepath.Abs("../web/ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "playwright-core")); err != nil {
		requireOrSkip(t, "web/ui/node_modules/playwright-core is missing: run make ui")
	}
	if _, err := os.Stat("../web/uiembed/dist/index.html"); err != nil {
		requireOrSkip(t, "the editor is not built into web/uiembed/dist: run make ui")
	}
	out, _ := filepath.Abs("output/editor")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return browserSuite{node: node, chromium: chromium, ui: ui, out: out}
}

// run runs web/ui/e2e/<script> with env added (BASE_URL, E2E_USER, ...),
// logs its output and fails the test if it fails or outlives timeout.
func (b browserSuite) run(t *testing.T, script string, timeout time.Duration, env ...string) {
	t.Helper()
	cmd := exec.Command(b.node, filepath.Join(b.ui, "e2e", script))
	cmd.Dir = b.ui
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+b.chromium, "OUT_DIR="+b.out), env...)
	done := make(chan struct{})
	var output []byte
	var err error
	started := time.Now()
	go func() { output, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the browser suite %s did not finish in %s:\n%s", script, timeout, output)
	}
	t.Logf("browser suite %s output (%s):\n%s", script, time.Since(started).Round(100*time.Millisecond), output)
	if err != nil {
		t.Fatalf("browser suite %s failed: %v", script, err)
	}
}

// e2ePassword is a fresh password for a suite's user, recorded as a secret
// of s (it must never show in its output or its database).
func e2ePassword(s *served) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	p := "e2e-" + hex.EncodeToString(b)
	s.Secret(p)
	return p
}

// e2eUser makes a user with a password through the API, as the bootstrap
// admin (the way an admin would), and returns the password.
func e2eUser(t *testing.T, s *served, name string, serverAdmin bool) string {
	t.Helper()
	password := e2ePassword(s)
	code, _, body := s.call(t, "POST", "/users", fmt.Sprintf(`{"name":%q,"password":%q,"server_admin":%v}`, name, password, serverAdmin),
		"Content-Type", "application/json")
	if code != 201 {
		t.Fatalf("create the user %s: %d %s", name, code, body)
	}
	return password
}

// e2eAdmin makes a server admin with a password for a browser suite to sign
// in as, through the sign-in page, and returns the suite's E2E_USER and
// E2E_PASSWORD.
func e2eAdmin(t *testing.T, s *served, name string) []string {
	t.Helper()
	return []string{"E2E_USER=" + name, "E2E_PASSWORD=" + e2eUser(t, s, name, true)}
}

func requireOrSkip(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("REQUIRE_AGENTS") == "1" {
		t.Fatal(msg + " (REQUIRE_AGENTS=1)")
	}
	t.Skip(msg)
}
