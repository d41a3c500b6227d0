package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

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

// crossRegionSchema puts api in us and db in eu: api's DB_URL can only come
// from Consul, across the WAN. front is in us with api, an edge that stays
// on Nomad's service discovery. Region eu maps to the Consul datacenter
// eu-west; us keeps the default, its own name.
const crossRegionSchema = `version: 1
project: xr
regions:
  eu: { datacenters: [dc1], consul_datacenter: eu-west }
  us: { datacenters: [dc1] }
defaults: { region: eu, driver: raw_exec }
elements:
  - id: db
    kind: app.command
    command: mkdir -p www && echo eu-db-ok > www/marker.txt && exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory www
    port: 9000
    health: { http: /marker.txt, interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: api
    kind: app.command
    command: |
      echo "DB_URL=$DB_URL"
      python3 -c 'import os, urllib.request; print("fetched " + urllib.request.urlopen(os.environ["DB_URL"] + "/marker.txt", timeout=5).read().decode().strip())' || echo "fetch failed"
      exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8080
    placement: { regions: [us] }
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
  - id: front
    kind: worker
    command: echo "API_URL=$API_URL"; exec sleep 3600
    placement: { regions: [us] }
    resources: { cpu: 20, memory: 32 }
connections:
  - { from: api, to: db, env: DB_URL }
  - { from: front, to: api, env: API_URL }
`

// TestTwoFederatedRegions runs two federated Nomad regions, each with its
// own Consul datacenter, WAN-joined. A connection across them resolves
// through Consul and carries a request; then one region goes down, a deploy
// fails there alone, and the project converges once it is back.
func TestTwoFederatedRegions(t *testing.T) {
	consulEU := agent.StartConsulDC(t, agent.ConsulOptions{Datacenter: "eu-west"})
	consulUS := agent.StartConsulDC(t, agent.ConsulOptions{Datacenter: "us", JoinWAN: consulEU.SerfWAN})
	eu := agent.StartNomad(t, agent.NomadOptions{Region: "eu", ConsulAddr: consulEU.Addr})
	us := agent.StartNomad(t, agent.NomadOptions{Region: "us", ConsulAddr: consulUS.Addr})
	federate(t, us, eu)

	t.Run("a connection across regions resolves through Consul", func(t *testing.T) {
		crossRegionConnection(t, eu, us, consulEU)
	})
	if t.Failed() {
		return
	}
	t.Run("a region that is down fails alone and converges when back", func(t *testing.T) {
		regionOutage(t, eu, us)
	})
}

// crossRegionConnection deploys crossRegionSchema with the CLI, as a user
// would, and checks what the processes see.
func crossRegionConnection(t *testing.T, eu, us *agent.Nomad, consulEU *agent.Consul) {
	file := filepath.Join(t.TempDir(), "backplane.yaml")
	if err := os.WriteFile(file, []byte(crossRegionSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NOMAD_ADDR=" + eu.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR="}
	code, out := runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "3m")
	if code != 0 {
		t.Fatalf("deploy --wait exited %d:\n%s", code, out)
	}
	defer func() {
		if code, out := runCLI(t, env, "", "destroy", "-f", file, "--purge"); code != 0 {
			t.Errorf("destroy exited %d:\n%s", code, out)
		}
	}()

	// db, reached from us, registered in eu's Consul datacenter; api,
	// reached only within us, stayed in Nomad's catalog.
	provider := func(n *agent.Nomad, jobID string) string {
		j, _, err := n.Client.Jobs().Info(jobID, &nomad.QueryOptions{Region: n.Region})
		if err != nil {
			t.Fatalf("job %s in %s: %v", jobID, n.Region, err)
		}
		return j.TaskGroups[0].Services[0].Provider
	}
	if p := provider(eu, "xr-db"); p != "consul" {
		t.Errorf("xr-db registers with provider %q, want consul", p)
	}
	if p := provider(us, "xr-api"); p != "nomad" {
		t.Errorf("xr-api registers with provider %q, want nomad", p)
	}

	// api in us holds eu/db's address, and a request through it succeeds.
	cc, err := consul.NewClient(&consul.Config{Address: consulEU.Addr})
	if err != nil {
		t.Fatal(err)
	}
	var entries []*consul.ServiceEntry
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		entries, _, err = cc.Health().Service("xr-db", "", true, &consul.QueryOptions{Datacenter: "eu-west"})
		if err == nil && len(entries) == 1 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(entries) != 1 {
		t.Fatalf("xr-db healthy in Consul eu-west: %d entries, %v", len(entries), err)
	}
	addr := entries[0].Service.Address
	if addr == "" {
		addr = entries[0].Node.Address
	}
	wantURL := fmt.Sprintf("DB_URL=http://%s:%d\n", addr, entries[0].Service.Port)
	log := allocLog(t, us.Client, "us", "xr-api", "api", "fetched eu-db-ok", 2*time.Minute)
	if !strings.Contains(log, wantURL) {
		t.Errorf("xr-api's env lacks %q:\n%s", wantURL, log)
	}

	// front reaches api in its own region through Nomad's service discovery.
	front, _, err := us.Client.Jobs().Info("xr-front", &nomad.QueryOptions{Region: "us"})
	if err != nil {
		t.Fatal(err)
	}
	var tmpl string
	for _, tpl := range front.TaskGroups[0].Tasks[0].Templates {
		if *tpl.DestPath == "local/connections.env" {
			tmpl = *tpl.EmbeddedTmpl
		}
	}
	if !strings.Contains(tmpl, `nomadService "xr-api"`) {
		t.Errorf("xr-front's same-region connection does not use nomadService:\n%s", tmpl)
	}
	regs, _, err := us.Client.Services().Get("xr-api", &nomad.QueryOptions{Region: "us"})
	if err != nil || len(regs) != 1 {
		t.Fatalf("service xr-api in us: %v %v", regs, err)
	}
	allocLog(t, us.Client, "us", "xr-front", "front", fmt.Sprintf("API_URL=http://%s:%d\n", regs[0].Address, regs[0].Port), time.Minute)
}

// regionOutage deploys to both regions, loses one, and converges when it
// comes back.
func regionOutage(t *testing.T, eu, us *agent.Nomad) {
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
