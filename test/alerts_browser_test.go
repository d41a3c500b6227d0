package test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/test/agent"
)

// TestAlertsBrowser drives the editor's alerts in a real headless Chromium
// (web/ui/e2e/alerts.e2e.mjs) against a real `backplane serve` reading a
// real Alertmanager: the test posts a firing RestartLoop alert of the
// element api straight to Alertmanager (and one of another project); in
// the browser a deployer opens the alert's editor link, sees the badge on
// api and not on db, silences api for 2h with a comment, and the badge
// goes; silences db and expires that silence; a viewer sees alerts and
// silences but cannot silence; and with Alertmanager gone (mocked) the
// editor says alerts are off. Then the test checks through Alertmanager's
// API that the silence exists with the project's and api's matchers, the
// comment and the deployer's name, is active for 2h and holds the alert;
// and that the audit log recorded it. Skipped without chromium, node, the
// built editor or `alertmanager`.
func TestAlertsBrowser(t *testing.T) {
	b := requireBrowser(t)
	am := agent.StartAlertmanager(t, alertsBrowserAMConfig)
	s := serve(t, "BACKPLANE_ALERTMANAGER_URL="+am.URL)

	slug, other := "e2e-alerts", "e2e-alerts-other"
	for _, p := range []string{slug, other} {
		if code, _, body := s.call(t, "POST", "/projects", `{"slug":"`+p+`"}`, "Content-Type", "application/json"); code != 201 {
			t.Fatalf("create %s: %d %s", p, code, body)
		}
		yaml := strings.ReplaceAll(alertsBrowserYAML, "PROJECT", p)
		if code, _, body := s.call(t, "PUT", "/projects/"+p+"/schema", yaml, "Content-Type", "application/yaml", "If-Match", "*"); code != 200 {
			t.Fatalf("schema of %s: %d %s", p, code, body)
		}
	}
	// dora deploys (she may silence), vic views; neither is a server admin.
	doraPassword := e2eUser(t, s, "dora", false)
	vicPassword := e2eUser(t, s, "vic", false)
	for name, role := range map[string]string{"dora": "deployer", "vic": "viewer"} {
		if code, _, body := s.call(t, "PUT", "/projects/"+slug+"/members/"+name, fmt.Sprintf(`{"role":%q}`, role), "Content-Type", "application/json"); code != 200 {
			t.Fatalf("make %s %s of %s: %d %s", name, role, slug, code, body)
		}
	}

	// What Backplane's bridge would raise: a restart loop of api.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	client := am.Client
	now := time.Now().UTC()
	firing := func(project string) alerts.PostableAlert {
		return alerts.PostableAlert{
			Labels: map[string]string{"alertname": "RestartLoop", "project": project, "element": "api", "region": "global", "severity": "critical"},
			Annotations: map[string]string{
				"summary":    "api restarted 4 times in 10 minutes",
				"editor_url": s.URL + "/p/" + project + "?element=api",
			},
			StartsAt: now.Add(-3 * time.Minute), EndsAt: now.Add(time.Hour),
		}
	}
	if err := client.PostAlerts(ctx, []alerts.PostableAlert{firing(slug), firing(other)}); err != nil {
		t.Fatalf("post the alerts to alertmanager: %v", err)
	}
	// The suite starts once serve shows the alert, from whose editor_url
	// the browser opens the editor.
	var link string
	deadline := time.Now().Add(15 * time.Second)
	for link == "" {
		code, _, body := s.call(t, "GET", "/projects/"+slug+"/alerts", "")
		var got struct {
			Alerts []struct {
				Alertname, Element string
				EditorURL          string `json:"editor_url"`
			} `json:"alerts"`
		}
		if code == 200 && json.Unmarshal([]byte(body), &got) == nil && len(got.Alerts) == 1 && got.Alerts[0].Alertname == "RestartLoop" {
			link = got.Alerts[0].EditorURL
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not show api's alert (only): %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	path, ok := strings.CutPrefix(link, s.URL)
	if !ok || !strings.HasPrefix(path, "/p/"+slug+"?") {
		t.Fatalf("the alert's editor_url is %q, want %s/p/%s?element=api", link, s.URL, slug)
	}

	const comment = "deploying a fix for the restart loop (e2e)"
	b.run(t, "alerts.e2e.mjs", 5*time.Minute,
		"BASE_URL="+s.URL, "E2E_USER=dora", "E2E_PASSWORD="+doraPassword,
		"E2E_VIEWER=vic", "E2E_VIEWER_PASSWORD="+vicPassword,
		"E2E_SLUG="+slug, "E2E_LINK="+path, "E2E_SILENCE_COMMENT="+comment)

	// Alertmanager holds the silence the deployer made in the editor.
	list, err := client.Silences(ctx, alerts.Filter("project", slug))
	if err != nil {
		t.Fatalf("list the silences: %v", err)
	}
	var api, db *alerts.Silence
	for i := range list {
		x := &list[i]
		if x.Label("project") != slug {
			continue
		}
		switch x.Label("element") {
		case "api":
			if x.Comment == comment && x.State() == "active" {
				api = x
			}
		case "db":
			db = x
		}
	}
	if api == nil {
		dump, _ := json.Marshal(list)
		t.Fatalf("no active silence with project=%s, element=api and the comment %q in alertmanager: %s", slug, comment, dump)
	}
	if len(api.Matchers) != 2 {
		t.Errorf("the silence has matchers %+v, want project=%s and element=api only", api.Matchers, slug)
	}
	if api.CreatedBy != "dora" {
		t.Errorf("the silence was made by %q, want dora", api.CreatedBy)
	}
	if d := api.EndsAt.Sub(api.StartsAt); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Errorf("the silence lasts %s, want 2h", d)
	}
	if db == nil || db.State() != "expired" || db.Comment != "db maintenance (e2e)" {
		t.Errorf("the silence of db, made and expired in the editor: %+v", db)
	}

	// It holds api's alert, and only in this project.
	as, err := client.Alerts(ctx, alerts.Filter("alertname", "RestartLoop"))
	if err != nil {
		t.Fatalf("list the alerts: %v", err)
	}
	for _, a := range as {
		held := strings.Join(a.Status.SilencedBy, ",")
		switch a.Labels["project"] {
		case slug:
			if a.Status.State != "suppressed" || !strings.Contains(held, api.ID) {
				t.Errorf("api's alert is %s (silenced by %q), want suppressed by %s", a.Status.State, held, api.ID)
			}
		case other:
			if a.Status.State != "active" || held != "" {
				t.Errorf("the other project's alert is %s (silenced by %q), want active", a.Status.State, held)
			}
		}
	}

	// The audit log has both silences by dora and the expiry.
	code, _, body := s.call(t, "GET", "/projects/"+slug+"/audit", "")
	var audit struct {
		Events []struct{ Actor, Action, Detail string } `json:"events"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &audit) != nil {
		t.Fatalf("audit of %s: %d %s", slug, code, body)
	}
	seen := map[string]int{}
	for _, e := range audit.Events {
		if e.Actor == "dora" {
			seen[e.Action]++
		}
	}
	if seen["silence.create"] != 2 || seen["silence.expire"] != 1 {
		t.Errorf("dora's silence actions in the audit log: %v, want 2 silence.create and 1 silence.expire: %s", seen, body)
	}
}

// alertsBrowserAMConfig routes every alert nowhere: the suite reads state,
// it does not deliver.
const alertsBrowserAMConfig = `route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
`

// The projects' schema; PROJECT is the slug. No cluster is needed: the
// alerts are posted to Alertmanager by the test.
const alertsBrowserYAML = `version: 1
project: PROJECT
elements:
  - { id: api, kind: app.command, command: "run-api", port: 8080, alerts: { restarts: 4 } }
  - { id: db, kind: db.postgres }
connections:
  - { from: api, to: db }
layout: { api: { x: 80, y: 140 }, db: { x: 420, y: 140 } }
`
