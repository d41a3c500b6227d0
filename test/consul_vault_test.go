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
	vault "github.com/hashicorp/vault/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/translator"
)

// setupVaultForNomad enables the JWT auth method Nomad workload identities
// log in with, trusting the Nomad agent's JWKS, as an operator does once.
func setupVaultForNomad(t *testing.T, v *agent.Vault, nomadAddr string) {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = v.Addr
	vc, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vc.SetToken(v.Token)
	if err := vc.Sys().EnableAuthWithOptions("jwt-nomad", &vault.EnableAuthOptions{Type: "jwt"}); err != nil {
		t.Fatalf("enable jwt auth: %v", err)
	}
	_, err = vc.Logical().Write("auth/jwt-nomad/config", map[string]any{
		"jwks_url":           nomadAddr + "/.well-known/jwks.json",
		"jwt_supported_algs": []string{"RS256", "EdDSA"},
		"default_role":       "nomad-workloads",
	})
	if err != nil {
		t.Fatalf("configure jwt auth: %v", err)
	}
}

const vaultSchema = `version: 1
project: vaulted
defaults: { driver: raw_exec }
elements:
  - id: pay
    kind: worker
    command: |
      printf '%s' "$STRIPE_KEY" | sha256sum | cut -c1-16 | sed 's/^/sha=/'
      exec sleep 3600
    secrets: [STRIPE_KEY]
    resources: { cpu: 20, memory: 32 }
`

// TestSecretsFromVault sets a secret with the CLI, deploys an element that
// declares it, and checks the task got the value while backplane's own
// output never shows it.
func TestSecretsFromVault(t *testing.T) {
	v := agent.StartVault(t)
	n := agent.StartNomad(t, agent.NomadOptions{VaultAddr: v.Addr})
	setupVaultForNomad(t, v, n.Addr)
	dir := t.TempDir()
	file := filepath.Join(dir, "backplane.yaml")
	if err := os.WriteFile(file, []byte(vaultSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NOMAD_ADDR=" + n.Addr, "VAULT_ADDR=" + v.Addr, "VAULT_TOKEN=" + v.Token}
	secret := "sk_live_4eC39HqLyjWDarjtT1zdp7dc \"quoted\" {{ braces }} ${x}"
	var outputs []string

	// A declared secret missing from Vault fails plan, naming both.
	code, out := runCLI(t, env, "", "plan", "-f", file)
	outputs = append(outputs, out)
	if code == 0 || !strings.Contains(out, "elements[pay].secrets[0]: STRIPE_KEY is not set in Vault") {
		t.Fatalf("plan without the secret: exit %d\n%s", code, out)
	}

	code, out = runCLI(t, env, secret+"\n", "secrets", "set", "-f", file, "pay", "STRIPE_KEY")
	outputs = append(outputs, out)
	if code != 0 || !strings.Contains(out, "set STRIPE_KEY for pay") {
		t.Fatalf("secrets set: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, env, "", "secrets", "list", "-f", file, "pay")
	outputs = append(outputs, out)
	if code != 0 || !strings.Contains(out, "STRIPE_KEY") {
		t.Fatalf("secrets list: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, env, "", "deploy", "-f", file, "--wait", "--timeout", "2m")
	outputs = append(outputs, out)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, env, "", "status", "-f", file, "--json")
	outputs = append(outputs, out)
	if code != 0 || !strings.Contains(out, `"healthy"`) {
		t.Fatalf("status: exit %d\n%s", code, out)
	}

	// The task saw exactly the value: compare a digest, so the value itself
	// is never in the task's log either.
	sum := sha256hex(secret)[:16]
	allocLog(t, n.Client, n.Region, "vaulted-pay", "pay", "sha="+sum, time.Minute)

	// Backplane's own output, the job spec and the policy never carry it.
	for _, o := range outputs {
		if strings.Contains(o, "sk_live_4eC39HqLyjWDarjtT1zdp7dc") {
			t.Fatalf("backplane printed the secret:\n%s", o)
		}
	}
	j, _, err := n.Client.Jobs().Info("vaulted-pay", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprintf("%+v", j.TaskGroups[0].Tasks[0].Templates[len(j.TaskGroups[0].Tasks[0].Templates)-1].EmbeddedTmpl), "sk_live") {
		t.Fatal("the job spec carries the secret")
	}
}

const meshSchema = `version: 1
project: meshy
mesh: true
defaults: { driver: exec }
elements:
  - { id: web, kind: app.command, command: "exec python3 -m http.server $PORT", port: 8080, health: { http: / } }
  - { id: api, kind: app.command, command: "exec python3 -m http.server $PORT", port: 9090, health: { http: / } }
  - { id: db, kind: app.command, command: "exec python3 -m http.server $PORT", port: 5432, health: { http: / } }
connections:
  - { from: web, to: api }
  - { from: api, to: db }
`

// TestMeshIntentions deploys a mesh-on schema and checks Consul holds an
// intention for each drawn edge and denies the rest.
func TestMeshIntentions(t *testing.T) {
	cs := agent.StartConsul(t)
	n := agent.StartNomad(t, agent.NomadOptions{ConsulAddr: cs.Addr})
	c := connect(t, jobs.Config{NomadAddr: n.Addr, ConsulAddr: cs.Addr})
	b := bundleFor(t, meshSchema, translator.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := c.Plan(ctx, b, jobs.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, plan, jobs.ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	cfg := consul.DefaultConfig()
	cfg.Address = cs.Addr
	cc, err := consul.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"meshy-api": {"meshy-web"}, "meshy-db": {"meshy-api"}, "meshy-web": nil}
	for dest, from := range want {
		entry, _, err := cc.ConfigEntries().Get(consul.ServiceIntentions, dest, nil)
		if err != nil {
			t.Fatalf("intentions for %s: %v", dest, err)
		}
		si := entry.(*consul.ServiceIntentionsConfigEntry)
		got := map[string]consul.IntentionAction{}
		for _, s := range si.Sources {
			got[s.Name] = s.Action
		}
		for _, f := range from {
			if got[f] != consul.IntentionActionAllow {
				t.Errorf("%s -> %s: %q, want allow", f, dest, got[f])
			}
		}
		if got["*"] != consul.IntentionActionDeny || len(got) != len(from)+1 {
			t.Errorf("intentions for %s: %v, want the drawn edges allowed and * denied", dest, got)
		}
	}
	// And Consul enforces them: web may reach api, db may not reach web.
	for _, c := range []struct {
		src, dst string
		allowed  bool
	}{{"meshy-web", "meshy-api", true}, {"meshy-db", "meshy-web", false}, {"meshy-web", "meshy-db", false}} {
		ok, _, err := cc.Connect().IntentionCheck(&consul.IntentionCheck{Source: c.src, Destination: c.dst}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ok != c.allowed {
			t.Errorf("%s -> %s allowed=%v, want %v", c.src, c.dst, ok, c.allowed)
		}
	}
}
