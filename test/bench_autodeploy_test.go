package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// BenchmarkWebhookDeploy measures a push webhook's way to a running
// instance on a real Nomad, from a real git repository: each iteration
// commits, sends the signed webhook and waits until an instance answers
// with the new commit. It reports medians over the iterations (run with
// -benchtime 5x):
//
//   - queue-ms: webhook arrival to the deploy's start (the queue's settle
//     time, BACKPLANE_GIT_SETTLE, 2 s by default, plus the claim);
//   - deploy-ms: the deploy's start to its end (translate, plan, register
//     with Nomad): Backplane's share once the burst has settled;
//   - registered-ms: arrival to the job seen registered with the new commit;
//   - answering-ms: arrival to a new instance answering with the commit
//     (Nomad placing it, fetching the code, starting it).
func BenchmarkWebhookDeploy(b *testing.B) {
	agent.Require(b, "git")
	gd := agent.StartGitDaemon(b)
	repo := gd.NewRepo(b, "bench")
	prev := repo.Commit(b, map[string]string{"api/app.py": commitApp, "api/v": "0"}, "Start", "Ann <ann@example.com>")
	n := agent.StartNomad(b, agent.NomadOptions{})
	s := serve(b, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0")
	if code, _, out := s.call(b, "POST", "/projects", `{"slug":"gitp"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		b.Fatalf("create project: %d %s", code, out)
	}
	body, _ := json.Marshal(map[string]string{"yaml": fmt.Sprintf(gitSchema, repo.URL)})
	if code, _, out := s.call(b, "POST", "/projects/gitp/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted {
		b.Fatalf("deploy: %d %s", code, out)
	}
	waitAnswer(b, n, prev, 2*time.Minute)
	_, _, out := s.call(b, "GET", "/projects/gitp/hooks", "")
	var hooks struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &hooks); err != nil {
		b.Fatal(err)
	}
	s.Secret(hooks.Secret)

	var queue, deploy, registered, answering []time.Duration
	for i := 0; b.Loop(); i++ {
		sha := repo.Commit(b, map[string]string{"api/v": fmt.Sprint(i + 1)}, fmt.Sprintf("Change %d", i+1), "Bob <bob@example.com>")
		arrived := time.Now()
		if code, out := pushHook(b, s, hooks.Secret, repo.URL, prev, sha, fmt.Sprintf("bench-%d", i), "api/v"); code != http.StatusAccepted {
			b.Fatalf("webhook: %d %s", code, out)
		}
		reg := waitCommit(b, n, sha, 2*time.Minute)
		ans := waitAnswer(b, n, sha, 2*time.Minute)
		registered = append(registered, reg.Sub(arrived))
		answering = append(answering, ans.Sub(arrived))
		started, finished := deploymentTimes(b, s, sha)
		queue = append(queue, started.Sub(arrived))
		deploy = append(deploy, finished.Sub(started))
		prev = sha
	}
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"queue-ms", queue}, {"deploy-ms", deploy}, {"registered-ms", registered}, {"answering-ms", answering}} {
		slices.Sort(m.ds)
		b.ReportMetric(float64(m.ds[len(m.ds)/2].Microseconds())/1000, m.name)
	}
	b.ReportMetric(0, "ns/op")
}

// deploymentTimes returns when serve started and finished the deploy of
// commit sha, as its deployment record says.
func deploymentTimes(b *testing.B, s *served, sha string) (time.Time, time.Time) {
	b.Helper()
	code, _, out := s.call(b, "GET", "/projects/gitp/deployments", "")
	var raw struct {
		Deployments []struct {
			GitSHA    string    `json:"git_sha"`
			CreatedAt time.Time `json:"created_at"`
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"deployments"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(out), &raw) != nil {
		b.Fatalf("deployments: %d %s", code, out)
	}
	for _, d := range raw.Deployments {
		if d.GitSHA == sha {
			return d.CreatedAt, d.UpdatedAt
		}
	}
	b.Fatalf("no deployment of %s in %s", sha[:7], out)
	return time.Time{}, time.Time{}
}
