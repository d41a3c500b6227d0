package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// validBase is a small schema that passes Validate. Every validation case
// starts from a fresh copy and breaks exactly one thing.
//
// Element order matters for the cases that address an element by index:
// api is elements[0], db [1], nightly [2], lb [3] and cache [4]. cache is
// referenced by nothing, so its ID can change without side effects.
func validBase() *Schema {
	return &Schema{
		Version:   1,
		Project:   "shop",
		Namespace: "default",
		Regions: map[string]Region{
			"eu": {Datacenters: []string{"eu-west-1"}},
			"us": {Datacenters: []string{"us-east-1"}},
		},
		Defaults: Defaults{Region: "eu", Driver: "docker"},
		Receivers: map[string]Receiver{
			"api-team": {Slack: &SlackReceiver{Channel: "#api", WebhookURLSecret: "SLACK_URL"}},
			"oncall":   {Email: &EmailReceiver{To: "oncall@example.com, Ops <ops@example.com>"}},
			"hook":     {Webhook: &WebhookReceiver{URL: "https://hooks.example.com/alerts"}},
			"vault":    {Webhook: &WebhookReceiver{URLSecret: "HOOK_URL"}},
		},
		Elements: []Element{
			{
				ID:   "api",
				Kind: "app.nodejs",
				Source: &Source{
					Repo: "https://github.com/acme/api.git", Branch: "main", Ref: "v1.2.3", Dir: "services/api",
					Autodeploy: true, Build: "npm ci", Start: "npm start",
				},
				Driver:    "exec",
				Port:      3000,
				Env:       map[string]string{"NODE_ENV": "production"},
				Secrets:   []string{"STRIPE_KEY"},
				Resources: &Resources{CPU: 300, Memory: 256, MemoryMax: 512},
				Scale:     &Scale{Count: 2, Min: 2, Max: 8, CPUTarget: 70},
				Health:    &Health{HTTP: "/healthz", Interval: "10s", Timeout: "2s", MinHealthyTime: "0s"},
				Placement: &Placement{Regions: []string{"eu", "us"}, Datacenters: []string{"eu-west-1"}},
				Alerts:    &Alerts{Receivers: []string{"api-team", "oncall"}},
				Params:    map[string]string{"node_version": "22"},
			},
			{ID: "db", Kind: "db.mongodb", Version: "7", Volume: &Volume{Name: "mongo-data", SizeMB: 10240}},
			{ID: "nightly", Kind: "cron", Schedule: "0 3 * * *", Command: "python3 -m report", Args: []string{"--since", "yesterday"}},
			{ID: "lb", Kind: "lb.nginx", Port: 80, Upstream: &Upstream{Policy: "least_conn"}, Health: &Health{TCP: true}},
			{ID: "cache", Kind: "cache.redis"},
		},
		Connections: []Connection{
			{From: "lb", To: "api", Weight: 100, Route: &Route{Path: "/api"}},
			{From: "api", To: "db"},
			{From: "nightly", To: "db", Env: "REPORT_DB_URL"},
		},
		Layout: map[string]Position{"api": {X: 320, Y: 120}, "db": {X: 620, Y: 120}},
	}
}

// el returns the element of s with the given ID; the cases use it to reach
// into the base schema.
func el(t *testing.T, s *Schema, id string) *Element {
	t.Helper()
	e := s.Element(id)
	if e == nil {
		t.Fatalf("base schema has no element %q", id)
	}
	return e
}

func TestValidateBaseIsValid(t *testing.T) {
	if errs := Validate(validBase()); len(errs) != 0 {
		t.Fatalf("base schema: want no errors, got:\n%v", errs)
	}
}

// One case per rule in validate.go. Each case must produce exactly one
// problem, at exactly the path given, whose message contains msg (or equals
// exact, when set).
func TestValidateRules(t *testing.T) {
	longLabel := strings.Repeat("a", 64)
	cases := []struct {
		name   string
		mutate func(t *testing.T, s *Schema)
		path   string
		msg    string
		exact  string
	}{
		// Project level.
		{"version", func(t *testing.T, s *Schema) { s.Version = 2 }, "version", "", "must be 1, not 2"},
		{"version missing", func(t *testing.T, s *Schema) { s.Version = 0 }, "version", "", "must be 1, not 0"},
		{"project required", func(t *testing.T, s *Schema) { s.Project = "" }, "project", "", "is required"},
		{"project uppercase", func(t *testing.T, s *Schema) { s.Project = "Shop" }, "project", `"Shop" must be a lowercase DNS label`, ""},
		{"project starts with digit", func(t *testing.T, s *Schema) { s.Project = "1shop" }, "project", "must be a lowercase DNS label", ""},
		{"project ends with dash", func(t *testing.T, s *Schema) { s.Project = "shop-" }, "project", "must be a lowercase DNS label", ""},
		{"project too long", func(t *testing.T, s *Schema) {
			s.Project = longLabel
			// Keep the job IDs short enough that only the project is at fault.
			s.Elements = s.Elements[:0]
			s.Connections, s.Layout = nil, nil
		}, "project", "at most 63 characters", ""},
		{"namespace", func(t *testing.T, s *Schema) { s.Namespace = "Prod_1" }, "namespace", `"Prod_1" must be a lowercase DNS label`, ""},
		{"region name", func(t *testing.T, s *Schema) { s.Regions["eu west"] = Region{} }, `regions["eu west"]`, `region name "eu west" must be letters, digits`, ""},
		{"region datacenter", func(t *testing.T, s *Schema) {
			s.Regions["us"] = Region{Datacenters: []string{"us-east-1", "us east 2"}}
		}, "regions.us.datacenters[1]", `datacenter "us east 2" is not a valid name`, ""},
		{"defaults region undeclared", func(t *testing.T, s *Schema) { s.Defaults.Region = "ap" }, "defaults.region", `region "ap" is not declared in regions`, ""},
		{"defaults region required", func(t *testing.T, s *Schema) { s.Defaults.Region = "" }, "defaults.region", "", "is required when more than one region is declared"},
		{"defaults driver", func(t *testing.T, s *Schema) { s.Defaults.Driver = "podman" }, "defaults.driver", "", `driver "podman" must be one of docker, exec, raw_exec`},

		// Receivers.
		{"receiver name", func(t *testing.T, s *Schema) {
			s.Receivers["Ops_Team"] = Receiver{Email: &EmailReceiver{To: "ops@example.com"}}
		}, "receivers.Ops_Team", `receiver name "Ops_Team" must be a lowercase DNS label`, ""},
		{"receiver none set", func(t *testing.T, s *Schema) { s.Receivers["empty"] = Receiver{} }, "receivers.empty", "needs exactly one of slack, email or webhook", ""},
		{"receiver two set", func(t *testing.T, s *Schema) {
			s.Receivers["oncall"] = Receiver{Email: &EmailReceiver{To: "a@example.com"}, Webhook: &WebhookReceiver{URL: "https://example.com/"}}
		}, "receivers.oncall", "needs exactly one of slack, email or webhook", ""},
		{"slack channel", func(t *testing.T, s *Schema) { s.Receivers["api-team"].Slack.Channel = "" }, "receivers.api-team.slack.channel", "", "is required"},
		{"slack secret required", func(t *testing.T, s *Schema) { s.Receivers["api-team"].Slack.WebhookURLSecret = "" }, "receivers.api-team.slack.webhook_url_secret", "", "is required"},
		{"slack secret name", func(t *testing.T, s *Schema) { s.Receivers["api-team"].Slack.WebhookURLSecret = "slack-url" }, "receivers.api-team.slack.webhook_url_secret", `secret name "slack-url" must be a valid environment variable name`, ""},
		{"email required", func(t *testing.T, s *Schema) { s.Receivers["oncall"].Email.To = "" }, "receivers.oncall.email.to", "", "is required"},
		{"email address", func(t *testing.T, s *Schema) { s.Receivers["oncall"].Email.To = "oncall at example" }, "receivers.oncall.email.to", `"oncall at example" is not a list of email addresses`, ""},
		{"webhook needs url", func(t *testing.T, s *Schema) { s.Receivers["hook"].Webhook.URL = "" }, "receivers.hook.webhook", "", "needs url or url_secret"},
		{"webhook url and secret", func(t *testing.T, s *Schema) { s.Receivers["hook"].Webhook.URLSecret = "HOOK_URL" }, "receivers.hook.webhook", "", "set url or url_secret, not both"},
		{"webhook url scheme", func(t *testing.T, s *Schema) { s.Receivers["hook"].Webhook.URL = "ftp://hooks.example.com/x" }, "receivers.hook.webhook.url", "", "must be an http or https URL"},
		{"webhook url host", func(t *testing.T, s *Schema) { s.Receivers["hook"].Webhook.URL = "https:///x" }, "receivers.hook.webhook.url", "", "must be an http or https URL"},
		{"webhook url credentials", func(t *testing.T, s *Schema) {
			s.Receivers["hook"].Webhook.URL = "https://user:pw@hooks.example.com/x"
		}, "receivers.hook.webhook.url", "carries credentials; put the URL in a secret", ""},
		{"webhook url_secret name", func(t *testing.T, s *Schema) { s.Receivers["vault"].Webhook.URLSecret = "1HOOK" }, "receivers.vault.webhook.url_secret", `secret name "1HOOK"`, ""},

		// Element identity.
		{"element id required", func(t *testing.T, s *Schema) { el(t, s, "cache").ID = "" }, "elements[4].id", "", "is required"},
		{"element id uppercase", func(t *testing.T, s *Schema) { el(t, s, "cache").ID = "Cache" }, "elements[Cache].id", `"Cache" must be a lowercase DNS label`, ""},
		{"element id not a plain key", func(t *testing.T, s *Schema) { el(t, s, "cache").ID = "my cache" }, "elements[4].id", `"my cache" must be a lowercase DNS label`, ""},
		{"element job id too long", func(t *testing.T, s *Schema) { el(t, s, "cache").ID = strings.Repeat("c", 59) }, "elements[" + strings.Repeat("c", 59) + "].id", "is 64 characters; shop-<element> must be at most 63", ""},
		{"element duplicate id", func(t *testing.T, s *Schema) { el(t, s, "cache").ID = "db" }, "elements[db].id", "", `duplicate element id "db"`},
		{"element kind required", func(t *testing.T, s *Schema) { el(t, s, "cache").Kind = "" }, "elements[cache].kind", "", "is required"},
		{"element driver", func(t *testing.T, s *Schema) { el(t, s, "api").Driver = "java" }, "elements[api].driver", `driver "java" must be one of`, ""},
		{"port too high", func(t *testing.T, s *Schema) { el(t, s, "api").Port = 70000 }, "elements[api].port", "", "70000 is out of range 1-65535"},
		{"port negative", func(t *testing.T, s *Schema) { el(t, s, "api").Port = -1 }, "elements[api].port", "", "-1 is out of range 1-65535"},

		// Env, secrets, params, commands.
		{"env key name", func(t *testing.T, s *Schema) { el(t, s, "api").Env["1BAD"] = "x" }, "elements[api].env.1BAD", `"1BAD" is not a valid environment variable name`, ""},
		{"env key with space", func(t *testing.T, s *Schema) { el(t, s, "api").Env["MY VAR"] = "x" }, `elements[api].env["MY VAR"]`, "is not a valid environment variable name", ""},
		{"env value NUL", func(t *testing.T, s *Schema) { el(t, s, "api").Env["NODE_ENV"] = "prod\x00uction" }, "elements[api].env.NODE_ENV", "", "value contains a NUL byte"},
		{"args NUL", func(t *testing.T, s *Schema) { el(t, s, "nightly").Args[1] = "yes\x00terday" }, "elements[nightly].args[1]", "", "contains a NUL byte"},
		{"command NUL", func(t *testing.T, s *Schema) { el(t, s, "nightly").Command = "python3\x00" }, "elements[nightly].command", "", "contains a NUL byte"},
		{"params key", func(t *testing.T, s *Schema) { el(t, s, "api").Params["node-version"] = "22" }, "elements[api].params.node-version", `"node-version" is not a valid parameter name`, ""},
		{"secret name", func(t *testing.T, s *Schema) { el(t, s, "api").Secrets = []string{"stripe-key"} }, "elements[api].secrets[0]", `secret name "stripe-key" must be a valid environment variable name`, ""},
		{"secret empty", func(t *testing.T, s *Schema) { el(t, s, "api").Secrets = []string{"STRIPE_KEY", ""} }, "elements[api].secrets[1]", "", "is required"},
		{"secret duplicate", func(t *testing.T, s *Schema) { el(t, s, "api").Secrets = []string{"STRIPE_KEY", "STRIPE_KEY"} }, "elements[api].secrets[1]", "", `duplicate secret "STRIPE_KEY"`},
		{"secret also in env", func(t *testing.T, s *Schema) { el(t, s, "api").Secrets = []string{"STRIPE_KEY", "NODE_ENV"} }, "elements[api].secrets[1]", `"NODE_ENV" is also set in env`, ""},

		// Source.
		{"source repo required", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Repo = "" }, "elements[api].source.repo", "", "is required"},
		{"source repo not a URL", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Repo = "github.com/acme/api" }, "elements[api].source.repo", `"github.com/acme/api" is not a git URL`, ""},
		{"source repo scheme", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Repo = "file:///srv/api.git" }, "elements[api].source.repo", "is not a git URL", ""},
		{"source repo scp with space", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Repo = "git@github.com:acme/my api.git" }, "elements[api].source.repo", "is not a git URL", ""},
		{"source branch", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Branch = "main branch" }, "elements[api].source.branch", "", `"main branch" is not a valid git ref name`},
		{"source ref", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Ref = "v1^{}" }, "elements[api].source.ref", "", `"v1^{}" is not a valid git ref name`},
		{"source dir absolute", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Dir = "/srv/api" }, "elements[api].source.dir", `"/srv/api" must be a relative path inside the repository`, ""},
		{"source dir escapes", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Dir = "services/../../etc" }, "elements[api].source.dir", "must be a relative path inside the repository", ""},

		// Resources.
		{"cpu below minimum", func(t *testing.T, s *Schema) { el(t, s, "api").Resources.CPU = 5 }, "elements[api].resources.cpu", "", "5 MHz is below Nomad's minimum of 10"},
		{"cpu negative", func(t *testing.T, s *Schema) { el(t, s, "api").Resources.CPU = -1 }, "elements[api].resources.cpu", "", "-1 MHz is below Nomad's minimum of 10"},
		{"memory below minimum", func(t *testing.T, s *Schema) {
			el(t, s, "api").Resources = &Resources{Memory: 9}
		}, "elements[api].resources.memory", "", "9 MB is below Nomad's minimum of 10"},
		{"memory_max below memory", func(t *testing.T, s *Schema) { el(t, s, "api").Resources.MemoryMax = 128 }, "elements[api].resources.memory_max", "", "must be >= memory (256)"},

		// Scale.
		{"scale count negative", func(t *testing.T, s *Schema) { el(t, s, "api").Scale = &Scale{Count: -1} }, "elements[api].scale.count", "", "must not be negative"},
		{"scale min negative", func(t *testing.T, s *Schema) { el(t, s, "api").Scale = &Scale{Min: -1} }, "elements[api].scale.min", "", "must not be negative"},
		{"scale max below min", func(t *testing.T, s *Schema) { el(t, s, "api").Scale = &Scale{Min: 2, Max: 1} }, "elements[api].scale.max", "", "must be >= min (2)"},
		{"scale max required with min", func(t *testing.T, s *Schema) { el(t, s, "api").Scale = &Scale{Count: 2, Min: 2} }, "elements[api].scale.max", "", "is required when min is set"},
		{"scale count above max", func(t *testing.T, s *Schema) { el(t, s, "api").Scale.Count = 9 }, "elements[api].scale.count", "", "9 must be between min (2) and max (8)"},
		{"scale count below min", func(t *testing.T, s *Schema) { el(t, s, "api").Scale.Count = 1 }, "elements[api].scale.count", "", "1 must be between min (2) and max (8)"},
		{"scale cpu_target range", func(t *testing.T, s *Schema) { el(t, s, "api").Scale.CPUTarget = 150 }, "elements[api].scale.cpu_target", "", "150 must be a percentage between 1 and 100"},
		{"scale cpu_target without max", func(t *testing.T, s *Schema) {
			el(t, s, "api").Scale = &Scale{Count: 2, CPUTarget: 70}
		}, "elements[api].scale.cpu_target", "", "needs max to autoscale"},

		// Health.
		{"health http path", func(t *testing.T, s *Schema) { el(t, s, "api").Health.HTTP = "healthz" }, "elements[api].health.http", `"healthz" must be a path starting with '/'`, ""},
		{"health http and tcp", func(t *testing.T, s *Schema) { el(t, s, "api").Health.TCP = true }, "elements[api].health", "", "set http or tcp, not both"},
		{"health interval syntax", func(t *testing.T, s *Schema) { el(t, s, "api").Health.Interval = "10" }, "elements[api].health.interval", `"10" is not a duration`, ""},
		{"health interval minimum", func(t *testing.T, s *Schema) { el(t, s, "api").Health.Interval = "500ms" }, "elements[api].health.interval", "", "500ms is below the minimum of 1s"},
		{"health timeout", func(t *testing.T, s *Schema) { el(t, s, "api").Health.Timeout = "soon" }, "elements[api].health.timeout", `"soon" is not a duration`, ""},
		{"health min_healthy_time", func(t *testing.T, s *Schema) { el(t, s, "api").Health.MinHealthyTime = "-1s" }, "elements[api].health.min_healthy_time", "", "-1s is below the minimum of 0s"},

		// Placement and alerts.
		{"placement region undeclared", func(t *testing.T, s *Schema) { el(t, s, "api").Placement.Regions = []string{"eu", "ap"} }, "elements[api].placement.regions[1]", "", `region "ap" is not declared in regions`},
		{"placement region duplicate", func(t *testing.T, s *Schema) { el(t, s, "api").Placement.Regions = []string{"eu", "eu"} }, "elements[api].placement.regions[1]", "", `duplicate region "eu"`},
		{"placement datacenter", func(t *testing.T, s *Schema) { el(t, s, "api").Placement.Datacenters = []string{"-dc"} }, "elements[api].placement.datacenters[0]", "", `datacenter "-dc" is not a valid name`},
		{"alerts receiver undeclared", func(t *testing.T, s *Schema) {
			el(t, s, "api").Alerts.Receivers = []string{"api-team", "nobody"}
		}, "elements[api].alerts.receivers[1]", "", `receiver "nobody" is not declared in receivers`},

		// Volume, upstream, schedule.
		{"volume name required", func(t *testing.T, s *Schema) { el(t, s, "db").Volume.Name = "" }, "elements[db].volume.name", "", "is required"},
		{"volume name", func(t *testing.T, s *Schema) { el(t, s, "db").Volume.Name = "mongo data" }, "elements[db].volume.name", "", `"mongo data" is not a valid host volume name`},
		{"volume size negative", func(t *testing.T, s *Schema) { el(t, s, "db").Volume.SizeMB = -1 }, "elements[db].volume.size_mb", "", "must not be negative"},
		{"upstream policy", func(t *testing.T, s *Schema) { el(t, s, "lb").Upstream.Policy = "random" }, "elements[lb].upstream.policy", "", `"random" must be one of round_robin, least_conn, ip_hash`},
		{"schedule cron", func(t *testing.T, s *Schema) { el(t, s, "nightly").Schedule = "every night" }, "elements[nightly].schedule", `"every night" is not a cron expression`, ""},
		{"schedule cron field range", func(t *testing.T, s *Schema) { el(t, s, "nightly").Schedule = "0 25 * * *" }, "elements[nightly].schedule", "is not a cron expression", ""},
		// A time zone prefix without a space used to panic in the cron
		// parser; Nomad takes no time zone in the spec anyway.
		{"schedule time zone", func(t *testing.T, s *Schema) { el(t, s, "nightly").Schedule = "TZ=UTC" }, "elements[nightly].schedule", "time zone", ""},
		{"schedule cron time zone", func(t *testing.T, s *Schema) { el(t, s, "nightly").Schedule = "CRON_TZ=Europe/Paris 0 3 * * *" }, "elements[nightly].schedule", "time zone", ""},

		// Connections.
		{"connection from required", func(t *testing.T, s *Schema) { s.Connections[1].From = "" }, "connections[1].from", "", "is required"},
		// A dangling end names the missing element and the other end, and
		// offers the nearest ID.
		{"connection from unknown", func(t *testing.T, s *Schema) { s.Connections[1].From = "web" }, "connections[1].from", "", `no element has id "web"; it connects to db`},
		{"connection from mistyped", func(t *testing.T, s *Schema) { s.Connections[1].From = "apx" }, "connections[1].from", "", `no element has id "apx" (did you mean "api"?); it connects to db`},
		{"connection to required", func(t *testing.T, s *Schema) { s.Connections[1].To = "" }, "connections[1].to", "", "is required"},
		{"connection to unknown", func(t *testing.T, s *Schema) { s.Connections[1].To = "postgres" }, "connections[1].to", "", `no element has id "postgres"; api connects to it`},
		{"connection to mistyped", func(t *testing.T, s *Schema) { s.Connections[1].To = "dbx" }, "connections[1].to", "", `no element has id "dbx" (did you mean "db"?); api connects to it`},
		{"connection to a long mistyped id", func(t *testing.T, s *Schema) { s.Connections[1].To = "nigthly" }, "connections[1].to", "", `no element has id "nigthly" (did you mean "nightly"?); api connects to it`},
		{"connection to itself", func(t *testing.T, s *Schema) {
			s.Connections = append(s.Connections, Connection{From: "api", To: "api"})
		}, "connections[3].to", "", "api cannot connect to itself"},
		{"connection duplicate", func(t *testing.T, s *Schema) {
			s.Connections = append(s.Connections, Connection{From: "lb", To: "api"})
		}, "connections[3]", "", `duplicate connection from "lb" to "api" (also connections[0])`},
		{"connection env name", func(t *testing.T, s *Schema) { s.Connections[2].Env = "report-db-url" }, "connections[2].env", "", `"report-db-url" is not a valid environment variable name`},
		{"connection env duplicate", func(t *testing.T, s *Schema) {
			s.Connections = append(s.Connections, Connection{From: "nightly", To: "cache", Env: "REPORT_DB_URL"})
		}, "connections[3].env", "", `"REPORT_DB_URL" is already injected into "nightly" by connections[2]`},
		{"connection weight high", func(t *testing.T, s *Schema) { s.Connections[0].Weight = 101 }, "connections[0].weight", "", "101 must be between 1 and 100"},
		{"connection weight negative", func(t *testing.T, s *Schema) { s.Connections[0].Weight = -5 }, "connections[0].weight", "", "-5 must be between 1 and 100"},
		{"connection route path slash", func(t *testing.T, s *Schema) { s.Connections[0].Route.Path = "api" }, "connections[0].route.path", "", `"api" must start with '/'`},
		{"connection route path characters", func(t *testing.T, s *Schema) { s.Connections[0].Route.Path = "/api; return 200" }, "connections[0].route.path", "may not contain spaces, quotes, braces or ';'", ""},

		// Layout.
		{"layout unknown element", func(t *testing.T, s *Schema) { s.Layout["ghost"] = Position{} }, "layout.ghost", "", `no element has id "ghost"`},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			s := validBase()
			tc.mutate(t, s)
			errs := Validate(s)
			if len(errs) != 1 {
				t.Fatalf("want exactly one problem at %s, got %d:\n%v", tc.path, len(errs), errs)
			}
			e := errs[0]
			if e.Path != tc.path {
				t.Errorf("path = %q, want %q (message %q)", e.Path, tc.path, e.Msg)
			}
			if tc.exact != "" && e.Msg != tc.exact {
				t.Errorf("message = %q, want %q", e.Msg, tc.exact)
			}
			if tc.msg != "" && !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message = %q, want it to contain %q", e.Msg, tc.msg)
			}
			if e.File != "" || e.Line != 0 {
				t.Errorf("validation problem has file %q, line %d; want neither", e.File, e.Line)
			}
		})
	}
}

// With no regions declared the project runs in Nomad's default region,
// "global", and only that name may be used.
func TestValidateDefaultRegion(t *testing.T) {
	cases := []struct {
		name     string
		defaults string
		place    []string
		path     string
	}{
		{"nothing set", "", nil, ""},
		{"global by name", "global", []string{"global"}, ""},
		{"defaults undeclared", "eu", nil, "defaults.region"},
		{"placement undeclared", "", []string{"global", "eu"}, "elements[api].placement.regions[1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Schema{
				Version:  1,
				Project:  "p",
				Defaults: Defaults{Region: tc.defaults},
				Elements: []Element{{ID: "api", Kind: "app.go"}},
			}
			if tc.place != nil {
				s.Elements[0].Placement = &Placement{Regions: tc.place}
			}
			errs := Validate(s)
			if tc.path == "" {
				if len(errs) != 0 {
					t.Fatalf("want no problems, got:\n%v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Path != tc.path || !strings.Contains(errs[0].Msg, "is not declared in regions") {
				t.Fatalf("want one 'not declared' problem at %s, got:\n%v", tc.path, errs)
			}
		})
	}
}

func TestValidateAcceptedForms(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, s *Schema)
	}{
		{"scp-style repo", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Repo = "git@github.com:acme/api.git" }},
		{"ssh repo", func(t *testing.T, s *Schema) { el(t, s, "api").Source.Repo = "ssh://git@github.com/acme/api.git" }},
		{"raw_exec driver", func(t *testing.T, s *Schema) { s.Defaults.Driver = "raw_exec" }},
		{"cron descriptor", func(t *testing.T, s *Schema) { el(t, s, "nightly").Schedule = "@daily" }},
		{"port bounds", func(t *testing.T, s *Schema) { el(t, s, "api").Port = 65535; el(t, s, "lb").Port = 1 }},
		{"cpu_target bounds", func(t *testing.T, s *Schema) { el(t, s, "api").Scale.CPUTarget = 100 }},
		{"count at max", func(t *testing.T, s *Schema) { el(t, s, "api").Scale.Count = 8 }},
		{"count without bounds", func(t *testing.T, s *Schema) { el(t, s, "api").Scale = &Scale{Count: 5} }},
		{"memory_max equals memory", func(t *testing.T, s *Schema) { el(t, s, "api").Resources.MemoryMax = 256 }},
		{"weight bounds", func(t *testing.T, s *Schema) { s.Connections[0].Weight = 1 }},
		{"single region needs no default", func(t *testing.T, s *Schema) {
			delete(s.Regions, "us")
			s.Defaults.Region = ""
			el(t, s, "api").Placement.Regions = []string{"eu"}
		}},
		{"same env in different elements", func(t *testing.T, s *Schema) {
			s.Connections = append(s.Connections, Connection{From: "api", To: "cache", Env: "REPORT_DB_URL"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validBase()
			tc.mutate(t, s)
			if errs := Validate(s); len(errs) != 0 {
				t.Fatalf("want no problems, got:\n%v", errs)
			}
		})
	}
}

// Several problems come back together, sorted by path then message.
func TestValidateReportsAllSorted(t *testing.T) {
	s := validBase()
	s.Version = 3
	el(t, s, "api").Scale = &Scale{Min: 2, Max: 1}
	el(t, s, "api").Port = 0
	el(t, s, "db").Kind = ""
	s.Connections[0].Weight = 500
	errs := Validate(s)
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path)
	}
	want := []string{"connections[0].weight", "elements[api].scale.max", "elements[db].kind", "version"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("paths = %v, want %v", paths, want)
	}
}

func TestValidateErrorFormatting(t *testing.T) {
	s := validBase()
	el(t, s, "api").Scale = &Scale{Count: 2, Min: 2, Max: 1}
	errs := Validate(s)
	if len(errs) != 2 {
		t.Fatalf("want 2 problems, got:\n%v", errs)
	}
	err := errs.WithFile("backplane.yaml").Err()
	if err == nil {
		t.Fatal("Err() = nil with problems")
	}
	want := "backplane.yaml: elements[api].scale.count: 2 must be between min (2) and max (1)\n" +
		"backplane.yaml: elements[api].scale.max: must be >= min (2)"
	if got := err.Error(); got != want {
		t.Fatalf("Error() =\n%s\nwant\n%s", got, want)
	}
	if got, want := errs[1].Error(), "backplane.yaml: elements[api].scale.max: must be >= min (2)"; got != want {
		t.Fatalf("FieldError.Error() = %q, want %q", got, want)
	}

	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "elements[api].scale.count" {
		t.Fatalf("errors.As(*FieldError) = %v, want the first problem", fe)
	}
	if got := AsErrors(err); len(got) != 2 {
		t.Fatalf("AsErrors kept %d problems, want 2", len(got))
	}
	if Validate(validBase()).Err() != nil {
		t.Fatal("Err() of no problems is not nil")
	}
}

func TestFieldErrorParts(t *testing.T) {
	cases := []struct {
		name string
		err  *FieldError
		want string
	}{
		{"all parts", &FieldError{File: "f.yaml", Path: "project", Msg: "is required"}, "f.yaml: project: is required"},
		{"no file", &FieldError{Path: "project", Msg: "is required"}, "project: is required"},
		{"no path", &FieldError{File: "f.yaml", Msg: "file is empty"}, "f.yaml: file is empty"},
		{"message only", &FieldError{Msg: "file is empty"}, "file is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAsErrors(t *testing.T) {
	if AsErrors(nil) != nil {
		t.Fatal("AsErrors(nil) is not nil")
	}
	plain := errors.New("boom")
	got := AsErrors(plain)
	if len(got) != 1 || got[0].Path != "" || got[0].Msg != "boom" || !errors.Is(got[0], plain) {
		t.Fatalf("AsErrors(plain) = %#v", got)
	}
	fe := Errorf(ElementPath("api").Field("port"), "%d is bad", 7)
	got = AsErrors(fe)
	if len(got) != 1 || got[0] != fe || got[0].Error() != "elements[api].port: 7 is bad" {
		t.Fatalf("AsErrors(FieldError) = %v", got)
	}
}

func TestPath(t *testing.T) {
	base := Path("").Field("elements")
	cases := []struct {
		name string
		path Path
		want string
	}{
		{"empty", Path(""), ""},
		{"field", Path("").Field("project"), "project"},
		{"key", base.Key("api"), "elements[api]"},
		{"odd key", base.Key("my api"), `elements["my api"]`},
		{"index", base.Index(3).Field("id"), "elements[3].id"},
		{"map key", Path("").Field("env").MapKey("NODE_ENV"), "env.NODE_ENV"},
		{"odd map key", Path("").Field("env").MapKey("A B"), `env["A B"]`},
		{"empty map key", Path("").Field("env").MapKey(""), `env[""]`},
		{"element path", ElementPath("db").Field("volume").Field("name"), "elements[db].volume.name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.path.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	// The methods never modify the receiver.
	p := Path("").Field("a")
	x, y := p.Field("x"), p.Field("y")
	if x.String() != "a.x" || y.String() != "a.y" || p.String() != "a" {
		t.Fatalf("Path methods share storage: %q %q %q", x, y, p)
	}
}

func TestValidEnvNameAndSortedKeys(t *testing.T) {
	for name, want := range map[string]bool{"PATH": true, "_x1": true, "": false, "1A": false, "A-B": false, "A B": false} {
		if got := ValidEnvName(name); got != want {
			t.Errorf("ValidEnvName(%q) = %v, want %v", name, got, want)
		}
	}
	got := SortedKeys(map[string]int{"b": 1, "a": 2, "c": 3})
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("SortedKeys = %v", got)
	}
}

// A connection dangling at both ends names each missing element at its end,
// and the other end as the user wrote it.
func TestValidateConnectionDanglingBothEnds(t *testing.T) {
	s := validBase()
	s.Connections[1] = Connection{From: "web", To: "dbx"}
	var got []string
	for _, e := range Validate(s) {
		got = append(got, e.Path+": "+e.Msg)
	}
	want := []string{
		`connections[1].from: no element has id "web"; it connects to "dbx"`,
		`connections[1].to: no element has id "dbx" (did you mean "db"?); "web" connects to it`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestValidateEnvSize: env and params values are capped at 32 KiB, and the
// env file line they become (quoted and escaped) at go-envparse's 64 KiB.
// Before, a huge value passed validate and failed only when the task
// started.
func TestValidateEnvSize(t *testing.T) {
	cases := []struct {
		name  string
		key   string
		value string
		param bool
		path  string // "" when valid
		msg   string
	}{
		{name: "at the value cap", key: "BIG", value: strings.Repeat("a", MaxEnvValue)},
		{name: "over the value cap", key: "BIG", value: strings.Repeat("a", MaxEnvValue+1),
			path: "elements[api].env.BIG", msg: "value is 32769 bytes, over the limit of 32768 (32 KiB)"},
		{name: "escapes within the line cap", key: "BIG", value: strings.Repeat(`"`, 32000)},
		{name: "quotes over the line cap", key: "BIG", value: strings.Repeat(`"`, MaxEnvValue),
			path: "elements[api].env.BIG", msg: "name and value take 65542 bytes in the task's env file once quoted and escaped, over the limit of 65535"},
		{name: "control characters over the line cap", key: "BIG", value: strings.Repeat("\x01", 11000),
			path: "elements[api].env.BIG", msg: "over the limit of 65535"},
		{name: "long name and value", key: strings.Repeat("K", 40000), value: strings.Repeat("v", 30000),
			path: "elements[api].env." + strings.Repeat("K", 40000), msg: "name and value take 70003 bytes"},
		{name: "param over the value cap", key: "token", value: strings.Repeat("a", MaxEnvValue+1), param: true,
			path: "elements[api].params.token", msg: "over the limit of 32768 (32 KiB)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validBase()
			e := el(t, s, "api")
			if tc.param {
				e.Params = map[string]string{tc.key: tc.value}
			} else {
				e.Env[tc.key] = tc.value
			}
			errs := Validate(s)
			if tc.path == "" {
				if len(errs) > 0 {
					t.Fatalf("want no problems, got:\n%.300v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Path != tc.path || !strings.Contains(errs[0].Msg, tc.msg) {
				t.Fatalf("want one problem at %.60s containing %q, got:\n%.300v", tc.path, tc.msg, errs)
			}
		})
	}
}

func TestEnvLineLength(t *testing.T) {
	cases := []struct {
		name, value string
		want        int
	}{
		{"A", "", 4},
		{"A", "abc", 7},
		{"A", "a\"b\\c\n\r\t\b\f", 4 + 3 + 2*7},
		{"A", "\x01\x1f", 4 + 12},
		{"A", "é", 4 + 2},
	}
	for _, tc := range cases {
		if got := EnvLineLength(tc.name, tc.value); got != tc.want {
			t.Errorf("EnvLineLength(%q, %q) = %d, want %d", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestSourcePaths(t *testing.T) {
	base := "version: 1\nproject: p\nelements:\n  - id: api\n    kind: app.python\n    source: { repo: \"https://git.example.com/a.git\", start: \"python3 app.py\", %s }\n"
	for _, c := range []struct{ src, want string }{
		{`autodeploy: true, paths: [services/api/]`, ""},
		{`autodeploy: true, paths: [/etc]`, `elements[api].source.paths[0]: "/etc" must be a relative folder inside the repository`},
		{`autodeploy: true, paths: ["a/../../b"]`, `elements[api].source.paths[0]`},
		{`paths: [services/api]`, `elements[api].source.paths: only counts with autodeploy: true`},
	} {
		s, err := Decode("backplane.yaml", []byte(fmt.Sprintf(base, c.src)))
		if err == nil {
			if errs := Validate(s); len(errs) > 0 {
				err = errs
			}
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.src, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.src, err, c.want)
		}
	}
}

func TestSourceAuth(t *testing.T) {
	base := "version: 1\nproject: p\nelements:\n  - id: api\n    kind: app.python\n    source: { repo: %q, start: \"python3 app.py\", auth: { %s } }\n"
	for _, c := range []struct{ repo, auth, want string }{
		{"https://git.example.com/a.git", `username: x-access-token, token_secret: GIT_TOKEN`, ""},
		{"git@git.example.com:a.git", `ssh_key_secret: DEPLOY_KEY, known_hosts_secret: KNOWN_HOSTS`, ""},
		{"https://git.example.com/a.git", `username: bob`, `elements[api].source.auth: names no credentials`},
		{"git@git.example.com:a.git", `token_secret: GIT_TOKEN`, `elements[api].source.auth.token_secret: is for https:// repositories`},
		{"https://git.example.com/a.git", `ssh_key_secret: KEY`, `elements[api].source.auth.ssh_key_secret: is for ssh://`},
		{"https://git.example.com/a.git", `token_secret: "git-token"`, `elements[api].source.auth.token_secret: secret name "git-token"`},
		{"https://git.example.com/a.git", `token_secret: T, known_hosts_secret: K`, `elements[api].source.auth.known_hosts_secret: only counts with ssh_key_secret`},
	} {
		s, err := Decode("backplane.yaml", []byte(fmt.Sprintf(base, c.repo, c.auth)))
		if err == nil {
			if errs := Validate(s); len(errs) > 0 {
				err = errs
			}
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.auth, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.auth, err, c.want)
		}
	}
}
