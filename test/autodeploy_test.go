package test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// commitApp answers every request with the commit it was checked out at:
// the artifact fetch leaves a detached HEAD at the pinned commit.
const commitApp = `import http.server, os, pathlib
d = pathlib.Path.cwd()
while not (d / ".git").exists() and d != d.parent:
    d = d.parent
head = (d / ".git" / "HEAD").read_text().strip()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(head.encode())
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

const gitSchema = `version: 1
project: gitp
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.python
    source: { repo: %q, branch: main, autodeploy: true, paths: [api/], start: "exec python3 app.py", dir: api }
    port: 8000
    health: { http: /, interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
`

// TestAutodeployFromGit drives deploys of an element built from source on
// a real Nomad from a real git repository served by git daemon: the first
// deploy pins the branch's head; a signed push webhook redeploys the
// element at the pushed commit (its job meta and its HTTP answer show
// it); a commit outside its paths deploys nothing (by webhook or by
// polling); five pushed commits within a second, each with its webhook,
// deploy once, the last; a commit pushed with no webhook is found by
// polling; and an earlier commit can be deployed again.
func TestAutodeployFromGit(t *testing.T) {
	agent.Require(t, "git")
	gd := agent.StartGitDaemon(t)
	repo := gd.NewRepo(t, "shop")
	sha1 := repo.Commit(t, map[string]string{"api/app.py": commitApp, "api/v": "1"}, "First version", "Ann Author <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=5s")
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"gitp"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	body, _ := json.Marshal(map[string]string{"yaml": fmt.Sprintf(gitSchema, repo.URL)})
	if code, _, out := s.call(t, "POST", "/projects/gitp/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted {
		t.Fatalf("deploy: %d %s", code, out)
	}
	waitCommit(t, n, sha1, 2*time.Minute)

	code, _, out := s.call(t, "GET", "/projects/gitp/hooks", "")
	var hooks struct{ URL, Secret string }
	if code != 200 || json.Unmarshal([]byte(out), &hooks) != nil {
		t.Fatalf("hooks: %d %s", code, out)
	}
	s.Secret(hooks.Secret)

	// A signed push webhook redeploys api at the pushed commit.
	sha2 := repo.Commit(t, map[string]string{"api/v": "2"}, "Second version\n\nwith a body", "Bob Builder <bob@example.com>")
	arrived := time.Now()
	if code, out := pushHook(t, s, hooks.Secret, repo.URL, sha1, sha2, "d-2", "api/v"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("webhook: %d %s", code, out)
	}
	registered := waitCommit(t, n, sha2, 2*time.Minute)
	// The element's commit, with its author and message as the push's
	// payload gives them, for the canvas.
	if code, _, out := s.call(t, "GET", "/projects/gitp/commits", ""); code != 200 ||
		!strings.Contains(out, `"sha":"`+sha2+`"`) || !strings.Contains(out, `"author":"Pat"`) || !strings.Contains(out, `"message":"pushed"`) {
		t.Errorf("commits: %d %s", code, out)
	}
	healthy := waitAnswer(t, n, sha2, 2*time.Minute)
	t.Logf("webhook to job registered with the new commit: %s; to the new instance answering: %s (the queue settles for 2 s first)",
		registered.Sub(arrived).Round(time.Millisecond), healthy.Sub(arrived).Round(time.Millisecond))

	// A commit outside api's paths deploys nothing.
	sha3 := repo.Commit(t, map[string]string{"docs/readme.md": "docs"}, "Docs only", "Ann Author <ann@example.com>")
	if code, out := pushHook(t, s, hooks.Secret, repo.URL, sha2, sha3, "d-3", "docs/readme.md"); code != http.StatusAccepted || !strings.Contains(out, `"queued":[]`) {
		t.Fatalf("docs webhook: %d %s", code, out)
	}

	// Five pushes within a second, each with its webhook: one deploy, of
	// the last commit.
	var last string
	prev := sha3
	for i := range 5 {
		last = repo.Commit(t, map[string]string{"api/v": fmt.Sprintf("burst %d", i)}, fmt.Sprintf("Burst %d", i), "Cy <cy@example.com>")
		if code, out := pushHook(t, s, hooks.Secret, repo.URL, prev, last, fmt.Sprintf("d-burst-%d", i), "api/v"); code != http.StatusAccepted {
			t.Fatalf("burst webhook %d: %d %s", i, code, out)
		}
		prev = last
	}
	waitCommit(t, n, last, 2*time.Minute)
	waitAnswer(t, n, last, 2*time.Minute)

	// A commit pushed with no webhook is found by polling.
	polled := repo.Commit(t, map[string]string{"api/v": "polled"}, "Polled", "Dee <dee@example.com>")
	waitCommit(t, n, polled, 2*time.Minute)
	waitAnswer(t, n, polled, 2*time.Minute)

	code, _, out = s.call(t, "GET", "/projects/gitp/deployments", "")
	var raw struct {
		Deployments []map[string]any `json:"deployments"`
	}
	if code != 200 || json.Unmarshal([]byte(out), &raw) != nil {
		t.Fatalf("deployments: %d %s", code, out)
	}
	triggers := map[string]int{}
	for _, d := range raw.Deployments {
		triggers[fmt.Sprint(d["trigger"])+"@"+fmt.Sprint(d["git_sha"])]++
	}
	if triggers["webhook@"+sha2] != 1 || triggers["webhook@"+last] != 1 || triggers["poll@"+polled] != 1 || len(raw.Deployments) != 4 {
		t.Errorf("deployments by trigger and commit: %v (want the user's, one webhook at %s, one for the burst at %s, one poll at %s; the docs commit %s none)",
			triggers, sha2[:7], last[:7], polled[:7], sha3[:7])
	}

	// "Redeploy this commit": back to the webhook's commit.
	body, _ = json.Marshal(map[string]string{"element": "api", "sha": sha2})
	if code, _, out := s.call(t, "POST", "/projects/gitp/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("redeploy a commit: %d %s", code, out)
	}
	waitCommit(t, n, sha2, 2*time.Minute)
	waitAnswer(t, n, sha2, 2*time.Minute)
}

// pushHook sends a GitHub push webhook, signed with secret.
func pushHook(t testing.TB, s *served, secret, repoURL, before, after, delivery string, files ...string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": before, "after": after,
		"repository":  map[string]any{"clone_url": repoURL, "git_url": repoURL},
		"pusher":      map[string]any{"name": "pat"},
		"head_commit": map[string]any{"id": after, "message": "pushed", "author": map[string]any{"name": "Pat"}},
		"commits":     []any{map[string]any{"id": after, "added": []string{}, "removed": []string{}, "modified": files}},
	})
	req, _ := http.NewRequest("POST", s.URL+"/hooks/git/gitp", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// waitCommit waits until the job's meta pins sha, and says when.
func waitCommit(t testing.TB, n *agent.Nomad, sha string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		job, _, err := n.Client.Jobs().Info("gitp-api", nil)
		if err == nil && job.Meta["backplane.git_sha"] == sha {
			return time.Now()
		}
		if time.Now().After(deadline) {
			got := ""
			if job != nil {
				got = job.Meta["backplane.git_sha"]
			}
			t.Fatalf("the job does not pin %s within %s (it pins %q; %v)", sha[:7], timeout, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAnswer waits until a running instance answers with sha.
func waitAnswer(t testing.TB, n *agent.Nomad, sha string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		allocs, _, _ := n.Client.Jobs().Allocations("gitp-api", false, nil)
		for _, stub := range allocs {
			if stub.ClientStatus != "running" {
				continue
			}
			a, _, err := n.Client.Allocations().Info(stub.ID, nil)
			if err != nil || a.AllocatedResources == nil {
				continue
			}
			for _, p := range a.AllocatedResources.Shared.Ports {
				if got := httpBody(fmt.Sprintf("http://%s:%d/", p.HostIP, p.Value)); got != "" {
					last = got
					if got == sha {
						return time.Now()
					}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no instance answers %s within %s (last answer %q)", sha[:7], timeout, last)
	return time.Time{}
}

func httpBody(url string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
