package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/test/sinks"
	"github.com/backplane-dev/backplane/translator"
)

// deliverySchema routes api's alerts to Slack, email and a webhook, and
// db's to a webhook of its own.
const deliverySchema = `version: 1
project: shop
defaults: { driver: raw_exec }
receivers:
  api-team: { slack: { channel: "#api", webhook_url_secret: SLACK_URL } }
  oncall:   { email: { to: oncall@example.com } }
  api-hook: { webhook: { url: "%s" } }
  db-hook:  { webhook: { url: "%s" } }
elements:
  - id: api
    kind: app.command
    command: exec sleep 3600
    alerts: { receivers: [api-team, oncall, api-hook], restarts: 2, down_after: 1s }
  - id: db
    kind: app.command
    command: exec sleep 3600
    alerts: { receivers: [db-hook] }
`

// TestAlertsDelivery runs the rendered routes of a project in a real
// Alertmanager, with the bridge raising alerts from element statuses: an
// alert for api reaches api's Slack, email and webhook receivers and
// nothing reaches db's; "resolved" follows when it clears; a silence made
// through Backplane's API mutes api, and expiring it lets the alert out.
func TestAlertsDelivery(t *testing.T) {
	smtp := sinks.NewSMTP(t)
	apiHook, dbHook, slack := sinks.NewHTTP(t), sinks.NewHTTP(t), sinks.NewHTTP(t)
	am := agent.StartAlertmanager(t, fmt.Sprintf("global:\n  smtp_smarthost: %s\n  smtp_from: alerts@shop.example\n  smtp_require_tls: false\n"+
		"route:\n  receiver: default\nreceivers:\n  - name: default\n", smtp.Addr))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	y := fmt.Sprintf(deliverySchema, apiHook.URL, dbHook.URL)
	b := bundleFor(t, y, translator.Options{Alerting: translator.AlertingOptions{SecretsDir: am.SecretsDir, GroupWait: "1s", GroupInterval: "1s", RepeatInterval: "1h"}})
	m := alerts.NewManager(am.ConfigPath, am.SecretsDir, am.Client)
	if err := m.Apply(ctx, "shop", []byte(b.Alertmanager), map[string][]byte{"SLACK_URL": []byte(slack.URL + "/services/T0/B0/x")}); err != nil {
		t.Fatal(err)
	}
	sc, err := schema.Decode("backplane.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	br := alerts.NewBridge(alerts.BridgeConfig{Client: am.Client, PublicURL: "https://backplane.example"})
	go br.Run(ctx)
	br.SetProject("shop", sc, jobs.Targets(b))
	status := func(element string, up int, restarts ...time.Time) jobs.Status {
		return jobs.Status{Element: element, Region: "global", JobID: "shop-" + element, State: jobs.StateDegraded, Desired: 1, Running: up,
			LastEvent: element + ": Restarting: Exit Code: 1", Signals: &jobs.Signals{Service: true, Up: up, Restarts: restarts}}
	}
	now := time.Now()
	br.Observe("shop", status("db", 1))
	br.Observe("shop", status("api", 1, now.Add(-20*time.Second), now.Add(-5*time.Second)))

	api := map[string]string{"alertname": "RestartLoop", "project": "shop", "element": "api", "region": "global"}
	w := apiHook.WaitWebhook(t, time.Minute, func(w sinks.Webhook) bool { return w.Firing(api) })
	if w.Receiver != "backplane/shop/api-hook" || w.Alerts[0].Annotations["editor_url"] != "https://backplane.example/p/shop?element=api" {
		t.Errorf("webhook: receiver %q, alert %+v", w.Receiver, w.Alerts[0])
	}
	sl := slack.WaitSlack(t, time.Minute, func(s sinks.Slack) bool { return len(s.Attachments) > 0 })
	if sl.Channel != "#api" || !strings.HasPrefix(sl.Attachments[0].Title, "[FIRING:1] RestartLoop: shop/api in global") ||
		!strings.Contains(sl.Attachments[0].Text, "https://backplane.example/p/shop?element=api") {
		t.Errorf("slack: %+v", sl)
	}
	mail := smtp.Wait(t, time.Minute, func(m sinks.Mail) bool { return strings.Contains(m.Subject, "RestartLoop") })
	if mail.From != "alerts@shop.example" || len(mail.To) != 1 || mail.To[0] != "oncall@example.com" ||
		mail.Subject != "[FIRING] RestartLoop: shop/api in global" ||
		!strings.Contains(mail.Text, "2 restarts in the last 10m0s in global") || !strings.Contains(mail.Text, "since ") ||
		!strings.Contains(mail.Text, "https://backplane.example/p/shop?element=api") {
		t.Errorf("mail: from %q to %v subject %q\n%s", mail.From, mail.To, mail.Subject, mail.Text)
	}

	// Cleared: "resolved" reaches the same receivers.
	br.Observe("shop", status("api", 1))
	apiHook.WaitWebhook(t, time.Minute, func(w sinks.Webhook) bool { return w.Status == "resolved" && w.Has(api) })
	smtp.Wait(t, time.Minute, func(m sinks.Mail) bool { return m.Subject == "[RESOLVED] RestartLoop: shop/api in global" })

	// A silence made through Backplane mutes api.
	s := serve(t, "NOMAD_ADDR=", "BACKPLANE_ALERTMANAGER_URL="+am.URL)
	if code, _, out := s.call(t, "POST", "/projects", `{"slug":"shop"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Fatalf("create project: %d %s", code, out)
	}
	if code, _, out := s.call(t, "PUT", "/projects/shop/schema", y, "If-Match", "*", "Content-Type", "application/yaml"); code != http.StatusOK {
		t.Fatalf("save schema: %d %s", code, out)
	}
	code, _, out := s.call(t, "POST", "/projects/shop/silences", `{"element":"api","duration":"1h","comment":"replacing the disk"}`, "Content-Type", "application/json")
	if code != http.StatusCreated {
		t.Fatalf("silence: %d %s", code, out)
	}
	var created struct {
		Silence struct {
			ID string `json:"id"`
		} `json:"silence"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Silence.ID == "" {
		t.Fatalf("silence answer: %s", out)
	}
	before := len(apiHook.Webhooks())
	br.Observe("shop", status("api", 0)) // down: ElementDown after 1s
	down := map[string]string{"alertname": "ElementDown", "project": "shop", "element": "api"}
	waitUntil(t, time.Minute, "ElementDown held by the silence in Alertmanager", func() bool {
		as, err := am.Client.Alerts(ctx, alerts.Filter("project", "shop", "alertname", "ElementDown"))
		return err == nil && len(as) == 1 && as[0].Status.State == "suppressed" && len(as[0].Status.SilencedBy) == 1 &&
			as[0].Status.SilencedBy[0] == created.Silence.ID
	})
	// The API shows it as silenced, too.
	if code, _, out := s.call(t, "GET", "/projects/shop/alerts", ""); code != 200 || !strings.Contains(out, `"state":"suppressed"`) {
		t.Errorf("alerts API: %d %s", code, out)
	}
	// Nothing is delivered while it holds: past the route's group_wait and
	// group_interval (1s each), no notification of it has come.
	time.Sleep(3 * time.Second)
	for _, w := range apiHook.Webhooks()[before:] {
		if w.Firing(down) {
			t.Fatalf("a silenced alert was delivered: %+v", w)
		}
	}
	// Expiring the silence lets the alert out.
	if code, _, out := s.call(t, "DELETE", "/projects/shop/silences/"+created.Silence.ID, ""); code != http.StatusNoContent {
		t.Fatalf("expire: %d %s", code, out)
	}
	apiHook.WaitWebhook(t, time.Minute, func(w sinks.Webhook) bool { return w.Firing(down) })

	if got := dbHook.Webhooks(); len(got) != 0 {
		t.Errorf("db's receiver got %d messages for api's alerts", len(got))
	}
}

// waitUntil polls f until it holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
