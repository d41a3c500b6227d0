package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/translator"
)

const twoRegionSchema = `version: 1
project: geo
regions:
  eu: { datacenters: [dc1] }
  us: { datacenters: [dc1] }
defaults: { region: eu, driver: raw_exec }
elements:
  - id: front
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8080
    env: { RELEASE: "{{RELEASE}}" }
    placement: { regions: [eu, us] }
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: search
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 9200
    placement: { regions: [us] }
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: ledger
    kind: worker
    command: echo "front is $FRONT_URL"; exec sleep 3600
    resources: { cpu: 20, memory: 32 }
connections:
  - { from: ledger, to: front }
`

func federate(t *testing.T, a, b *agent.Nomad) {
	t.Helper()
	if _, err := a.Client.Agent().Join(b.Serf); err != nil {
		t.Fatalf("join %s to %s: %v", a.Region, b.Region, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		regions, err := a.Client.Regions().List()
		if err == nil && len(regions) == 2 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("regions did not federate")
}

// TestTwoFederatedRegions deploys to two regions, loses one, and converges
// when it comes back.
func TestTwoFederatedRegions(t *testing.T) {
	eu := agent.StartNomad(t, agent.NomadOptions{Region: "eu"})
	us := agent.StartNomad(t, agent.NomadOptions{Region: "us"})
	federate(t, us, eu)
	c := connect(t, jobs.Config{NomadAddr: eu.Addr, RequestTimeout: 10 * time.Second})
	bundle := func(release string) *translator.Bundle {
		return bundleFor(t, strings.ReplaceAll(twoRegionSchema, "{{RELEASE}}", release), translator.Options{})
	}
	healthy := func(_ jobs.Target, s jobs.Status) bool { return s.State == jobs.StateHealthy }

	b := bundle("1")
	_, res := deploy(t, c, b, jobs.ApplyOptions{})
	if !res.OK() || len(res.Items) != 4 {
		t.Fatalf("first deploy: %+v", res.Items)
	}
	waitStates(t, c, jobs.Targets(b), 2*time.Minute, healthy)
	if _, _, err := us.Client.Jobs().Info("geo-search", nil); err != nil {
		t.Fatalf("geo-search is not in region us: %v", err)
	}

	// One region goes down: the other still deploys, and the summary says
	// which region failed and why.
	us.Stop()
	b = bundle("2")
	_, res = deploy(t, c, b, jobs.ApplyOptions{})
	if res.OK() {
		t.Fatal("apply with a region down reported success")
	}
	for _, it := range res.Items {
		switch it.Region {
		case "eu":
			if it.Element == "front" && it.Outcome != jobs.OutcomeRegistered || it.Element == "ledger" && it.Outcome != jobs.OutcomeUnchanged {
				t.Errorf("eu %s: %s %s", it.Element, it.Outcome, it.Err)
			}
		case "us":
			if it.Outcome != jobs.OutcomeFailed || !strings.Contains(it.Err, "region us") {
				t.Errorf("us %s: %s %q, want failed naming the region", it.Element, it.Outcome, it.Err)
			}
		}
	}
	j, _, err := eu.Client.Jobs().Info("geo-front", nil)
	if err != nil || j.Meta == nil || *j.Version != 1 {
		t.Fatalf("geo-front in eu was not updated: %v", err)
	}

	// The region comes back (empty: a dev agent keeps no state); deploying
	// again converges.
	us.Restart(t)
	federate(t, us, eu)
	_, res = deploy(t, c, b, jobs.ApplyOptions{})
	if !res.OK() {
		t.Fatalf("second deploy: %+v", res.Items)
	}
	for _, it := range res.Items {
		want := jobs.OutcomeUnchanged
		if it.Region == "us" {
			want = jobs.OutcomeRegistered
		}
		if it.Outcome != want {
			t.Errorf("%s in %s: %s, want %s", it.Element, it.Region, it.Outcome, want)
		}
	}
	waitStates(t, c, jobs.Targets(b), 2*time.Minute, healthy)
	ctx := context.Background()
	for _, s := range c.StatusAll(ctx, jobs.Targets(b)) {
		if s.State != jobs.StateHealthy {
			t.Errorf("%s in %s: %s", s.Element, s.Region, s.State)
		}
	}
}
