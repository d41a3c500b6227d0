package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/translator"
)

// e2eSchema is five elements running real processes under raw_exec, joined
// by connections. {{WEB_GREETING}} and {{API_COUNT}} are filled per step.
const e2eSchema = `version: 1
project: e2e
defaults: { driver: raw_exec }
elements:
  - id: web
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    env: { GREETING: "{{WEB_GREETING}}" }
    health: { http: /, interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: api
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8001
    scale: { count: {{API_COUNT}} }
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: echo
    kind: worker
    command: |
      echo "WEB_URL=$WEB_URL"
      echo "API=$API_ADDR"
      exec sleep 3600
    resources: { cpu: 20, memory: 32 }
  - id: ticker
    kind: worker
    command: while true; do echo tick; sleep 5; done
    resources: { cpu: 20, memory: 32 }
  - id: report
    kind: cron
    schedule: "0 3 * * *"
    command: echo "$API_URL"
connections:
  - { from: echo, to: web }
  - { from: echo, to: api, env: API_ADDR }
  - { from: web, to: api }
  - { from: report, to: api }
`

func e2eBundle(t *testing.T, greeting string, apiCount int) *translator.Bundle {
	src := strings.NewReplacer("{{WEB_GREETING}}", greeting, "{{API_COUNT}}", fmt.Sprint(apiCount)).Replace(e2eSchema)
	return bundleFor(t, src, translator.Options{})
}

func versionOf(t *testing.T, n *nomad.Client, jobID string) uint64 {
	t.Helper()
	j, _, err := n.Jobs().Info(jobID, nil)
	if err != nil {
		t.Fatalf("info %s: %v", jobID, err)
	}
	return *j.Version
}

// TestDeployEndToEnd deploys a five-element schema to a real Nomad and
// follows it through an env change, a scale change, a rollback and a
// destroy.
func TestDeployEndToEnd(t *testing.T) {
	n := agent.StartNomad(t, agent.NomadOptions{})
	c := connect(t, jobs.Config{NomadAddr: n.Addr})
	periodic := map[string]bool{"report": true}

	// 1. Every element reaches healthy (the cron job: running, a schedule).
	b := e2eBundle(t, "hello", 1)
	_, res := deploy(t, c, b, jobs.ApplyOptions{})
	if !res.OK() {
		t.Fatalf("apply: %+v", res.Items)
	}
	for _, it := range res.Items {
		if it.Outcome != jobs.OutcomeRegistered {
			t.Fatalf("%s: %s, want registered", it.JobID, it.Outcome)
		}
	}
	targets := jobs.Targets(b)
	if len(targets) != 5 {
		t.Fatalf("%d targets", len(targets))
	}
	waitStates(t, c, targets, 2*time.Minute, healthyOrRunning(periodic))

	// 2. The connection env vars reach the from element, pointing at the
	// address Nomad's service discovery has for the target.
	regs, _, err := n.Client.Services().Get("e2e-web", nil)
	if err != nil || len(regs) != 1 {
		t.Fatalf("service e2e-web: %v %v", regs, err)
	}
	want := fmt.Sprintf("WEB_URL=http://%s:%d", regs[0].Address, regs[0].Port)
	log := allocLog(t, n.Client, n.Region, "e2e-echo", "echo", want, time.Minute)
	if !strings.Contains(log, "API=http://") {
		t.Fatalf("renamed connection var missing:\n%s", log)
	}

	// 3. Changing one element's env redeploys that element only.
	before := map[string]uint64{}
	for _, tg := range targets {
		before[tg.JobID] = versionOf(t, n.Client, tg.JobID)
	}
	b = e2eBundle(t, "bonjour", 1)
	plan, res := deploy(t, c, b, jobs.ApplyOptions{})
	for _, it := range plan.Items {
		wantAction := jobs.ActionUnchanged
		if it.Element == "web" {
			wantAction = jobs.ActionUpdate
		}
		if it.Action != wantAction {
			t.Errorf("plan %s: %s, want %s (%v)", it.Element, it.Action, wantAction, it.Changes)
		}
	}
	for _, it := range res.Items {
		if (it.Element == "web") != (it.Outcome == jobs.OutcomeRegistered) {
			t.Errorf("apply %s: %s", it.Element, it.Outcome)
		}
	}
	for _, tg := range targets {
		v := versionOf(t, n.Client, tg.JobID)
		if tg.Element == "web" && v != before[tg.JobID]+1 || tg.Element != "web" && v != before[tg.JobID] {
			t.Errorf("%s: version %d, was %d", tg.Element, v, before[tg.JobID])
		}
	}
	waitStates(t, c, targets, 2*time.Minute, healthyOrRunning(periodic))

	// 4. Scale changes the count.
	b = e2eBundle(t, "bonjour", 2)
	deploy(t, c, b, jobs.ApplyOptions{})
	st := waitStates(t, c, jobs.Targets(b, "api"), 2*time.Minute, func(_ jobs.Target, s jobs.Status) bool {
		return s.State == jobs.StateHealthy && s.Running == 2
	})
	if s := st["global/e2e-api"]; s.Desired != 2 || running(t, n.Client, n.Region, "e2e-api") != 2 {
		t.Fatalf("api after scale: %+v", s)
	}

	// 5. Rollback restores the previous version: one api again.
	scaled := versionOf(t, n.Client, "e2e-api")
	ctx := context.Background()
	for _, r := range c.Rollback(ctx, jobs.Targets(b, "api"), nil) {
		if r.Err != "" {
			t.Fatalf("rollback: %s", r.Err)
		}
		if r.Version != scaled-1 {
			t.Errorf("rolled back to %d, want %d", r.Version, scaled-1)
		}
	}
	waitStates(t, c, jobs.Targets(b, "api"), 2*time.Minute, func(_ jobs.Target, s jobs.Status) bool {
		return s.State == jobs.StateHealthy && s.Desired == 1 && s.Running == 1
	})
	j, _, _ := n.Client.Jobs().Info("e2e-api", nil)
	if *j.TaskGroups[0].Count != 1 {
		t.Errorf("count after rollback %d, want 1", *j.TaskGroups[0].Count)
	}

	// 6. Destroy leaves nothing running.
	for _, r := range c.Destroy(ctx, jobs.Targets(b), true) {
		if r.Err != "" {
			t.Fatalf("destroy: %s", r.Err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		left := 0
		allocs, _, _ := n.Client.Allocations().List(nil)
		for _, a := range allocs {
			if a.ClientStatus == "running" || a.ClientStatus == "pending" {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d allocations still running after destroy", left)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, s := range c.StatusAll(ctx, targets) {
		if s.State != jobs.StateStopped {
			t.Errorf("%s after destroy: %s", s.Element, s.State)
		}
	}
}

// TestConflictIsReportedNotClobbered changes a job directly in Nomad
// between plan and apply.
func TestConflictIsReportedNotClobbered(t *testing.T) {
	n := agent.StartNomad(t, agent.NomadOptions{})
	c := connect(t, jobs.Config{NomadAddr: n.Addr})
	b := e2eBundle(t, "hello", 1)
	deploy(t, c, b, jobs.ApplyOptions{})

	b2 := e2eBundle(t, "changed", 1)
	ctx := context.Background()
	plan, err := c.Plan(ctx, b2, jobs.PlanOptions{Elements: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else changes the job in between.
	j, _, err := n.Client.Jobs().Info("e2e-web", nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Meta["changed-by"] = "someone else"
	if _, _, err := n.Client.Jobs().Register(j, nil); err != nil {
		t.Fatal(err)
	}
	res, err := c.Apply(ctx, plan, jobs.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Outcome != jobs.OutcomeConflict || res.OK() {
		t.Fatalf("apply after a concurrent change: %+v", res.Items[0])
	}
	if !strings.Contains(res.Items[0].Err, "e2e-web") || !strings.Contains(res.Items[0].Err, "plan again") {
		t.Errorf("conflict message: %s", res.Items[0].Err)
	}
	j, _, _ = n.Client.Jobs().Info("e2e-web", nil)
	if j.Meta["changed-by"] != "someone else" {
		t.Fatal("the concurrent change was overwritten")
	}
}
