package translator

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/nomad/api"
	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/schema"
)

// logship is the sidecar that ships the group's logs to Loki.
func (t *translation) logship(e *schema.Element, region, driver string) *api.Task {
	task := &api.Task{
		Name: "logship", Driver: driver, Config: map[string]any{},
		Lifecycle: &api.TaskLifecycle{Hook: api.TaskLifecycleHookPoststart, Sidecar: true},
		Resources: &api.Resources{CPU: new(50), MemoryMB: new(64)},
	}
	args := []any{
		"logship",
		"--loki-url", t.opts.LokiURL,
		"--alloc-dir", "${NOMAD_ALLOC_DIR}",
		"--label", "project=" + t.s.Project,
		"--label", "element=" + e.ID,
		"--label", "region=" + region,
		"--label", "alloc=${NOMAD_ALLOC_ID}",
	}
	switch {
	case driver == "docker":
		task.Config["image"] = t.opts.Logship.Image
		task.Config["args"] = args
	case t.opts.Logship.Command != "":
		task.Config["command"] = t.opts.Logship.Command
		task.Config["args"] = args
	default:
		task.Artifacts = []*api.TaskArtifact{{GetterSource: new(t.opts.Logship.ArtifactURL), RelativeDest: new("local/logship")}}
		task.Config["command"] = "${NOMAD_TASK_DIR}/logship/backplane"
		task.Config["args"] = args
	}
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
	To           string `yaml:"to"`
	From         string `yaml:"from"`
	Smarthost    string `yaml:"smarthost"`
	SendResolved bool   `yaml:"send_resolved"`
}

type amWebhook struct {
	URL          string `yaml:"url,omitempty"`
	URLFile      string `yaml:"url_file,omitempty"`
	SendResolved bool   `yaml:"send_resolved"`
}

// receiverName scopes a schema receiver to the project.
func (t *translation) receiverName(name string) string { return t.s.Project + "-" + name }

// alertmanager renders the project's route subtree and receivers. The root
// route sends anything unmatched to a receiver with no integrations; the
// alerts layer merges the project subtree under its own root. Secret URLs are
// read from files under AlertingOptions.SecretsDir, never inlined.
func (t *translation) alertmanager() (string, error) {
	s := t.s
	none := s.Project + "-none"
	project := &amRoute{
		Receiver:  none,
		Matchers:  []string{fmt.Sprintf("project=%q", s.Project)},
		GroupBy:   []string{"alertname", "project", "element", "region"},
		GroupWait: "30s", GroupInterval: "5m", RepeatInterval: "4h",
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
	secretFile := func(name string) string { return path.Join(t.opts.Alerting.SecretsDir, s.Project, name) }
	for _, name := range schema.SortedKeys(s.Receivers) {
		r := s.Receivers[name]
		rc := amReceiver{Name: t.receiverName(name)}
		switch {
		case r.Slack != nil:
			rc.SlackConfigs = []amSlack{{
				APIURLFile: secretFile(r.Slack.WebhookURLSecret), Channel: r.Slack.Channel, SendResolved: true,
				Title: `[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.project }}/{{ .CommonLabels.element }}`,
				Text:  `{{ range .Alerts }}{{ .Annotations.summary }}{{ "\n" }}{{ end }}`,
			}}
		case r.Email != nil:
			rc.EmailConfigs = []amEmail{{To: r.Email.To, From: t.opts.Alerting.SMTPFrom, Smarthost: t.opts.Alerting.SMTPSmarthost, SendResolved: true}}
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
	if _, err := amconfig.Load(out); err != nil {
		return "", fmt.Errorf("render alertmanager config: alertmanager rejects it: %w", err)
	}
	return "# Alertmanager routes and receivers for project " + s.Project + ", rendered by Backplane.\n" + out, nil
}

// rule is one alerting rule; its labels are project, element and severity.
type rule struct {
	Alert, Expr, For, Element, Severity, Summary string
}

// rules renders Prometheus alerting rules for every long-running element:
// a restart loop, memory near its limit and CPU near its allocation. They
// use the allocation metrics Nomad publishes with publish_allocation_metrics
// (nomad_client_allocs_*), whose `job` label must be kept by the scrape
// (honor_labels: true), since Prometheus would otherwise rename it.
func (t *translation) rules() string {
	var rules []rule
	for i := range t.s.Elements {
		e := &t.s.Elements[i]
		if t.batch[e.ID] {
			continue // a cron job's runs end; restarts and limits are not its failure modes
		}
		job := strconv.Quote(t.jobID(e.ID))
		rules = append(rules,
			rule{
				Alert:    "BackplaneRestartLoop",
				Expr:     "sum by (task) (increase(nomad_client_allocs_restart{job=" + job + "}[15m])) > 3",
				Severity: "critical",
				Summary:  e.ID + ": a task restarted more than 3 times in 15 minutes",
			},
			rule{
				Alert:    "BackplaneMemoryNearLimit",
				Expr:     "max by (task) (nomad_client_allocs_memory_usage{job=" + job + "} / nomad_client_allocs_memory_allocated{job=" + job + "}) > 0.9",
				For:      "5m",
				Severity: "warning",
				Summary:  e.ID + ": memory above 90% of its limit for 5 minutes",
			},
			rule{
				Alert:    "BackplaneCPUNearLimit",
				Expr:     "max by (task) (nomad_client_allocs_cpu_total_ticks{job=" + job + "} / nomad_client_allocs_cpu_allocated{job=" + job + "}) > 0.9",
				For:      "10m",
				Severity: "warning",
				Summary:  e.ID + ": CPU above 90% of its allocation for 10 minutes",
			},
		)
		for j := len(rules) - 3; j < len(rules); j++ {
			rules[j].Element = e.ID
		}
	}
	return "# Prometheus alerting rules for project " + t.s.Project + ", rendered by Backplane.\n" + t.writeRules(rules)
}

// writeRules writes the rule file as YAML. It grows with the project (three
// rules an element), and a generic YAML encoder spent most of a translation
// on it, so it is written directly: every value is a YAML double-quoted
// scalar.
func (t *translation) writeRules(rules []rule) string {
	var b strings.Builder
	b.Grow(64 + len(rules)*400)
	b.WriteString("groups:\n  - name: ")
	writeYAMLString(&b, "backplane-"+t.s.Project)
	b.WriteString("\n    rules:")
	if len(rules) == 0 {
		b.WriteString(" []")
	}
	b.WriteByte('\n')
	for _, r := range rules {
		b.WriteString("      - alert: ")
		writeYAMLString(&b, r.Alert)
		b.WriteString("\n        expr: ")
		writeYAMLString(&b, r.Expr)
		if r.For != "" {
			b.WriteString("\n        for: ")
			writeYAMLString(&b, r.For)
		}
		b.WriteString("\n        labels:\n          element: ")
		writeYAMLString(&b, r.Element)
		b.WriteString("\n          project: ")
		writeYAMLString(&b, t.s.Project)
		b.WriteString("\n          severity: ")
		writeYAMLString(&b, r.Severity)
		b.WriteString("\n        annotations:\n          summary: ")
		writeYAMLString(&b, r.Summary)
		b.WriteByte('\n')
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

// writeYAMLString writes s as a YAML double-quoted scalar, escaping only what
// YAML requires: backslash, quote, and characters that are not printable.
func writeYAMLString(b *strings.Builder, s string) {
	b.WriteByte('"')
	last := 0
	for i, r := range s {
		var esc string
		switch {
		case r == '\\':
			esc = `\\`
		case r == '"':
			esc = `\"`
		case r == '\n':
			esc = `\n`
		case r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError:
			esc = fmt.Sprintf(`\u%04x`, r)
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		_, width := utf8.DecodeRuneInString(s[i:])
		last = i + width
	}
	b.WriteString(s[last:])
	b.WriteByte('"')
}
