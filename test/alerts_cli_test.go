package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/test/agent"
)

const alertsCLISchema = `version: 1
project: shop
defaults: { driver: raw_exec }
elements:
  - { id: api, kind: app.command, command: run-api, port: 8080 }
  - { id: worker, kind: worker, command: work }
`

// silenceID finds the ID in `alerts silence`'s output.
var silenceID = regexp.MustCompile(`: silence ([0-9a-f-]{36})\n`)

// alertsDoc is what `alerts --json` prints.
type alertsDoc struct {
	Alerts []struct {
		Alertname  string   `json:"alertname"`
		Element    string   `json:"element"`
		Region     string   `json:"region"`
		Severity   string   `json:"severity"`
		Summary    string   `json:"summary"`
		State      string   `json:"state"`
		SilencedBy []string `json:"silenced_by"`
	} `json:"alerts"`
}

// TestAlertsCLI runs the alerts commands against a real Alertmanager:
// directly (BACKPLANE_ALERTMANAGER_URL), and through a real `backplane
// serve` with users of two roles. An alert of api fires; `alerts` shows it
// (and never another project's); `alerts silence` makes a silence that
// Alertmanager holds with the project and element matchers, after which
// the alert shows as silenced; `alerts expire` ends it. Another
// project's silence cannot be expired from this one.
func TestAlertsCLI(t *testing.T) {
	// The suite reads alert state; it delivers no notification.
	am := agent.StartAlertmanager(t, agent.MinimalAlertmanagerConfig)
	client := am.Client
	ctx := context.Background()
	fire := func(project, element, name, summary string) {
		t.Helper()
		err := client.PostAlerts(ctx, []alerts.PostableAlert{{
			Labels: map[string]string{"project": project, "element": element, "region": "global",
				"alertname": name, "severity": "critical"},
			Annotations: map[string]string{"summary": summary},
			StartsAt:    time.Now().Add(-5 * time.Minute),
			EndsAt:      time.Now().Add(time.Hour),
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	fire("shop", "api", "RestartLoop", "api restarted 5 times in 10m")
	fire("other", "api", "RestartLoop", "OTHER-PROJECT")

	dir := t.TempDir()
	file := filepath.Join(dir, "backplane.yaml")
	if err := os.WriteFile(file, []byte(alertsCLISchema), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("direct", func(t *testing.T) {
		env := []string{"BACKPLANE_ALERTMANAGER_URL=" + am.URL, "USER=suite-oncall"}
		exerciseAlerts(t, client, env, env, file, "suite-oncall")
	})

	t.Run("through serve", func(t *testing.T) {
		s := serve(t, "BACKPLANE_ALERTMANAGER_URL="+am.URL, "BACKPLANE_ALERTMANAGER_CONFIG=", "NOMAD_ADDR=", "VAULT_ADDR=")
		if code, _, body := s.call(t, "POST", "/projects", `{"slug":"shop"}`, "Content-Type", "application/json"); code != 201 {
			t.Fatalf("create shop: %d %s", code, body)
		}
		if code, _, body := s.call(t, "PUT", "/projects/shop/schema", alertsCLISchema, "Content-Type", "application/yaml", "If-Match", "*"); code != 200 {
			t.Fatalf("save shop's schema: %d %s", code, body)
		}
		as := func(user, role string) []string {
			token := strings.TrimPrefix(s.userToken(t, user, "shop", role), "Bearer ")
			// No Alertmanager here: whatever works goes through the server.
			return []string{"BACKPLANE_SERVER=" + s.URL, "BACKPLANE_TOKEN=" + token, "BACKPLANE_ALERTMANAGER_URL=", "USER=not-this"}
		}
		viewer, deployer := as("vic", "viewer"), as("dana", "deployer")

		code, out := runCLI(t, viewer, "", "alerts", "silence", "-f", file, "api", "--for", "2h", "--comment", "x")
		if code != 1 || !strings.Contains(out, "alerts silence: the server refused: your role in shop is viewer") {
			t.Errorf("a viewer silencing: exit %d\n%s", code, out)
		}
		exerciseAlerts(t, client, viewer, deployer, file, "dana")

		var audit struct {
			Events []struct{ Actor, Action string } `json:"events"`
		}
		_, _, body := s.call(t, "GET", "/projects/shop/audit?limit=100", "")
		if err := json.Unmarshal([]byte(body), &audit); err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, e := range audit.Events {
			seen[e.Action] = e.Actor
		}
		if seen["silence.create"] != "dana" || seen["silence.expire"] != "dana" {
			t.Errorf("audit: %+v", audit.Events)
		}
	})

	t.Run("a server without Alertmanager says so", func(t *testing.T) {
		s := serve(t, "BACKPLANE_ALERTMANAGER_URL=", "NOMAD_ADDR=")
		if code, _, body := s.call(t, "POST", "/projects", `{"slug":"shop"}`, "Content-Type", "application/json"); code != 201 {
			t.Fatalf("create shop: %d %s", code, body)
		}
		env := []string{"BACKPLANE_SERVER=" + s.URL, "BACKPLANE_TOKEN=" + testAdminToken}
		code, out := runCLI(t, env, "", "alerts", "-f", file)
		if code != 1 || !strings.Contains(out, "alerts: "+s.URL+": alerts are off: this server has no Alertmanager") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})

	t.Run("without any Alertmanager", func(t *testing.T) {
		code, out := runCLI(t, []string{"BACKPLANE_ALERTMANAGER_URL="}, "", "alerts", "-f", file)
		if code != 1 || !strings.Contains(out, "alerts: Alertmanager is not configured: set BACKPLANE_ALERTMANAGER_URL") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})
}

// exerciseAlerts lists, silences, lists again and expires, reading with
// reader's environment and writing with writer's; createdBy is who the
// silence must say made it.
func exerciseAlerts(t *testing.T, client *alerts.Client, reader, writer []string, file, createdBy string) {
	t.Helper()
	ctx := context.Background()
	list := func() alertsDoc {
		t.Helper()
		code, out := runCLI(t, reader, "", "alerts", "-f", file, "--json")
		var doc alertsDoc
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("alerts --json: exit %d\n%s", code, out)
		}
		if strings.Contains(out, "OTHER-PROJECT") {
			t.Fatalf("another project's alert is listed:\n%s", out)
		}
		return doc
	}
	// until lists until cond holds: Alertmanager applies a silence to its
	// alerts' status within moments, not at once.
	until := func(what string, cond func(alertsDoc) bool) alertsDoc {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			doc := list()
			if cond(doc) {
				return doc
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: never; last %+v", what, doc)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	doc := until("api's alert active", func(d alertsDoc) bool {
		return len(d.Alerts) == 1 && d.Alerts[0].State == "active" && len(d.Alerts[0].SilencedBy) == 0
	})
	if a := doc.Alerts[0]; a.Element != "api" || a.Alertname != "RestartLoop" || a.Severity != "critical" || a.Region != "global" || a.Summary != "api restarted 5 times in 10m" {
		t.Errorf("alert %+v", a)
	}
	code, out := runCLI(t, reader, "", "alerts", "-f", file)
	if code != 0 || !regexp.MustCompile(`(?m)^api +global +RestartLoop +critical +\d+m +api restarted 5 times in 10m$`).MatchString(out) {
		t.Errorf("alerts table: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, reader, "", "alerts", "-f", file, "--element", "worker")
	if code != 0 || out != "no alerts firing in shop\n" {
		t.Errorf("alerts --element worker: exit %d\n%s", code, out)
	}

	code, out = runCLI(t, writer, "", "alerts", "silence", "-f", file, "api", "--for", "2h", "--comment", "deploying a fix")
	m := silenceID.FindStringSubmatch(out)
	if code != 0 || m == nil || !strings.HasPrefix(out, "silenced api in shop until ") {
		t.Fatalf("alerts silence: exit %d\n%s", code, out)
	}
	id := m[1]
	sil, err := client.Silence(ctx, id)
	if err != nil {
		t.Fatalf("Alertmanager does not have the silence %s: %v", id, err)
	}
	matchers := map[string]alerts.Matcher{}
	for _, mt := range sil.Matchers {
		matchers[mt.Name] = mt
	}
	if len(sil.Matchers) != 2 || matchers["project"] != (alerts.Matcher{Name: "project", Value: "shop", IsEqual: true}) ||
		matchers["element"] != (alerts.Matcher{Name: "element", Value: "api", IsEqual: true}) {
		t.Errorf("matchers %+v", sil.Matchers)
	}
	if sil.CreatedBy != createdBy || sil.Comment != "deploying a fix" || sil.State() != "active" {
		t.Errorf("silence %+v (state %s)", sil, sil.State())
	}
	if d := sil.EndsAt.Sub(sil.StartsAt); d < 2*time.Hour-time.Second || d > 2*time.Hour+time.Second {
		t.Errorf("silence lasts %s", d)
	}

	until("api's alert silenced", func(d alertsDoc) bool {
		return len(d.Alerts) == 1 && d.Alerts[0].State == "suppressed" && len(d.Alerts[0].SilencedBy) == 1 && d.Alerts[0].SilencedBy[0] == id
	})
	code, out = runCLI(t, reader, "", "alerts", "-f", file)
	if code != 0 || !strings.Contains(out, "RestartLoop (silenced)") {
		t.Errorf("alerts table after the silence: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, reader, "", "alerts", "silences", "-f", file)
	if code != 0 || !regexp.MustCompile(`(?m)^`+id+` +api +active +\S+ \(in (1h59m|2h)\) +`+createdBy+` +deploying a fix$`).MatchString(out) {
		t.Errorf("alerts silences: exit %d\n%s", code, out)
	}

	// Another project's silence is not this one's to end.
	theirs, err := client.CreateSilence(ctx, alerts.Silence{
		Matchers: []alerts.Matcher{{Name: "project", Value: "other", IsEqual: true}, {Name: "element", Value: "api", IsEqual: true}},
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), CreatedBy: "someone-else", Comment: "theirs",
	})
	if err != nil {
		t.Fatal(err)
	}
	code, out = runCLI(t, writer, "", "alerts", "expire", "-f", file, theirs)
	if code != 1 || !strings.Contains(out, "alerts expire: ") || !strings.Contains(out, theirs) {
		t.Errorf("expire another project's silence: exit %d\n%s", code, out)
	}
	if s, err := client.Silence(ctx, theirs); err != nil || s.State() != "active" {
		t.Errorf("another project's silence after a refused expire: %v %v", s, err)
	}
	code, out = runCLI(t, reader, "", "alerts", "silences", "-f", file)
	if code != 0 || strings.Contains(out, theirs) {
		t.Errorf("another project's silence is listed:\n%s", out)
	}
	_ = client.ExpireSilence(ctx, theirs)

	code, out = runCLI(t, writer, "", "alerts", "expire", "-f", file, id)
	if code != 0 || out != "expired silence "+id+"\n" {
		t.Fatalf("alerts expire: exit %d\n%s", code, out)
	}
	if s, err := client.Silence(ctx, id); err != nil || s.State() != "expired" {
		t.Errorf("after expire: %v %v", s, err)
	}
	until("api's alert active again", func(d alertsDoc) bool {
		return len(d.Alerts) == 1 && d.Alerts[0].State == "active" && len(d.Alerts[0].SilencedBy) == 0
	})
	code, out = runCLI(t, writer, "", "alerts", "expire", "-f", file, id)
	if code != 0 {
		t.Errorf("expiring an expired silence again: exit %d\n%s", code, out)
	}
}

// TestProjectSecretsInVault sets and lists a project secret with the CLI
// against a real Vault: it lands at secret/backplane/<project>/_project,
// next to no element's, and its value is never printed.
func TestProjectSecretsInVault(t *testing.T) {
	v := agent.StartVault(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "backplane.yaml")
	if err := os.WriteFile(file, []byte(alertsCLISchema), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NOMAD_ADDR=http://127.0.0.1:1", "VAULT_ADDR=" + v.Addr, "VAULT_TOKEN=" + v.Token}
	const value = "https://hooks.slack.com/services/T0000/B0000/suite-secret-9f2c"
	code, out := runCLI(t, env, value+"\n", "secrets", "set", "-f", file, "--project", "SLACK_URL")
	if code != 0 || !strings.HasSuffix(out, "\nset SLACK_URL for project shop (version 1)\n") {
		t.Fatalf("secrets set --project: exit %d\n%s", code, out)
	}
	code, out2 := runCLI(t, env, "", "secrets", "list", "-f", file, "--project")
	if code != 0 || !strings.HasSuffix(out2, "\nSLACK_URL                1\n") {
		t.Errorf("secrets list --project: exit %d\n%s", code, out2)
	}
	code, out3 := runCLI(t, env, "", "secrets", "list", "-f", file, "api")
	if code != 0 || strings.Contains(out3, "SLACK_URL") {
		t.Errorf("api's secrets: exit %d\n%s", code, out3)
	}
	for _, o := range []string{out, out2, out3} {
		if strings.Contains(o, value) {
			t.Errorf("the value was printed:\n%s", o)
		}
	}
	req, _ := http.NewRequest("GET", v.Addr+"/v1/secret/data/backplane/shop/_project", nil)
	req.Header.Set("X-Vault-Token", v.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var kv struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &kv); err != nil || kv.Data.Data["SLACK_URL"] != value {
		t.Errorf("Vault holds at secret/backplane/shop/_project: %d (%v)", resp.StatusCode, err)
	}
}
