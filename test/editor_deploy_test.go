package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/test/agent"
)

// TestEditorDeployInBrowser deploys through the editor against a real Nomad:
// a dev agent with raw_exec, `backplane serve` with NOMAD_ADDR, and
// web/ui/e2e/deploy.e2e.mjs in a real headless Chromium, which signs in
// through the sign-in page as a server admin made through the API, creates
// the project e2e-live, loads a two-element raw_exec schema through the YAML
// view, saves, plans, deploys from the plan dialog, waits for both status
// lights to turn green, checks the deploy history, then changes an env var
// in the inspector and redeploys. Then it gives the worker autoscaling
// (1..3) in the inspector and deploys it, and acts as the Nomad Autoscaler:
// it scales the worker to 3 through Nomad's scale API (hence NOMAD_ADDR in
// its environment) and checks that the node shows the new count and its
// status card the scaling event, live. Afterwards the jobs
// are checked through the Nomad API, so the test does not rely on the UI
// alone. Screenshots go to test/output/editor/ (deploy-*.png).
func TestEditorDeployInBrowser(t *testing.T) {
	b := requireBrowser(t)
	n := agent.StartNomad(t, agent.NomadOptions{})
	s := serve(t, "NOMAD_ADDR="+n.Addr)
	b.run(t, "deploy.e2e.mjs", 5*time.Minute, append(e2eAdmin(t, s, "erin"), "BASE_URL="+s.URL, "NOMAD_ADDR="+n.Addr)...)

	// What the editor did, seen from Nomad. The script deployed revision 2
	// (both jobs, version 0), then revision 3 with an env var on web only
	// (web at version 1, worker unchanged), then revision 4 with autoscaling
	// on the worker (worker at version 1, web unchanged), then scaled the
	// worker to 3 through Nomad's scale API, which registers its job again
	// (worker at version 2, three instances).
	q := &nomad.QueryOptions{Region: n.Region}
	for _, want := range []struct {
		job     string
		version uint64
		count   int
	}{{"e2e-live-web", 1, 1}, {"e2e-live-worker", 2, 3}} {
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
		if k := running(t, n.Client, n.Region, want.job); k != want.count {
			t.Errorf("job %s: %d running allocations, want %d", want.job, k, want.count)
		}
		for _, tg := range j.TaskGroups {
			if got := deref(tg.Count); got != want.count {
				t.Errorf("job %s group %s: count %d, want %d", want.job, deref(tg.Name), got, want.count)
			}
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

	// The worker is autoscaled 1..3, and Nomad recorded the scaling event
	// the script sent as the autoscaler.
	wj, _, err := n.Client.Jobs().Info("e2e-live-worker", q)
	if err != nil {
		t.Fatal(err)
	}
	if sp := wj.TaskGroups[0].Scaling; sp == nil || deref(sp.Min) != 1 || deref(sp.Max) != 3 {
		t.Errorf("the worker group's scaling policy is %+v, want min 1 max 3", sp)
	}
	scale, _, err := n.Client.Jobs().ScaleStatus("e2e-live-worker", q)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := scale.TaskGroups["worker"]; !ok || g.Desired != 3 || len(g.Events) == 0 || g.Events[0].Message != "scaling up because factor is 3.000000" {
		t.Errorf("the worker's scale status: %+v", scale.TaskGroups)
	}

	// And the server's own record agrees: three succeeded deploys (scaling
	// is not a deploy), both elements healthy, the worker at the count the
	// autoscaler chose, with the event.
	code, _, body := s.call(t, "GET", "/projects/e2e-live/deployments", "")
	if code != 200 || strings.Count(body, `"status":"succeeded"`) != 3 {
		t.Errorf("deployments: %d %s", code, body)
	}
	var status struct {
		Statuses []jobs.Status `json:"statuses"`
	}
	code, _, body = s.call(t, "GET", "/projects/e2e-live/status", "")
	if code != 200 || json.Unmarshal([]byte(body), &status) != nil {
		t.Fatalf("status: %d %s", code, body)
	}
	for _, st := range status.Statuses {
		if st.State != jobs.StateHealthy {
			t.Errorf("status of %s: %s, want healthy", st.Element, st.State)
		}
		switch st.Element {
		case "web":
			if st.Scaling != nil || st.Desired != 1 {
				t.Errorf("status of web: desired %d, scaling %+v; want 1 and none", st.Desired, st.Scaling)
			}
		case "worker":
			sc := st.Scaling
			if st.Desired != 3 || st.Running != 3 || sc == nil || sc.Min != 1 || sc.Max != 3 || len(sc.Events) == 0 ||
				sc.Events[0].By != "autoscaler" || deref(sc.Events[0].To) != 3 || sc.Events[0].From != 1 {
				t.Errorf("status of worker: %s", body)
			}
		}
	}
	if len(status.Statuses) != 2 {
		t.Errorf("status: %d elements, want 2: %s", len(status.Statuses), body)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
