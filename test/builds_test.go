package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/test/sinks"
)

// buildScript is an element's build step: it writes a fresh build ID, and
// counts the builds it finds in its cache (so a restored cache shows).
const buildScript = `import os, pathlib, uuid
cache = pathlib.Path(os.environ["BACKPLANE_CACHE_DIR"])
cache.mkdir(parents=True, exist_ok=True)
seen = int((cache / "builds").read_text()) if (cache / "builds").exists() else 0
(cache / "builds").write_text(str(seen + 1))
pathlib.Path("build-id").write_text(uuid.uuid4().hex + " cache=" + str(seen))
print("built with", seen, "earlier builds in the cache")
`

const failingBuild = `import sys
print("compiling the thing")
print("ERROR: cannot compile main.py: line 3", file=sys.stderr)
sys.exit(3)
`

// buildApp answers with its build ID and the commit it runs.
const buildApp = `import http.server, os, pathlib
bid = pathlib.Path("build-id").read_text().strip()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write((bid + " " + os.environ.get("BACKPLANE_GIT_SHA", "")).encode())
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

const buildSchemaYAML = `version: 1
project: gitb
defaults: { driver: raw_exec }
receivers: { team: { webhook: { url: %q } } }
elements:
  - id: api
    kind: app.python
    source: { repo: %q, branch: main, ref: %q, build: "python3 build.py", start: "exec python3 app.py" }
    port: 8000
    scale: { count: 2 }
    health: { http: /, interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
    alerts: { receivers: [team] }
`

// TestBuildOnce deploys an element built from source with two instances
// on a real Nomad from a real git repository, through the CLI and serve:
// one build job runs, both instances serve its build ID, and restarting
// one rebuilds nothing; a commit whose build fails exits 1 naming the
// build with its last log lines, leaves both instances on the old build
// and raises BuildFailed at the element's receiver through a real
// Alertmanager; the next good commit builds with the cache the first one
// left and resolves the alert.
func TestBuildOnce(t *testing.T) {
	agent.Require(t, "git", "python3")
	gd := agent.StartGitDaemon(t)
	repo := gd.NewRepo(t, "builds")
	sha1 := repo.Commit(t, map[string]string{"app.py": buildApp, "build.py": buildScript}, "First", "Ann <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})
	am := agent.StartAlertmanager(t, "global:\n  resolve_timeout: 5m\nroute:\n  receiver: default\nreceivers:\n  - name: default\n")
	hook := sinks.NewHTTP(t)
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0",
		"BACKPLANE_LOGSHIP_COMMAND="+backplane(t),
		"BACKPLANE_ALERTMANAGER_URL="+am.URL, "BACKPLANE_ALERTMANAGER_CONFIG="+am.ConfigPath, "BACKPLANE_ALERTMANAGER_SECRETS="+am.SecretsDir,
		"BACKPLANE_ALERT_GROUP_WAIT=1s", "BACKPLANE_ALERT_GROUP_INTERVAL=1s", "BACKPLANE_ALERT_REPEAT_INTERVAL=1h")
	buildAlert := func(status string) func(sinks.Webhook) bool {
		return func(w sinks.Webhook) bool {
			for _, a := range w.Alerts {
				if a.Labels["alertname"] == "BuildFailed" && a.Status == status && a.Labels["element"] == "api" && a.Labels["project"] == "gitb" {
					return true
				}
			}
			return false
		}
	}
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"gitb"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "backplane.yaml")
	env := []string{"NOMAD_ADDR=http://127.0.0.1:1", "BACKPLANE_SERVER=" + s.URL, "BACKPLANE_TOKEN=" + testAdminToken}
	deployAt := func(sha string) (int, string) {
		t.Helper()
		if err := os.WriteFile(file, fmt.Appendf(nil, buildSchemaYAML, hook.URL, repo.URL, sha), 0o644); err != nil {
			t.Fatal(err)
		}
		return runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "3m")
	}

	// The plan says api needs a build.
	if err := os.WriteFile(file, fmt.Appendf(nil, buildSchemaYAML, hook.URL, repo.URL, sha1), 0o644); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"yaml": fmt.Sprintf(buildSchemaYAML, hook.URL, repo.URL, sha1)})
	if code, _, out := s.call(t, "POST", "/projects/gitb/plan", string(body), "Content-Type", "application/json"); code != http.StatusOK ||
		!strings.Contains(out, `"builds":[{"element":"api","sha":"`+sha1+`"}]`) {
		t.Errorf("plan: %d %s", code, out)
	}

	code, out := deployAt(sha1)
	if code != 0 {
		t.Fatalf("deploy exited %d:\n%s", code, out)
	}
	t.Logf("deploy:\n%s", out)
	if got := buildJobs(t, n); len(got) != 1 {
		t.Fatalf("build jobs: %v, want one", got)
	}
	first := answers(t, n, "gitb-api")
	if len(first) != 2 || first[0] != first[1] || !strings.HasSuffix(first[0], " "+sha1) || !strings.Contains(first[0], "cache=0") {
		t.Fatalf("the two instances answer %q, want one build ID at %s", first, sha1[:7])
	}
	job, _, err := n.Client.Jobs().Info("gitb-api", nil)
	if err != nil {
		t.Fatal(err)
	}
	if job.Meta["backplane.git_sha"] != sha1 || len(job.Meta["backplane.artifact"]) != 64 {
		t.Errorf("job meta %v", job.Meta)
	}

	// Restarting an instance rebuilds nothing: it starts from the artifact.
	allocs, _, _ := n.Client.Jobs().Allocations("gitb-api", false, nil)
	for _, a := range allocs {
		if a.ClientStatus == "running" {
			if err := n.Client.Allocations().Restart(&nomad.Allocation{ID: a.ID, NodeID: a.NodeID}, "", nil); err != nil {
				t.Fatalf("restart: %v", err)
			}
			break
		}
	}
	waitUntil(t, time.Minute, "both instances answer again after the restart", func() bool {
		return len(answers(t, n, "gitb-api")) == 2
	})
	if again := answers(t, n, "gitb-api"); !slices.Equal(again, first) {
		t.Errorf("after a restart the instances answer %q, want %q", again, first)
	}
	// A second deploy of the same commit builds nothing either.
	if code, out := deployAt(sha1); code != 0 {
		t.Fatalf("second deploy exited %d:\n%s", code, out)
	}
	if got := buildJobs(t, n); len(got) != 1 {
		t.Errorf("build jobs after a restart and a redeploy: %v, want one", got)
	}

	// A commit whose build fails: exit 1, the build named with its last
	// lines, both instances still on the first build.
	sha2 := repo.Commit(t, map[string]string{"build.py": failingBuild}, "Break the build", "Bob <bob@example.com>")
	code, out = deployAt(sha2)
	if code != 1 || !strings.Contains(out, "build") || !strings.Contains(out, "of api at "+sha2[:7]+" failed") ||
		!strings.Contains(out, "ERROR: cannot compile main.py: line 3") {
		t.Errorf("deploy of a failing build exited %d, want 1 naming the build and its last lines:\n%s", code, out)
	}
	if now := answers(t, n, "gitb-api"); !slices.Equal(now, first) {
		t.Errorf("after a failed build the instances answer %q, want %q", now, first)
	}
	w := hook.WaitWebhook(t, time.Minute, buildAlert("firing"))
	if d := w.Alerts[0].Annotations["description"]; !strings.Contains(d, "ERROR: cannot compile main.py") || !strings.Contains(d, sha2) {
		t.Errorf("BuildFailed description: %q", d)
	}
	code2, _, list := s.call(t, "GET", "/projects/gitb/builds?element=api", "")
	var builds struct {
		Builds []struct {
			ID      int64
			SHA     string
			Status  string
			LogTail string `json:"log_tail"`
			Size    int64
		}
	}
	if code2 != 200 || json.Unmarshal([]byte(list), &builds) != nil || len(builds.Builds) != 2 ||
		builds.Builds[0].Status != "failed" || builds.Builds[1].Status != "succeeded" || builds.Builds[1].Size == 0 {
		t.Errorf("builds: %d %s", code2, list)
	}

	// The next good commit builds once more, with the first build's cache.
	sha3 := repo.Commit(t, map[string]string{"build.py": buildScript, "v": "3"}, "Fix the build", "Bob <bob@example.com>")
	if code, out := deployAt(sha3); code != 0 {
		t.Fatalf("deploy of the fix exited %d:\n%s", code, out)
	}
	third := answers(t, n, "gitb-api")
	if len(third) != 2 || third[0] != third[1] || !strings.HasSuffix(third[0], " "+sha3) || !strings.Contains(third[0], "cache=1") {
		t.Errorf("after the fix the instances answer %q, want one new build at %s that found the first build's cache", third, sha3[:7])
	}
	hook.WaitWebhook(t, time.Minute, buildAlert("resolved"))
}

// buildJobs lists the build jobs Nomad has.
func buildJobs(t *testing.T, n *agent.Nomad) []string {
	t.Helper()
	stubs, _, err := n.Client.Jobs().List(&nomad.QueryOptions{Prefix: "gitb-api-build-"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range stubs {
		out = append(out, s.ID)
	}
	return out
}

// answers are what the job's running instances answer, sorted.
func answers(t testing.TB, n *agent.Nomad, jobID string) []string {
	t.Helper()
	allocs, _, err := n.Client.Jobs().Allocations(jobID, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, stub := range allocs {
		if stub.ClientStatus != "running" || stub.DesiredStatus != "run" {
			continue
		}
		a, _, err := n.Client.Allocations().Info(stub.ID, nil)
		if err != nil || a.AllocatedResources == nil {
			continue
		}
		for _, p := range a.AllocatedResources.Shared.Ports {
			if got := httpBody(fmt.Sprintf("http://%s:%d/", p.HostIP, p.Value)); got != "" {
				out = append(out, got)
			}
		}
	}
	slices.Sort(out)
	return out
}

const buildLogSchemaYAML = `version: 1
project: logb
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.python
    source: { repo: %q, branch: main, ref: %q, build: "python3 build.py", start: "exec python3 app.py" }
    port: 8000
    health: { http: /, interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
`

// TestBuildLogThroughCLI deploys an element built from source through the
// CLI and serve on a real Nomad: deploy --wait prints the build's log as
// the server builds, plan names what a deploy would build, and builds
// lists the build and prints its log.
func TestBuildLogThroughCLI(t *testing.T) {
	agent.Require(t, "git", "python3")
	gd := agent.StartGitDaemon(t)
	repo := gd.NewRepo(t, "buildlog")
	sha := repo.Commit(t, map[string]string{"app.py": buildApp, "build.py": buildScript}, "First", "Ann <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0",
		"BACKPLANE_LOGSHIP_COMMAND="+backplane(t))
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"logb"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	file := filepath.Join(t.TempDir(), "backplane.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, buildLogSchemaYAML, repo.URL, sha), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NOMAD_ADDR=http://127.0.0.1:1", "BACKPLANE_SERVER=" + s.URL, "BACKPLANE_TOKEN=" + testAdminToken}

	code, out := runCLI(t, env, "", "plan", "-f", file)
	if code != 0 || !strings.Contains(out, "api: build at "+sha[:7]+"\n") {
		t.Errorf("plan exited %d, want it to say api builds at %s:\n%s", code, sha[:7], out)
	}
	code, out = runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "3m")
	if code != 0 || !strings.Contains(out, "api build | built with 0 earlier builds in the cache\n") {
		t.Fatalf("deploy exited %d; want the build's log in its output:\n%s", code, out)
	}
	code, out = runCLI(t, env, "", "builds", "-f", file, "--json")
	var list struct {
		Builds []struct {
			ID     int64
			SHA    string
			Status string
		}
		Enabled bool
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || !list.Enabled || len(list.Builds) != 1 ||
		list.Builds[0].SHA != sha || list.Builds[0].Status != "succeeded" {
		t.Fatalf("builds --json exited %d (%v):\n%s", code, err, out)
	}
	code, out = runCLI(t, env, "", "builds", "-f", file)
	if rows := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(rows) != 2 || !strings.Contains(rows[1], sha[:7]) || !strings.Contains(rows[1], "succeeded") {
		t.Errorf("builds exited %d, want one row:\n%s", code, out)
	}
	code, out = runCLI(t, env, "", "builds", "-f", file, "--log", fmt.Sprint(list.Builds[0].ID))
	if code != 0 || !strings.Contains(out, "built with 0 earlier builds in the cache\n") || !strings.Contains(out, "succeeded") {
		t.Errorf("builds --log exited %d:\n%s", code, out)
	}
	code, out = runCLI(t, []string{"NOMAD_ADDR=http://127.0.0.1:1"}, "", "builds", "-f", file)
	if code != 1 || !strings.Contains(out, "builds happen only in serve") {
		t.Errorf("builds without a server exited %d:\n%s", code, out)
	}
}

// TestBuildOnceS3 keeps the artifacts in an S3 bucket (gofakes3, an S3
// server in this process that speaks the protocol to serve's real client):
// the build's artifact lands in the bucket, not in serve's data folder,
// and both instances start from it.
func TestBuildOnceS3(t *testing.T) {
	agent.Require(t, "git", "python3")
	backend := s3mem.New()
	if err := backend.CreateBucket("builds"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	gd := agent.StartGitDaemon(t)
	repo := gd.NewRepo(t, "builds")
	sha := repo.Commit(t, map[string]string{"app.py": buildApp, "build.py": buildScript}, "First", "Ann <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})
	const secretKey = "s3-secret-key-never-shown-0123"
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0",
		"BACKPLANE_LOGSHIP_COMMAND="+backplane(t),
		"BACKPLANE_ARTIFACTS_URL=s3://builds/backplane?endpoint="+s3srv.URL+"&region=us-east-1&path_style=true",
		"AWS_ACCESS_KEY_ID=AKIABACKPLANETEST01", "AWS_SECRET_ACCESS_KEY="+secretKey)
	s.Secret(secretKey)
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"gitb"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	y := strings.Replace(fmt.Sprintf(buildSchemaYAML, "http://127.0.0.1:1/unused", repo.URL, sha), "    alerts: { receivers: [team] }\n", "", 1)
	body, _ := json.Marshal(map[string]string{"yaml": y})
	if code, _, out := s.call(t, "POST", "/projects/gitb/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted {
		t.Fatalf("deploy: %d %s", code, out)
	}
	waitUntil(t, 2*time.Minute, "both instances answer", func() bool { return len(answers(t, n, "gitb-api")) == 2 })
	got := answers(t, n, "gitb-api")
	if got[0] != got[1] || !strings.HasSuffix(got[0], " "+sha) {
		t.Errorf("the instances answer %q", got)
	}
	list, err := backend.ListBucket("builds", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
	}
	if !slices.Contains(keys, "backplane/gitb/api/"+sha+".tar.gz") || !slices.Contains(keys, "backplane/gitb/api/cache.tar.gz") {
		t.Errorf("the bucket holds %v", keys)
	}
	if _, err := os.Stat(filepath.Join(s.data, "artifacts")); err == nil {
		t.Errorf("artifacts were written to serve's data folder too")
	}
}
