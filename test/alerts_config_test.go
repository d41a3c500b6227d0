package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/test/sinks"
)

// Config safety: Backplane edits the operator's Alertmanager config file
// and a real Alertmanager loads it.

// amcBase is an operator's file: global SMTP settings, a route of their own
// with continue, a catch-all, an inhibit rule and comments. %s is the SMTP
// smarthost; %s the templates folder.
const amcBase = `# Operator-owned Alertmanager config.
global:
  resolve_timeout: 5m
  smtp_smarthost: %s # the relay
  smtp_from: alertmanager@example.com
  smtp_require_tls: false
templates:
  - %s/*.tmpl
route:
  receiver: ops
  group_by: [alertname]
  routes:
    # infra alerts page, then go on
    - receiver: ops-pager
      matchers: ['team="infra"']
      continue: true
    - receiver: ops
receivers:
  - name: ops
  - name: ops-pager
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, project]
`

// amcSubtree renders a project's subtree as the translator does, with the
// group timers given: routes are element->receiver pairs, receivers map a
// receiver's short name to its YAML body.
func amcSubtree(p, timers string, routes [][2]string, receivers map[string]string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "route:\n  receiver: backplane/%[1]s\n  routes:\n    - receiver: backplane/%[1]s\n      matchers: ['project=\"%[1]s\"']\n      group_by: [alertname, project, element, region]\n%[2]s", p, timers)
	if len(routes) > 0 {
		b.WriteString("      routes:\n")
		for _, r := range routes {
			fmt.Fprintf(&b, "        - receiver: backplane/%s/%s\n          matchers: ['element=\"%s\"']\n          continue: true\n", p, r[1], r[0])
		}
	}
	fmt.Fprintf(&b, "receivers:\n  - name: backplane/%s\n", p)
	names := make([]string, 0, len(receivers))
	for n := range receivers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: backplane/%s/%s\n", p, n)
		for _, line := range strings.Split(strings.TrimRight(receivers[n], "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	return []byte(b.String())
}

const (
	amcSlowTimers = "      group_wait: 30s\n      group_interval: 5m\n      repeat_interval: 4h\n"
	amcFastTimers = "      group_wait: 1s\n      group_interval: 1s\n      repeat_interval: 1h\n"
	amcEmail      = "email_configs:\n  - to: oncall@example.com\n    send_resolved: true\n"
)

func amcSlack(secretsDir, project string) string {
	return fmt.Sprintf("slack_configs:\n  - api_url_file: %s\n    channel: '#api'\n    send_resolved: true\n"+
		"    title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.project }}/{{ .CommonLabels.element }}'\n"+
		"    text: '{{ range .Alerts }}{{ .Annotations.summary }}{{ \"\\n\" }}{{ end }}'\n",
		filepath.Join(secretsDir, project, "SLACK_URL"))
}

func amcWebhook(url string) string {
	return fmt.Sprintf("webhook_configs:\n  - url: %s\n    send_resolved: true\n", url)
}

// amcRunning is the route tree Alertmanager reports it runs: the root
// routes' receivers, and every receiver's name.
func amcRunning(t *testing.T, c *alerts.Client) (routes, receivers []string) {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var cfg struct {
		Route struct {
			Routes []struct {
				Receiver string `yaml:"receiver"`
			} `yaml:"routes"`
		} `yaml:"route"`
		Receivers []struct {
			Name string `yaml:"name"`
		} `yaml:"receivers"`
	}
	if err := yaml.Unmarshal([]byte(st.Config.Original), &cfg); err != nil {
		t.Fatalf("status config.original: %v", err)
	}
	for _, r := range cfg.Route.Routes {
		routes = append(routes, r.Receiver)
	}
	for _, r := range cfg.Receivers {
		receivers = append(receivers, r.Name)
	}
	return routes, receivers
}

func amcJoin(s []string) string { return strings.Join(s, " ") }

func TestAlertsConfigApplyAndRemove(t *testing.T) {
	tmpl := t.TempDir()
	am := agent.StartAlertmanager(t, fmt.Sprintf(amcBase, "127.0.0.1:25", tmpl))
	ctx := context.Background()
	m := alerts.NewManager(am.ConfigPath, am.SecretsDir, am.Client)

	shop := amcSubtree("shop", amcSlowTimers, [][2]string{{"api", "api-team"}, {"api", "oncall"}},
		map[string]string{"api-team": amcSlack(am.SecretsDir, "shop"), "oncall": amcEmail})
	blog := amcSubtree("blog", amcSlowTimers, [][2]string{{"web", "hooks"}}, map[string]string{"hooks": amcWebhook("http://127.0.0.1:1/blog")})
	slackURL := "http://127.0.0.1:1/services/T000/B000/not-in-the-config"
	if err := m.Apply(ctx, "shop", shop, map[string][]byte{"SLACK_URL": []byte(slackURL)}); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, "blog", blog, nil); err != nil {
		t.Fatal(err)
	}

	routes, receivers := amcRunning(t, am.Client)
	if want := "backplane/shop backplane/blog ops-pager ops"; amcJoin(routes) != want {
		t.Errorf("Alertmanager runs root routes %v, want %s", routes, want)
	}
	if want := "ops ops-pager backplane/shop backplane/shop/api-team backplane/shop/oncall backplane/blog backplane/blog/hooks"; amcJoin(receivers) != want {
		t.Errorf("Alertmanager runs receivers %v, want %s", receivers, want)
	}
	file, err := os.ReadFile(am.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"# Operator-owned Alertmanager config.", "# the relay", "# infra alerts page, then go on", "equal: [alertname, project]"} {
		if !bytes.Contains(file, []byte(keep)) {
			t.Errorf("the file lost the operator's %q:\n%s", keep, file)
		}
	}
	if bytes.Contains(file, []byte(slackURL)) {
		t.Errorf("a secret value is in the config file")
	}
	if b, err := os.ReadFile(filepath.Join(am.SecretsDir, "shop", "SLACK_URL")); err != nil || string(b) != slackURL {
		t.Errorf("secret file: %v", err)
	}
	// What Alertmanager reports is its own re-marshalling of the config it
	// loaded (defaults filled in, secrets as <secret>, and email headers its
	// notifier added), neither the file nor the config package's String()
	// of it: the Manager compares route trees and receivers for that.
	st, _ := am.Client.Status(ctx)
	loaded, err := amconfig.LoadFile(am.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("config.original equals the file's bytes: %v; equals the config package's String() of it: %v",
		strings.TrimSpace(st.Config.Original) == strings.TrimSpace(string(file)),
		strings.TrimSpace(st.Config.Original) == strings.TrimSpace(loaded.String()))

	if err := m.Remove(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	routes, receivers = amcRunning(t, am.Client)
	if want := "backplane/blog ops-pager ops"; amcJoin(routes) != want {
		t.Errorf("after removing shop Alertmanager runs root routes %v, want %s", routes, want)
	}
	if want := "ops ops-pager backplane/blog backplane/blog/hooks"; amcJoin(receivers) != want {
		t.Errorf("after removing shop Alertmanager runs receivers %v, want %s", receivers, want)
	}
	if _, err := os.Stat(filepath.Join(am.SecretsDir, "shop")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("shop's secrets remain after Remove: %v", err)
	}
	after, _ := os.ReadFile(am.ConfigPath)
	want, err := alerts.Merge([]byte(fmt.Sprintf(amcBase, "127.0.0.1:25", tmpl)), "blog", blog)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, want) {
		t.Errorf("after removing shop the file is not the operator's plus blog:\n%s\nwant\n%s", after, want)
	}
}

func TestAlertsConfigRefusesBrokenMerge(t *testing.T) {
	tmpl := t.TempDir()
	base := strings.Replace(fmt.Sprintf(amcBase, "127.0.0.1:25", tmpl), "  smtp_smarthost: 127.0.0.1:25 # the relay\n", "", 1)
	am := agent.StartAlertmanager(t, base)
	ctx := context.Background()
	m := alerts.NewManager(am.ConfigPath, am.SecretsDir, am.Client)
	blog := amcSubtree("blog", amcSlowTimers, [][2]string{{"web", "hooks"}}, map[string]string{"hooks": amcWebhook("http://127.0.0.1:1/blog")})
	if err := m.Apply(ctx, "blog", blog, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(am.ConfigPath)

	// An email receiver with no smarthost anywhere: refused, file intact.
	shop := amcSubtree("shop", amcSlowTimers, [][2]string{{"api", "oncall"}}, map[string]string{"oncall": amcEmail})
	err := m.Apply(ctx, "shop", shop, nil)
	var invalid *alerts.InvalidConfigError
	if !errors.As(err, &invalid) {
		t.Fatalf("want the merge refused, got %v", err)
	}
	if !strings.Contains(err.Error(), "global.smtp_smarthost in "+am.ConfigPath) {
		t.Errorf("the refusal does not say what to set where: %v", err)
	}
	if now, _ := os.ReadFile(am.ConfigPath); !bytes.Equal(now, before) {
		t.Errorf("the file changed:\n%s", now)
	}
	routes, _ := amcRunning(t, am.Client)
	if want := "backplane/blog ops-pager ops"; amcJoin(routes) != want {
		t.Errorf("Alertmanager runs root routes %v, want the old %s", routes, want)
	}

	// A template the config loader does not read but Alertmanager does:
	// the file is written, the reload refused, and Alertmanager keeps the
	// old config.
	if err := os.WriteFile(filepath.Join(tmpl, "broken.tmpl"), []byte(`{{ define "x" }}{{ .Unclosed `), 0o644); err != nil {
		t.Fatal(err)
	}
	shop = amcSubtree("shop", amcSlowTimers, [][2]string{{"api", "hooks"}}, map[string]string{"hooks": amcWebhook("http://127.0.0.1:1/shop")})
	err = m.Apply(ctx, "shop", shop, nil)
	var notLoaded *alerts.NotLoadedError
	if !errors.As(err, &notLoaded) || !notLoaded.Refused {
		t.Fatalf("want the reload refused, got %v", err)
	}
	if !strings.Contains(err.Error(), "written but Alertmanager refused to reload it") || !strings.Contains(err.Error(), "broken.tmpl") {
		t.Errorf("the error does not say what happened: %v", err)
	}
	if !am.Running() {
		t.Fatal("Alertmanager stopped")
	}
	if routes, _ := amcRunning(t, am.Client); amcJoin(routes) != "backplane/blog ops-pager ops" {
		t.Errorf("after a refused reload Alertmanager runs %v", routes)
	}

	// Once the template is fixed, the same Apply (the file needs no
	// change) makes Alertmanager load what it refused.
	if err := os.Remove(filepath.Join(tmpl, "broken.tmpl")); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, "shop", shop, nil); err != nil {
		t.Fatal(err)
	}
	if routes, _ := amcRunning(t, am.Client); amcJoin(routes) != "backplane/blog backplane/shop ops-pager ops" {
		t.Errorf("after the fix Alertmanager runs %v", routes)
	}
}

func TestAlertsConfigDelivers(t *testing.T) {
	mail := sinks.NewSMTP(t)
	hook := sinks.NewHTTP(t)
	tmpl := t.TempDir()
	am := agent.StartAlertmanager(t, fmt.Sprintf(amcBase, mail.Addr, tmpl))
	ctx := context.Background()
	m := alerts.NewManager(am.ConfigPath, am.SecretsDir, am.Client)

	shop := amcSubtree("shop", amcFastTimers, [][2]string{{"api", "hooks"}, {"api", "api-team"}, {"api", "oncall"}}, map[string]string{
		"hooks":    amcWebhook(hook.URL + "/hook"),
		"api-team": amcSlack(am.SecretsDir, "shop"),
		"oncall":   amcEmail,
	})
	if err := m.Apply(ctx, "shop", shop, map[string][]byte{"SLACK_URL": []byte(hook.URL + "/slack")}); err != nil {
		t.Fatal(err)
	}
	blog := amcSubtree("blog", amcFastTimers, [][2]string{{"web", "hooks"}}, map[string]string{"hooks": amcWebhook(hook.URL + "/blog")})
	if err := m.Apply(ctx, "blog", blog, nil); err != nil {
		t.Fatal(err)
	}

	labels := map[string]string{"alertname": "BackplaneSmoke", "project": "shop", "element": "api", "region": "eu", "severity": "critical"}
	stray := map[string]string{"alertname": "BackplaneSmoke", "project": "other", "element": "api", "region": "eu", "severity": "critical"}
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	if err := am.Client.PostAlerts(ctx, []alerts.PostableAlert{
		{Labels: labels, Annotations: map[string]string{"summary": "api: smoke test"}, StartsAt: start},
		{Labels: stray, Annotations: map[string]string{"summary": "not Backplane's"}, StartsAt: start},
	}); err != nil {
		t.Fatal(err)
	}

	w := hook.WaitWebhook(t, time.Minute, func(w sinks.Webhook) bool { return w.Firing(labels) })
	if w.Receiver != "backplane/shop/hooks" || len(w.Alerts) != 1 {
		t.Errorf("webhook from receiver %q with %d alerts", w.Receiver, len(w.Alerts))
	}
	a := w.Alerts[0]
	if a.Annotations["summary"] != "api: smoke test" || !a.StartsAt.Equal(start) || !a.EndsAt.IsZero() || a.Labels["region"] != "eu" {
		t.Errorf("webhook alert %+v", a)
	}

	s := hook.WaitSlack(t, time.Minute, func(s sinks.Slack) bool { return len(s.Attachments) > 0 })
	if s.Channel != "#api" || s.Attachments[0].Title != "[FIRING] BackplaneSmoke shop/api" || !strings.Contains(s.Attachments[0].Text, "api: smoke test") {
		t.Errorf("slack message %+v", s)
	}
	if msgs := hook.Messages(); !slicesContainPath(msgs, "/slack") {
		t.Errorf("the Slack message did not go to the URL in the secret file")
	}

	got := mail.Wait(t, time.Minute, func(m sinks.Mail) bool {
		return len(m.To) == 1 && m.To[0] == "oncall@example.com" && strings.Contains(m.Subject, "BackplaneSmoke")
	})
	if got.From != "alertmanager@example.com" || !strings.Contains(got.Body, "BackplaneSmoke") || !strings.Contains(got.Body, "api: smoke test") {
		t.Errorf("mail from %q, subject %q, body has the alert: %v", got.From, got.Subject, strings.Contains(got.Body, "BackplaneSmoke"))
	}

	// Resolving it notifies too (send_resolved), with its end time.
	end := time.Now().UTC().Truncate(time.Second)
	if err := am.Client.PostAlerts(ctx, []alerts.PostableAlert{{Labels: labels, StartsAt: start, EndsAt: end}}); err != nil {
		t.Fatal(err)
	}
	r := hook.WaitWebhook(t, time.Minute, func(w sinks.Webhook) bool { return w.Status == "resolved" && w.Has(labels) })
	if !r.Alerts[0].EndsAt.Equal(end) {
		t.Errorf("resolved alert ends at %v, want %v", r.Alerts[0].EndsAt, end)
	}

	// The stray alert, posted with the first, went to the operator's
	// catch-all, which sends nothing: no Backplane receiver saw it.
	for _, w := range hook.Webhooks() {
		if w.Has(map[string]string{"project": "other"}) {
			t.Errorf("an alert of another project reached %s", w.Receiver)
		}
	}
	for _, msg := range hook.Messages() {
		if msg.Path == "/blog" {
			t.Errorf("blog's receiver got a shop alert: %s", msg.Body)
		}
	}
}

func slicesContainPath(msgs []sinks.Message, path string) bool {
	for _, m := range msgs {
		if m.Path == path {
			return true
		}
	}
	return false
}
