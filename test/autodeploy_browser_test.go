package test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// TestAutodeployBrowser follows a push in the editor, in a real headless
// Chromium, against a real `backplane serve`, a real Nomad and a real git
// repository served by git daemon. The element api (built from source,
// raw_exec) is deployed by hand; a deployer has the project open in the
// editor; a commit is pushed and its signed GitHub webhook delivered. With
// no reload, api's node then shows the new commit (its short SHA and the
// first line of its message, the full SHA and who deployed it in the
// tooltip), and the deploy history lists the webhook's deploy of that
// commit. Skipped without chromium, node, the built editor, git or nomad.
// Screenshots go to test/output/editor/autodeploy-*.png.
func TestAutodeployBrowser(t *testing.T) {
	b := requireBrowser(t)
	agent.Require(t, "git")
	agent.Require(t, "nomad")
	gd := agent.StartGitDaemon(t)
	repo := gd.NewRepo(t, "shop")
	sha1 := repo.Commit(t, map[string]string{"api/app.py": commitApp, "api/v": "1"}, "First version", "Ann Author <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})
	// No polling: the webhook alone moves api.
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0")
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

	syncDir := t.TempDir()
	script := filepath.Join(t.TempDir(), "autodeploy.e2e.mjs")
	lib := url.URL{Scheme: "file", Path: filepath.Join(b.ui, "e2e", "lib.mjs")}
	if err := os.WriteFile(script, []byte(strings.ReplaceAll(autodeployE2E, "LIB_URL", lib.String())), 0o644); err != nil {
		t.Fatal(err)
	}
	suite := b.start(t, script, append(e2eAdmin(t, s, "gale"),
		"BASE_URL="+s.URL, "E2E_SLUG=gitp", "E2E_ELEMENT=api", "E2E_SYNC="+syncDir, "E2E_FIRST_SHA="+sha1)...)

	// The push happens once the editor is open on the project.
	suite.waitFile(t, filepath.Join(syncDir, "ready"), 3*time.Minute)
	const message = "Count the orders per minute\n\nThe body of the message, which the node does not show."
	sha2 := repo.Commit(t, map[string]string{"api/v": "2"}, message, "Bob Builder <bob@example.com>")
	arrived := time.Now()
	if code, out := githubPush(t, s, "gitp", hooks.Secret, repo.URL, sha1, sha2, "browser-1", "pat", "Bob Builder", message, "api/v"); code != http.StatusAccepted || !strings.Contains(out, `"queued":["api"]`) {
		t.Fatalf("webhook: %d %s", code, out)
	}
	pushed, _ := json.Marshal(map[string]string{"sha": sha2, "short": sha2[:7], "message": "Count the orders per minute", "deployer": "webhook:pat", "author": "Bob Builder"})
	if err := os.WriteFile(filepath.Join(syncDir, "pushed.json.tmp"), pushed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(syncDir, "pushed.json.tmp"), filepath.Join(syncDir, "pushed.json")); err != nil {
		t.Fatal(err)
	}
	registered := waitCommit(t, n, sha2, 2*time.Minute)
	t.Logf("webhook to job registered with the new commit: %s (the queue settles for 2 s first)", registered.Sub(arrived).Round(time.Millisecond))
	suite.wait(t, 4*time.Minute)

	// What the browser saw is what the server says.
	code, _, out = s.call(t, "GET", "/projects/gitp/deployments", "")
	var list struct {
		Deployments []struct {
			Trigger, Status, Author string
			GitSHA                  string `json:"git_sha"`
		} `json:"deployments"`
	}
	if code != 200 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("deployments: %d %s", code, out)
	}
	hooked := 0
	for _, d := range list.Deployments {
		if d.Trigger == "webhook" {
			hooked++
			if d.GitSHA != sha2 || d.Status != "succeeded" || d.Author != "webhook:pat" {
				t.Errorf("webhook deployment %+v, want a succeeded deploy of %s by webhook:pat", d, sha2[:7])
			}
		}
	}
	if hooked != 1 {
		t.Errorf("%d webhook deployments, want 1: %s", hooked, out)
	}
}

// githubPush sends a GitHub push webhook for project, signed with secret,
// as GitHub sends it: the head commit with its message and author, and
// who pushed.
func githubPush(t testing.TB, s *served, project, secret, repoURL, before, after, delivery, pusher, author, message string, files ...string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": before, "after": after,
		"repository":  map[string]any{"clone_url": repoURL, "git_url": repoURL},
		"pusher":      map[string]any{"name": pusher},
		"head_commit": map[string]any{"id": after, "message": message, "author": map[string]any{"name": author}},
		"commits":     []any{map[string]any{"id": after, "message": message, "added": []string{}, "removed": []string{}, "modified": files}},
	})
	req, _ := http.NewRequest("POST", s.URL+"/hooks/git/"+project, bytes.NewReader(body))
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

// runningSuite is a browser suite started in the background, for a test
// that acts while the browser watches.
type runningSuite struct {
	script  string
	started time.Time
	mu      sync.Mutex
	out     bytes.Buffer
	done    chan struct{}
	err     error
}

func (r *runningSuite) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(p)
}

func (r *runningSuite) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// start runs the script (a path) like run does, but returns at once; the
// suite is killed at cleanup if still running.
func (b browserSuite) start(t *testing.T, script string, env ...string) *runningSuite {
	t.Helper()
	cmd := exec.Command(b.node, script)
	cmd.Dir = b.ui
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+b.chromium, "OUT_DIR="+b.out), env...)
	r := &runningSuite{script: filepath.Base(script), started: time.Now(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r, r
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// waitFile waits until the suite writes path, failing the test if the
// suite ends first or timeout passes.
func (r *runningSuite) waitFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-r.done:
			t.Fatalf("the browser suite %s ended (%v) before writing %s:\n%s", r.script, r.err, filepath.Base(path), r.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser suite %s did not write %s within %s:\n%s", r.script, filepath.Base(path), timeout, r.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wait waits for the suite to end, logs its output, and fails the test if
// it failed or outlives timeout.
func (r *runningSuite) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		t.Fatalf("the browser suite %s did not finish in %s:\n%s", r.script, timeout, r.output())
	}
	t.Logf("browser suite %s output (%s):\n%s", r.script, time.Since(r.started).Round(100*time.Millisecond), r.output())
	if r.err != nil {
		t.Fatalf("browser suite %s failed: %v", r.script, r.err)
	}
}

// autodeployE2E is the browser side of TestAutodeployBrowser, on the
// browser suites' lib.mjs (LIB_URL). It talks to the test through files in
// E2E_SYNC: it writes "ready" once the editor shows the project, and reads
// "pushed.json" ({sha, short, message, deployer}) once the test has pushed
// and delivered the webhook.
const autodeployE2E = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { check, gone, hasText, page, run, secs, setup, shot, signIn, step, textOf, tid, visible, waitFor } from 'LIB_URL';

const SLUG = process.env.E2E_SLUG;
const EL = process.env.E2E_ELEMENT;
const SYNC = process.env.E2E_SYNC;
const FIRST = process.env.E2E_FIRST_SHA;
setup({ name: 'autodeploy.e2e', slug: SLUG });

let pushed;
let pushedAt = 0;
let navigations = 0;

step('1. sign in and open the project: api is on the canvas', async () => {
  await signIn(page, undefined, undefined, '/p/' + SLUG);
  await visible(page, 'node-' + EL, 30_000);
  // The first deploy was made by hand: it pinned the branch's head, but
  // records no commit in the deployment the node reads.
  const shown = (await tid(page, 'node-commit-' + EL).count()) ? await tid(page, 'node-commit-' + EL).getAttribute('data-sha') : '(none)';
  console.log('    before the push the node shows the commit ' + shown + ' (the element runs ' + FIRST.slice(0, 7) + ')');
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  await page.evaluate(() => {
    window.__autodeployMark = 'no reload';
  });
  await shot(page, 'autodeploy-before.png');
  writeFileSync(path.join(SYNC, 'ready'), 'ready');
});

step('2. the test pushes a commit and delivers its webhook', async () => {
  const file = path.join(SYNC, 'pushed.json');
  await waitFor(() => existsSync(file), 'the test to push a commit', 120_000, 50);
  pushedAt = Date.now();
  pushed = JSON.parse(readFileSync(file, 'utf8'));
  console.log('    pushed ' + pushed.short + ' "' + pushed.message + '"');
});

step('3. without a reload api\'s node shows the new commit', async () => {
  const id = 'node-commit-' + EL;
  await waitFor(async () => (await tid(page, id).count()) > 0 && (await tid(page, id).getAttribute('data-sha')) === pushed.sha,
    'api\'s node to show the commit ' + pushed.short, 120_000, 100);
  console.log('    the node shows ' + pushed.short + ' ' + secs(Date.now() - pushedAt) + ' after the webhook');
  const text = await textOf(page, id);
  check(text.includes(pushed.short), 'the node\'s commit says "' + text + '", want the short SHA ' + pushed.short);
  check(text.includes(pushed.message), 'the node\'s commit says "' + text + '", want the first line of the message "' + pushed.message + '"');
  check(!text.includes('body of the message'), 'the node\'s commit shows more than the first line: "' + text + '"');
  await waitFor(async () => (await textOf(page, id)).includes(pushed.author), 'the node to name the commit\'s author ' + pushed.author, 30_000, 100);
  check((await tid(page, id).getAttribute('data-author')) === pushed.author, 'the node\'s commit author is not ' + pushed.author);
  const title = (await tid(page, id).getAttribute('title')) ?? '';
  check(title.includes(pushed.sha), 'the commit\'s tooltip "' + title + '" lacks the full SHA');
  check(title.includes('deployed by ' + pushed.deployer), 'the commit\'s tooltip "' + title + '" does not say it was deployed by ' + pushed.deployer);
  const mark = await page.evaluate(() => window.__autodeployMark);
  check(mark === 'no reload' && navigations === 0, 'the page was reloaded or navigated (' + navigations + ' navigations, mark ' + mark + ')');
  await hasText(page, id, pushed.short);
  await shot(page, 'autodeploy-node.png');
});

step('4. the deploy history lists the webhook\'s deploy of that commit', async () => {
  await tid(page, 'more').click();
  await visible(page, 'more-menu');
  await tid(page, 'open-deploys').click();
  await gone(page, 'more-menu');
  await visible(page, 'deployments');
  const entry = await waitFor(async () => {
    const list = await page.locator('[data-testid="deployments"] li.deploy').evaluateAll((els) =>
      els.map((e) => ({
        id: (e.getAttribute('data-testid') ?? '').replace(/^deployment-/, ''),
        trigger: e.querySelector('[data-testid^="deploy-trigger-"]')?.getAttribute('data-trigger') ?? '',
        triggerText: (e.querySelector('[data-testid^="deploy-trigger-"]')?.textContent ?? '').trim(),
        commit: (e.querySelector('[data-testid^="deploy-commit-"]')?.textContent ?? '').trim(),
        commitTitle: e.querySelector('[data-testid^="deploy-commit-"]')?.getAttribute('title') ?? '',
        status: (e.querySelector('[data-testid^="deployment-status-"]')?.textContent ?? '').trim(),
        text: (e.textContent ?? '').replace(/\s+/g, ' ').trim(),
      })),
    );
    const hooked = list.filter((d) => d.trigger === 'webhook');
    return hooked.length === 1 && hooked[0].status === 'succeeded' ? { hooked: hooked[0], all: list } : false;
  }, 'one succeeded webhook deploy in the history', 30_000);
  const d = entry.hooked;
  console.log('    history: ' + entry.all.map((e) => e.trigger + ' ' + (e.commit || '-') + ' ' + e.status).join(', '));
  check(d.triggerText === 'webhook', 'the deploy\'s trigger reads "' + d.triggerText + '", want "webhook"');
  check(d.commit === pushed.short && d.commitTitle === pushed.sha, 'the webhook deploy names the commit ' + d.commit + ' (' + d.commitTitle + '), want ' + pushed.sha);
  check(d.text.includes(pushed.deployer), 'the webhook deploy "' + d.text + '" does not name ' + pushed.deployer);
  check(d.text.includes(pushed.message), 'the webhook deploy "' + d.text + '" does not carry the message "' + pushed.message + '"');
  check(entry.all.length === 2, 'the history lists ' + entry.all.length + ' deployments, want the first by hand and the webhook\'s: ' + JSON.stringify(entry.all));
  await shot(page, 'autodeploy-history.png');
});

await run({ pageLabel: 'editor' });
`
