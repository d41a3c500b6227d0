package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/test/sinks"
)

// alarmSchema has an element that exits at once (crash) and a healthy one
// beside it (steady), and one that runs but fails its health check (sick),
// each with its own webhook receiver; crash's URL is a project secret.
const alarmSchema = `version: 1
project: alarm
defaults: { driver: raw_exec }
receivers:
  crashhook: { webhook: { url_secret: CRASH_HOOK } }
  steadyhook: { webhook: { url: "%s" } }
  sickhook: { webhook: { url: "%s" } }
elements:
  - id: crash
    kind: app.command
    command: %s
    port: 8000
    resources: { cpu: 50, memory: 64 }
    alerts: { receivers: [crashhook], restarts: 2, restart_window: 10m, down_after: 5s }
  - id: steady
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
    alerts: { receivers: [steadyhook] }
  - id: sick
    kind: app.command
    command: exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    health: { http: /no-such-page, interval: 1s, timeout: 1s }
    resources: { cpu: 50, memory: 64 }
    alerts: { receivers: [sickhook], check_after: 2s }
`

// TestAlertsFromNomad deploys, through serve, an element that exits at
// once next to a healthy one on a real Nomad, with a real Alertmanager
// whose config serve manages and the crashing element's receiver URL a
// project secret in a real Vault. The crashing element raises RestartLoop and
// then ElementDown, which reach its webhook and nobody else's; a redeploy
// with a working command resolves both; the element whose check fails
// raises CheckCritical; the healthy element raises nothing.
func TestAlertsFromNomad(t *testing.T) {
	am := agent.StartAlertmanager(t, "global:\n  resolve_timeout: 5m\nroute:\n  receiver: default\nreceivers:\n  - name: default\n")
	v := agent.StartVault(t)
	n := agent.StartNomad(t, agent.NomadOptions{VaultAddr: v.Addr})
	crashHook, steadyHook, sickHook := sinks.NewHTTP(t), sinks.NewHTTP(t), sinks.NewHTTP(t)
	s := serve(t, "NOMAD_ADDR="+n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+v.Token,
		"BACKPLANE_ALERTMANAGER_URL="+am.URL, "BACKPLANE_ALERTMANAGER_CONFIG="+am.ConfigPath,
		"BACKPLANE_ALERTMANAGER_SECRETS="+am.SecretsDir,
		"BACKPLANE_ALERT_GROUP_WAIT=1s", "BACKPLANE_ALERT_GROUP_INTERVAL=1s", "BACKPLANE_ALERT_REPEAT_INTERVAL=1h")
	deploy := func(command string) {
		t.Helper()
		y := fmt.Sprintf(alarmSchema, steadyHook.URL, sickHook.URL, command)
		body, _ := json.Marshal(map[string]string{"yaml": y})
		code, _, out := s.call(t, "POST", "/projects/alarm/deploy", string(body), "Content-Type", "application/json")
		if code != http.StatusAccepted || !strings.Contains(out, `"warnings":[]`) {
			t.Fatalf("deploy: %d %s", code, out)
		}
	}
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"alarm"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	// The receiver's URL is a project secret: set through the API, never
	// stored by Backplane nor written into the Alertmanager config.
	s.Secret(crashHook.URL)
	y := fmt.Sprintf(alarmSchema, steadyHook.URL, sickHook.URL, "exit 1")
	if code, _, out := s.call(t, "PUT", "/projects/alarm/schema", y, "If-Match", "*", "Content-Type", "application/yaml"); code != http.StatusOK {
		t.Fatalf("save schema: %d %s", code, out)
	}
	if code, _, out := s.call(t, "PUT", "/projects/alarm/secrets/_project/CRASH_HOOK", crashHook.URL, "Content-Type", "text/plain"); code != http.StatusOK {
		t.Fatalf("set the project secret: %d %s", code, out)
	}
	deploy(`echo "starting, then failing"; exit 1`)

	// The deploy loaded the project's routes into Alertmanager.
	ctx := context.Background()
	st, err := am.Client.Status(ctx)
	if err != nil || !strings.Contains(st.Config.Original, "backplane/alarm/crashhook") {
		t.Fatalf("Alertmanager does not run the project's routes: %v\n%s", err, st.Config.Original)
	}
	if b, err := os.ReadFile(am.ConfigPath); err != nil || strings.Contains(string(b), crashHook.URL) {
		t.Fatalf("the secret URL is inlined in the Alertmanager config (%v)", err)
	}

	firing := func(name string) func(sinks.Webhook) bool {
		return func(w sinks.Webhook) bool {
			for _, a := range w.Alerts {
				if a.Labels["alertname"] == name && a.Status == "firing" && a.Labels["element"] == "crash" &&
					a.Labels["project"] == "alarm" && a.Labels["region"] == "global" {
					return true
				}
			}
			return false
		}
	}
	defer func() {
		if t.Failed() {
			_, _, st := s.call(t, "GET", "/projects/alarm/status", "")
			t.Logf("status: %s", st)
		}
	}()
	rl := crashHook.WaitWebhook(t, 3*time.Minute, firing("RestartLoop"))
	for _, a := range rl.Alerts {
		if a.Labels["alertname"] == "RestartLoop" &&
			(!strings.Contains(a.Annotations["editor_url"], "/p/alarm?element=crash") || a.Annotations["summary"] == "") {
			t.Errorf("RestartLoop alert lacks its summary or editor link: %+v", a)
		}
	}
	crashHook.WaitWebhook(t, 2*time.Minute, firing("ElementDown"))

	// The editor's API shows them, scoped to the project.
	code, _, out := s.call(t, "GET", "/projects/alarm/alerts?element=crash", "")
	if code != 200 || !strings.Contains(out, `"alertname":"RestartLoop"`) || strings.Contains(out, `"element":"steady"`) {
		t.Errorf("alerts API: %d %s", code, out)
	}

	// Fixed: both resolve, at the same receiver.
	deploy(`exec python3 -m http.server "$PORT" --bind 127.0.0.1`)
	resolved := func(name string) func(sinks.Webhook) bool {
		return func(w sinks.Webhook) bool {
			for _, a := range w.Alerts {
				if a.Labels["alertname"] == name && a.Status == "resolved" && a.Labels["element"] == "crash" {
					return true
				}
			}
			return false
		}
	}
	crashHook.WaitWebhook(t, 2*time.Minute, resolved("RestartLoop"))
	crashHook.WaitWebhook(t, 2*time.Minute, resolved("ElementDown"))

	// The failing check raised CheckCritical, naming the check.
	sick := sickHook.WaitWebhook(t, time.Minute, func(w sinks.Webhook) bool {
		return w.Firing(map[string]string{"alertname": "CheckCritical", "project": "alarm", "element": "sick"})
	})
	if d := sick.Alerts[0].Annotations["description"]; !strings.Contains(d, "404") && !strings.Contains(d, "sick") {
		t.Errorf("CheckCritical description does not say what failed: %q", d)
	}

	// The healthy element raised nothing, so its receiver got nothing.
	if got := steadyHook.Webhooks(); len(got) != 0 {
		t.Errorf("the healthy element's receiver got %d messages: %+v", len(got), got)
	}
	as, err := am.Client.Alerts(ctx, alerts.Filter("project", "alarm", "element", "steady"))
	if err != nil || len(as) != 0 {
		t.Errorf("alerts for the healthy element: %v %+v", err, as)
	}
}
