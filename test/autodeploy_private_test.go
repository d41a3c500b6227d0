package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

const privateSchema = `version: 1
project: gitp
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.python
    source:
      repo: %q
      branch: main
      autodeploy: true
      start: "exec python3 app.py"
      auth: { username: alice, token_secret: GIT_TOKEN }
    port: 8000
    resources: { cpu: 50, memory: 64 }
`

// TestAutodeployPrivateRepo follows a private repository (smart HTTP with
// basic auth, served by git http-backend) whose token is a project secret
// in a real Vault: the first deploy pins the branch's head and polling
// finds the next commit, both through the credentials; the token shows in
// no job spec, answer or log line.
func TestAutodeployPrivateRepo(t *testing.T) {
	agent.Require(t, "git")
	gd := agent.StartGitDaemon(t)
	const token = "ghp_private-token-4f9a21"
	srv := gd.ServeHTTP(t, "alice", token)
	repo := gd.NewRepo(t, "private")
	sha1 := repo.Commit(t, map[string]string{"app.py": commitApp}, "First version", "Ann Author <ann@example.com>")
	n := agent.StartNomad(t, agent.NomadOptions{})
	v := agent.StartVault(t)
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=",
		"VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+v.Token, "BACKPLANE_GIT_POLL=5s")
	s.Secret(token)
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"gitp"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	url := srv.URL + "/git/private.git"
	yaml := fmt.Sprintf(privateSchema, url)
	if code, _, out := s.call(t, "PUT", "/projects/gitp/schema", yaml, "If-Match", "*", "Content-Type", "application/yaml"); code != http.StatusOK {
		t.Fatalf("save: %d %s", code, out)
	}
	// The project's secrets list names the token before it is set.
	if code, _, out := s.call(t, "GET", "/projects/gitp/secrets/_project", ""); code != http.StatusOK || !strings.Contains(out, "GIT_TOKEN") {
		t.Fatalf("project secrets: %d %s", code, out)
	}
	if code, _, out := s.call(t, "PUT", "/projects/gitp/secrets/_project/GIT_TOKEN", token); code != http.StatusOK {
		t.Fatalf("set the token: %d %s", code, out)
	}
	if code, _, out := s.call(t, "POST", "/projects/gitp/deploy", `{}`, "Content-Type", "application/json"); code != http.StatusAccepted {
		t.Fatalf("deploy: %d %s", code, out)
	}
	// Pinned through the credentials (anonymously the branch is unreadable).
	waitCommit(t, n, sha1, time.Minute)

	sha2 := repo.Commit(t, map[string]string{"app.py": commitApp + "\n# two\n"}, "Second version", "Bob Builder <bob@example.com>")
	waitCommit(t, n, sha2, time.Minute)

	job, _, err := n.Client.Jobs().Info("gitp-api", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(job)
	if strings.Contains(string(spec), token) {
		t.Errorf("the token is in the job spec")
	}
	code, _, out := s.call(t, "GET", "/projects/gitp/deployments", "")
	if code != http.StatusOK || !strings.Contains(out, `"trigger":"poll"`) || !strings.Contains(out, sha2) {
		t.Errorf("deployments: %d %s", code, out)
	}
	// serve's log and database are checked for the token at cleanup.
}
