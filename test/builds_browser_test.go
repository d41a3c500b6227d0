package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// slowBuild prints a line, works for a few seconds, then prints another:
// long enough to watch the build run.
const slowBuild = `import pathlib, time
print("BUILD-STEP-ONE fetching the dependencies", flush=True)
time.sleep(5)
pathlib.Path("build-id").write_text("slow-build")
print("BUILD-STEP-TWO compiled", flush=True)
`

const buildsBrowserYAML = `version: 1
project: e2e-builds
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.python
    source: { repo: %q, branch: main, ref: %q, build: "python3 build.py", start: "exec python3 app.py" }
    port: 8000
    health: { http: /, interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
layout: { api: { x: 200, y: 160 } }
`

// TestBuildsBrowser drives builds in the editor in a real headless
// Chromium (web/ui/e2e/builds.e2e.mjs) against a real `backplane serve`
// building on a real Nomad from a real git repository: the element's light
// shows "building" while its build runs, the deploy dialog shows the
// build's log, and the element's Build tab lists the build and shows its
// first line while it still runs, then its second, then that it
// succeeded. Skipped without chromium, node, the built editor, git,
// python3 or nomad.
func TestBuildsBrowser(t *testing.T) {
	b := requireBrowser(t)
	agent.Require(t, "git", "python3", "nomad")
	gd := agent.StartGitDaemon(t)
	repo := gd.NewRepo(t, "e2e-builds")
	sha := repo.Commit(t, map[string]string{"app.py": buildApp, "build.py": slowBuild}, "First", "Ann <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0",
		"BACKPLANE_LOGSHIP_COMMAND="+backplane(t))
	const slug = "e2e-builds"
	if code, _, body := s.call(t, "POST", "/projects", `{"slug":"`+slug+`"}`, "Content-Type", "application/json"); code != 201 {
		t.Fatalf("create %s: %d %s", slug, code, body)
	}
	if code, _, body := s.call(t, "PUT", "/projects/"+slug+"/schema", fmt.Sprintf(buildsBrowserYAML, repo.URL, sha),
		"Content-Type", "application/yaml", "If-Match", "*"); code != 200 {
		t.Fatalf("schema of %s: %d %s", slug, code, body)
	}
	admin := e2eAdmin(t, s, "bella")
	b.run(t, "builds.e2e.mjs", 5*time.Minute, append(admin,
		"BASE_URL="+s.URL, "E2E_SLUG="+slug, "E2E_FIRST_LINE=BUILD-STEP-ONE", "E2E_SECOND_LINE=BUILD-STEP-TWO")...)

	// The build the browser watched is recorded, with its artifact.
	code, _, body := s.call(t, "GET", "/projects/"+slug+"/builds?element=api", "")
	if code != 200 || !strings.Contains(body, `"status":"succeeded"`) || !strings.Contains(body, `"sha":"`+sha+`"`) {
		t.Errorf("builds of api: %d %s", code, body)
	}
}
