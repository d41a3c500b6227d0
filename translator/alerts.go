package translator

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/nomad/api"
	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/schema"
)

// logship is the sidecar that ships the group's logs to Loki.
func (t *translation) logship(e *schema.Element, region, driver string) *api.Task {
	args := []any{
		"logship",
		"--loki-url", t.opts.LokiURL,
		"--alloc-dir", "${NOMAD_ALLOC_DIR}",
		"--label", "project=" + t.s.Project,
		"--label", "element=" + e.ID,
		"--label", "region=" + region,
		"--label", "alloc=${NOMAD_ALLOC_ID}",
	}
	if t.opts.LokiTenant != "" {
		args = append(args, "--tenant", t.opts.LokiTenant)
	}
	task := helperTask(t.opts.Logship, "logship", driver, args)
	task.Lifecycle = &api.TaskLifecycle{Hook: api.TaskLifecycleHookPoststart, Sidecar: true}
	return task
}

// The Alertmanager config is built from these small types rather than the
// alertmanager package's, whose marshalling hides secrets as <secret>.
type amFile struct {
	Route     *amRoute     `yaml:"route"`
	Receivers []amReceiver `yaml:"receivers"`
}

type amRoute struct {
	Receiver       string     `yaml:"receiver,omitempty"`
	GroupBy        []string   `yaml:"group_by,omitempty"`
	Matchers       []string   `yaml:"matchers,omitempty"`
	Continue       bool       `yaml:"continue,omitempty"`
	GroupWait      string     `yaml:"group_wait,omitempty"`
	GroupInterval  string     `yaml:"group_interval,omitempty"`
	RepeatInterval string     `yaml:"repeat_interval,omitempty"`
	Routes         []*amRoute `yaml:"routes,omitempty"`
}

type amReceiver struct {
	Name           string      `yaml:"name"`
	SlackConfigs   []amSlack   `yaml:"slack_configs,omitempty"`
	EmailConfigs   []amEmail   `yaml:"email_configs,omitempty"`
	WebhookConfigs []amWebhook `yaml:"webhook_configs,omitempty"`
}

type amSlack struct {
	APIURLFile   string `yaml:"api_url_file"`
	Channel      string `yaml:"channel"`
	SendResolved bool   `yaml:"send_resolved"`
	Title        string `yaml:"title"`
	Text         string `yaml:"text"`
}

type amEmail struct {
	To               string            `yaml:"to"`
	From             string            `yaml:"from,omitempty"`
	Smarthost        string            `yaml:"smarthost,omitempty"`
	AuthUsername     string            `yaml:"auth_username,omitempty"`
	AuthPasswordFile string            `yaml:"auth_password_file,omitempty"`
	SendResolved     bool              `yaml:"send_resolved"`
	Headers          map[string]string `yaml:"headers,omitempty"`
	HTML             string            `yaml:"html,omitempty"`
	Text             string            `yaml:"text,omitempty"`
}

type amWebhook struct {
	URL          string `yaml:"url,omitempty"`
	URLFile      string `yaml:"url_file,omitempty"`
	SendResolved bool   `yaml:"send_resolved"`
}

// ReceiverPrefix starts the name of every receiver Backplane renders:
// "backplane/<project>" is a project's catch-all, which has no
// integrations, and "backplane/<project>/<receiver>" a schema receiver. The
// alerts layer owns exactly these names, and the routes to them, in an
// Alertmanager config it shares with the operator.
const ReceiverPrefix = "backplane/"

// receiverName scopes a schema receiver to the project.
func (t *translation) receiverName(name string) string {
	return ReceiverPrefix + t.s.Project + "/" + name
}

// Message templates. They name the project, element, region, what happened
// and since when, and link to the element in the editor (the editor_url
// annotation the alert bridge sets; metric rules carry it too).
const (
	slackTitle   = `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}: {{ .CommonLabels.project }}/{{ .CommonLabels.element }}{{ with .CommonLabels.region }} in {{ . }}{{ end }}`
	alertLines   = `{{ range .Alerts }}{{ if eq .Status "firing" }}FIRING{{ else }}RESOLVED{{ end }} {{ .Labels.alertname }} {{ .Labels.project }}/{{ .Labels.element }}{{ with .Labels.region }} in {{ . }}{{ end }}: {{ .Annotations.summary }}{{ "\n" }}{{ with .Annotations.description }}{{ . }}{{ "\n" }}{{ end }}since {{ .StartsAt.UTC.Format "2006-01-02 15:04:05 UTC" }}{{ if eq .Status "resolved" }}, resolved {{ .EndsAt.UTC.Format "2006-01-02 15:04:05 UTC" }}{{ end }}{{ "\n" }}{{ with .Annotations.editor_url }}{{ . }}{{ "\n" }}{{ end }}{{ "\n" }}{{ end }}`
	emailSubject = `[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}: {{ .CommonLabels.project }}/{{ .CommonLabels.element }}{{ with .CommonLabels.region }} in {{ . }}{{ end }}`
)

// alertmanager renders the project's route subtree and receivers: a root
// route (for a standalone file) holding one project route that matches
// project="<p>", and under it one route per element and receiver. The
// alerts layer merges the project route and the receivers into the
// operator's Alertmanager config; see observe/alerts. Secrets (Slack and
// webhook URLs, SMTP passwords) are read from files under
// AlertingOptions.SecretsDir, never inlined. Email receivers leave the SMTP
// server, sender and login to the config's global smtp_* settings unless
// the schema sets them.
func (t *translation) alertmanager() (string, error) {
	s := t.s
	none := strings.TrimSuffix(t.receiverName(""), "/")
	o := t.opts.Alerting
	project := &amRoute{
		Receiver:  none,
		Matchers:  []string{fmt.Sprintf("project=%q", s.Project)},
		GroupBy:   []string{"alertname", "project", "element", "region"},
		GroupWait: o.GroupWait, GroupInterval: o.GroupInterval, RepeatInterval: o.RepeatInterval,
	}
	for i := range s.Elements {
		e := &s.Elements[i]
		if e.Alerts == nil {
			continue
		}
		for _, r := range e.Alerts.Receivers {
			project.Routes = append(project.Routes, &amRoute{
				Receiver: t.receiverName(r),
				Matchers: []string{fmt.Sprintf("element=%q", e.ID)},
				Continue: true,
			})
		}
	}
	f := amFile{Route: &amRoute{Receiver: none, Routes: []*amRoute{project}}, Receivers: []amReceiver{{Name: none}}}
	secretFile := func(name string) string { return path.Join(o.SecretsDir, s.Project, name) }
	for _, name := range schema.SortedKeys(s.Receivers) {
		r := s.Receivers[name]
		rc := amReceiver{Name: t.receiverName(name)}
		switch {
		case r.Slack != nil:
			rc.SlackConfigs = []amSlack{{
				APIURLFile: secretFile(r.Slack.WebhookURLSecret), Channel: r.Slack.Channel, SendResolved: true,
				Title: slackTitle, Text: alertLines,
			}}
		case r.Email != nil:
			m := amEmail{To: r.Email.To, From: r.Email.From, Smarthost: r.Email.Smarthost, AuthUsername: r.Email.AuthUsername,
				SendResolved: true, Headers: map[string]string{"Subject": emailSubject}, Text: alertLines}
			if r.Email.AuthPasswordSecret != "" {
				m.AuthPasswordFile = secretFile(r.Email.AuthPasswordSecret)
			}
			rc.EmailConfigs = []amEmail{m}
		case r.Webhook != nil:
			w := amWebhook{URL: r.Webhook.URL, SendResolved: true}
			if r.Webhook.URLSecret != "" {
				w.URLFile = secretFile(r.Webhook.URLSecret)
			}
			rc.WebhookConfigs = []amWebhook{w}
		}
		f.Receivers = append(f.Receivers, rc)
	}
	out, err := marshalYAML(f)
	if err != nil {
		return "", fmt.Errorf("render alertmanager config: %w", err)
	}
	// Email receivers without their own smarthost rely on the global
	// section of the config this is merged into; check the rest with a
	// stand-in for it.
	if _, err := amconfig.Load(validationGlobal + out); err != nil {
		return "", fmt.Errorf("render alertmanager config: alertmanager rejects it: %w", err)
	}
	return "# Alertmanager routes and receivers for project " + s.Project + ", rendered by Backplane.\n" +
		"# Merge the project route and the receivers into your Alertmanager config; email\n" +
		"# receivers use its global smtp_smarthost and smtp_from unless set in the schema.\n" + out, nil
}

// validationGlobal stands in for the operator's global SMTP settings when
// the rendered file is checked on its own.
const validationGlobal = "global:\n  smtp_smarthost: localhost:25\n  smtp_from: alertmanager@localhost\n"

// ruleSpec is one alerting rule written for every long-running element:
// Ratio, a PromQL ratio per instance and task with %[1]s where the job ID
// goes, compared with Above. Summary follows the element's ID, with %[1]s
// where the rule's `for` goes, and may use the alert's template data
// ($value is the ratio, $labels the series' labels).
type ruleSpec struct {
	Alert, Ratio, Above, For, Severity, Summary string

	once sync.Once
	// expr is the rule's expression as the inside of a YAML double-quoted
	// scalar, split around the job ID; summary is Summary, escaped and
	// split around the rule's `for`.
	expr, summary []string
}

// parts escapes the spec for the writer, once.
func (r *ruleSpec) parts() (expr, summary []string) {
	r.once.Do(func() {
		r.expr = strings.Split(yamlEscape(r.Ratio+" > "+r.Above), "%[1]s")
		r.summary = strings.Split(yamlEscape(r.Summary), "%[1]s")
	})
	return r.expr, r.summary
}

// The metric rules. They read the allocation metrics a Nomad client
// publishes (telemetry publish_allocation_metrics and prometheus_metrics):
// nomad_client_allocs_memory_rss and _memory_allocated in bytes, and
// nomad_client_allocs_cpu_total_ticks and _cpu_allocated in MHz, each
// labelled alloc_id, task, task_group, job, namespace and host. Memory is
// RSS because raw_exec and exec measure RSS and swap only, with no
// memory_usage series. Both sides are summed by alloc_id and task, so the
// ratio does not depend on the other labels a scrape adds.
//
// No rule counts restarts: Nomad exports no restart series until a task
// restarts, and the alert bridge raises RestartLoop from Nomad's events,
// so a rule would only notify twice.
var elementRules = []*ruleSpec{
	{
		Alert:    "MemoryNearLimit",
		Ratio:    `sum by (alloc_id, task) (nomad_client_allocs_memory_rss{job="%[1]s"}) / sum by (alloc_id, task) (nomad_client_allocs_memory_allocated{job="%[1]s"})`,
		Above:    "0.9",
		For:      "5m",
		Severity: "warning",
		Summary:  `memory of task {{ $labels.task }} at {{ $value | humanizePercentage }} of its reservation (over 90% for %[1]s)`,
	},
	{
		Alert:    "CPUNearLimit",
		Ratio:    `sum by (alloc_id, task) (nomad_client_allocs_cpu_total_ticks{job="%[1]s"}) / sum by (alloc_id, task) (nomad_client_allocs_cpu_allocated{job="%[1]s"})`,
		Above:    "0.9",
		For:      "10m",
		Severity: "warning",
		Summary:  `CPU of task {{ $labels.task }} at {{ $value | humanizePercentage }} of its reservation (over 90% for %[1]s)`,
	},
}

// rules renders Prometheus alerting rules for every long-running element:
// memory and CPU near the element's reservation, per instance and task.
// The rules select job="<project>-<element>", so the scrape of Nomad must
// keep Nomad's job label (honor_labels: true); Prometheus would otherwise
// rename it exported_job. They carry the labels project, element and
// severity; region comes from the Prometheus of each region, whose
// global.external_labels set it on every alert it sends.
//
// The file grows with the project, and a generic YAML encoder spent most of
// a translation on it, so it is written directly. Every value is a YAML
// double-quoted scalar. Project, element and job IDs are DNS labels, which
// need no escaping there; the rules' text and the public URL go through
// yamlEscape, and the public URL is also kept from being read as a
// template (Prometheus expands annotations).
func (t *translation) rules() string {
	p := t.s.Project
	o := t.opts.Alerting
	forOverride := ""
	if o.RuleFor > 0 {
		forOverride = promDuration(o.RuleFor)
	}
	editor := ""
	if o.PublicURL != "" {
		// Project and element IDs are DNS labels: as the alert bridge's
		// EditorURL, with nothing to escape.
		editor = yamlEscape(templateLiteral(strings.TrimRight(o.PublicURL, "/"))) + "/p/" + p + "?element="
	}
	var b strings.Builder
	b.Grow(512 + len(t.s.Elements)*len(elementRules)*(560+len(editor)))
	b.WriteString("# Prometheus alerting rules for project " + p + ", rendered by Backplane.\n")
	b.WriteString("# They need Nomad's allocation metrics scraped with honor_labels: true. Alerts\n")
	b.WriteString("# carry project, element and severity; region comes from the external_labels\n")
	b.WriteString("# of each region's Prometheus.\n")
	b.WriteString("groups:\n  - name: \"backplane-" + p + "\"\n    rules:")
	n := 0
	for i := range t.s.Elements {
		e := &t.s.Elements[i]
		if t.batch[e.ID] {
			continue // a cron job's runs end; limits are not its failure mode
		}
		job := t.jobID(e.ID)
		for _, r := range elementRules {
			n++
			expr, summary := r.parts()
			b.WriteString("\n      - alert: \"")
			b.WriteString(r.Alert)
			b.WriteString("\"\n        expr: \"")
			for i, part := range expr {
				if i > 0 {
					b.WriteString(job)
				}
				b.WriteString(part)
			}
			b.WriteByte('"')
			forDur := r.For
			if forOverride != "" {
				forDur = forOverride
			}
			b.WriteString("\n        for: \"" + forDur + "\"")
			b.WriteString("\n        labels:\n          element: \"")
			b.WriteString(e.ID)
			b.WriteString("\"\n          project: \"")
			b.WriteString(p)
			b.WriteString("\"\n          severity: \"")
			b.WriteString(r.Severity)
			b.WriteString("\"\n        annotations:\n          summary: \"")
			b.WriteString(e.ID)
			b.WriteString(": ")
			for i, part := range summary {
				if i > 0 {
					b.WriteString(forDur)
				}
				b.WriteString(part)
			}
			b.WriteByte('"')
			if editor != "" {
				b.WriteString("\n          editor_url: \"")
				b.WriteString(editor)
				b.WriteString(e.ID)
				b.WriteByte('"')
			}
		}
	}
	if n == 0 {
		b.WriteString(" []")
	}
	b.WriteByte('\n')
	return b.String()
}

// yamlEscape returns s as the inside of a YAML double-quoted scalar:
// backslash and double quote escaped, and every control character and
// every character YAML reads as a line break or a byte order mark written
// as an escape. Invalid UTF-8 becomes U+FFFD.
func yamlEscape(s string) string {
	clean := true
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029 || c == 0xfeff || c == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, c := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f || c == 0x85:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c == 0x2028 || c == 0x2029 || c == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// templateLiteral keeps Prometheus from reading s as a template, as it
// reads annotations: "{{" is written as an action that prints "{{".
func templateLiteral(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

// promDuration formats d, cut to whole milliseconds (at least 1ms), in
// Prometheus's duration syntax: 1h30m, 45s, 250ms.
func promDuration(d time.Duration) string {
	ms := int64(d / time.Millisecond)
	if ms <= 0 {
		ms = 1
	}
	var b strings.Builder
	for _, u := range []struct {
		ms   int64
		unit string
	}{{3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}} {
		if ms >= u.ms {
			b.WriteString(strconv.FormatInt(ms/u.ms, 10))
			b.WriteString(u.unit)
			ms %= u.ms
		}
	}
	return b.String()
}

func marshalYAML(v any) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}
