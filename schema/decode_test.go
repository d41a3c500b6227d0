package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const shopPath = "../examples/shop.yaml"

func readShop(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(shopPath)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustDecode(t testing.TB, src string) *Schema {
	t.Helper()
	s, err := Decode("backplane.yaml", []byte(src))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return s
}

// decodeErrs decodes src, which must fail, and returns its problems.
func decodeErrs(t *testing.T, src string) Errors {
	t.Helper()
	s, err := Decode("backplane.yaml", []byte(src))
	if err == nil {
		t.Fatalf("decode succeeded, want an error; got %+v", s)
	}
	if s != nil {
		t.Fatalf("decode returned a schema along with error %v", err)
	}
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error %T %v is not a non-empty Errors", err, err)
	}
	for _, e := range es {
		if e.File != "backplane.yaml" {
			t.Errorf("problem %q has file %q, want backplane.yaml", e.Msg, e.File)
		}
	}
	return es
}

func TestDecodeShopExample(t *testing.T) {
	s := mustDecode(t, string(readShop(t)))
	if errs := Validate(s); len(errs) != 0 {
		t.Fatalf("shop.yaml does not validate:\n%v", errs)
	}
	// Spot-check fields from every level, so a decoder that silently drops
	// data fails here.
	if s.Project != "shop" || s.Version != 1 || s.Defaults != (Defaults{Region: "eu", Driver: "docker"}) {
		t.Errorf("project fields: %+v", s)
	}
	if got := s.Regions["us"].Datacenters; !reflect.DeepEqual(got, []string{"us-east-1"}) {
		t.Errorf("regions.us.datacenters = %v", got)
	}
	if r := s.Receivers["api-team"]; r.Slack == nil || r.Slack.Channel != "#api" || r.Slack.WebhookURLSecret != "SLACK_URL" {
		t.Errorf("receivers.api-team = %+v", r)
	}
	if len(s.Elements) != 6 || len(s.Connections) != 5 || len(s.Layout) != 6 {
		t.Fatalf("counts: %d elements, %d connections, %d layout entries", len(s.Elements), len(s.Connections), len(s.Layout))
	}
	api := s.Element("api")
	if api == nil {
		t.Fatal("no api element")
	}
	if api.Version != "22" || api.Port != 3000 || api.Env["LOG_FORMAT"] != "json" ||
		!reflect.DeepEqual(api.Secrets, []string{"STRIPE_KEY"}) ||
		*api.Scale != (Scale{Count: 2, Min: 2, Max: 8, CPUTarget: 70}) ||
		!reflect.DeepEqual(*api.Source, Source{Repo: "https://github.com/acme/api.git", Branch: "main", Autodeploy: true, Build: "npm ci", Start: "npm start"}) {
		t.Errorf("api = %+v", api)
	}
	if n := s.Element("nightly"); n == nil || n.Schedule != "0 3 * * *" || n.Command != "python3 -m report --since yesterday" {
		t.Errorf("nightly = %+v", n)
	}
	if c := s.Connections[3]; c != (Connection{From: "mailer", To: "db", Env: "MAIL_DB_URL"}) {
		t.Errorf("connections[3] = %+v", c)
	}
	if p := s.Layout["cache"]; p != (Position{X: 620, Y: 200}) {
		t.Errorf("layout.cache = %+v", p)
	}
}

const yamlForm = `
version: 1
project: shop
mesh: true
regions:
  eu:
    datacenters: [eu-west-1, eu-west-2]
    consul_datacenter: eu1
defaults: {region: eu}
receivers:
  hook: {webhook: {url_secret: HOOK}}
elements:
  - id: api
    kind: app.go
    port: 8080
    args: [serve, --verbose]
    env:
      A: "1"
      B: two
    resources: {cpu: 100, memory: 64}
    health: {tcp: true, interval: 5s}
    placement: {regions: [eu]}
    alerts: {receivers: [hook]}
    params: {go_version: "1.26"}
  - id: db
    kind: db.postgres
    volume: {name: pg, size_mb: 512}
connections:
  - from: api
    to: db
    env: PG_URL
    weight: 10
    route: {path: /}
layout:
  api: {x: 1.5, y: -2}
`

const jsonForm = `{
	"version": 1,
	"project": "shop",
	"mesh": true,
	"regions": {"eu": {"datacenters": ["eu-west-1", "eu-west-2"], "consul_datacenter": "eu1"}},
	"defaults": {"region": "eu"},
	"receivers": {"hook": {"webhook": {"url_secret": "HOOK"}}},
	"elements": [
		{"id": "api", "kind": "app.go", "port": 8080, "args": ["serve", "--verbose"],
		 "env": {"A": "1", "B": "two"}, "resources": {"cpu": 100, "memory": 64},
		 "health": {"tcp": true, "interval": "5s"}, "placement": {"regions": ["eu"]},
		 "alerts": {"receivers": ["hook"]}, "params": {"go_version": "1.26"}},
		{"id": "db", "kind": "db.postgres", "volume": {"name": "pg", "size_mb": 512}}
	],
	"connections": [{"from": "api", "to": "db", "env": "PG_URL", "weight": 10, "route": {"path": "/"}}],
	"layout": {"api": {"x": 1.5, "y": -2}}
}`

func TestDecodeYAMLAndJSONAgree(t *testing.T) {
	y := mustDecode(t, yamlForm)
	j := mustDecode(t, jsonForm)
	if !reflect.DeepEqual(y, j) {
		t.Fatalf("YAML and JSON forms differ:\nyaml: %+v\njson: %+v", y, j)
	}
	// And the model is what both say, not merely the same mistake twice.
	want := &Schema{
		Version: 1, Project: "shop", Mesh: true,
		Regions:   map[string]Region{"eu": {Datacenters: []string{"eu-west-1", "eu-west-2"}, ConsulDatacenter: "eu1"}},
		Defaults:  Defaults{Region: "eu"},
		Receivers: map[string]Receiver{"hook": {Webhook: &WebhookReceiver{URLSecret: "HOOK"}}},
		Elements: []Element{
			{
				ID: "api", Kind: "app.go", Port: 8080, Args: []string{"serve", "--verbose"},
				Env:       map[string]string{"A": "1", "B": "two"},
				Resources: &Resources{CPU: 100, Memory: 64},
				Health:    &Health{TCP: true, Interval: "5s"},
				Placement: &Placement{Regions: []string{"eu"}},
				Alerts:    &Alerts{Receivers: []string{"hook"}},
				Params:    map[string]string{"go_version": "1.26"},
			},
			{ID: "db", Kind: "db.postgres", Volume: &Volume{Name: "pg", SizeMB: 512}},
		},
		Connections: []Connection{{From: "api", To: "db", Env: "PG_URL", Weight: 10, Route: &Route{Path: "/"}}},
		Layout:      map[string]Position{"api": {X: 1.5, Y: -2}},
	}
	if !reflect.DeepEqual(y, want) {
		t.Fatalf("decoded:\n%+v\nwant:\n%+v", y, want)
	}
	if errs := Validate(y); len(errs) != 0 {
		t.Fatalf("validate: %v", errs)
	}
}

// The shop example written out as JSON by encoding/json decodes to the same
// model as the YAML file.
func TestDecodeShopAsJSON(t *testing.T) {
	y := mustDecode(t, string(readShop(t)))
	data, err := json.MarshalIndent(y, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	j := mustDecode(t, string(data))
	if !reflect.DeepEqual(y, j) {
		t.Fatalf("JSON form differs:\n%s", data)
	}
}

func TestDecodeUnknownField(t *testing.T) {
	src := "version: 1\nproject: shop\nelements:\n  - id: api\n    kind: app.go\n    scale: {min: 1, maxx: 3}\n"
	es := decodeErrs(t, src)
	if len(es) != 1 {
		t.Fatalf("want 1 problem, got:\n%v", es)
	}
	e := es[0]
	if e.Path != "elements[api].scale.maxx" || e.Line != 6 {
		t.Errorf("path %q line %d, want elements[api].scale.maxx line 6", e.Path, e.Line)
	}
	if want := `unknown field "maxx" (did you mean "max"?)`; e.Msg != want {
		t.Errorf("message %q, want %q", e.Msg, want)
	}
	if want := `backplane.yaml: elements[api].scale.maxx: unknown field "maxx" (did you mean "max"?)`; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}

	// No hint when nothing is close.
	es = decodeErrs(t, "version: 1\nfrobnicate: yes\n")
	if es[0].Path != "frobnicate" || es[0].Msg != `unknown field "frobnicate"` {
		t.Errorf("got %q: %q", es[0].Path, es[0].Msg)
	}
}

func TestDecodeErrors(t *testing.T) {
	el := func(body string) string {
		return "version: 1\nproject: shop\nelements:\n  - id: api\n    kind: app.go\n" + body
	}
	cases := []struct {
		name string
		src  string
		path string
		msg  string
		line int
	}{
		{"string where int", el("    port: http\n"), "elements[api].port", `must be an integer, not the string "http"`, 6},
		{"quoted number where int", el("    port: \"80\"\n"), "elements[api].port", `must be an integer, not the string "80"`, 6},
		{"float where int", el("    port: 80.5\n"), "elements[api].port", "must be an integer, not the number 80.5", 6},
		{"int out of range", el("    port: 9999999999\n"), "elements[api].port", "integer 9999999999 is out of range", 6},
		{"bool where int", el("    resources: {cpu: true}\n"), "elements[api].resources.cpu", "must be an integer, not true", 6},
		{"list where mapping", el("    env: [A, B]\n"), "elements[api].env", "must be a mapping, not a list", 6},
		{"list where struct", el("    scale: [1, 2]\n"), "elements[api].scale", "must be a mapping, not a list", 6},
		{"scalar where struct", el("    source: https://github.com/acme/api.git\n"), "elements[api].source", `must be a mapping, not the string "https://github.com/acme/api.git"`, 6},
		{"mapping where list", el("    secrets: {A: B}\n"), "elements[api].secrets", "must be a list, not a mapping", 6},
		{"scalar where list", el("    args: serve\n"), "elements[api].args", `must be a list, not the string "serve"`, 6},
		{"list where string", el("    command: [python3, -m, app]\n"), "elements[api].command", "must be a string, not a list", 6},
		{"mapping where string", el("    env: {A: {b: c}}\n"), "elements[api].env.A", "must be a string, not a mapping", 6},
		{"string where bool", "mesh: yes\n", "mesh", `must be true or false, not the string "yes"`, 1},
		{"string where number", el("layout: {api: {x: left, y: 0}}\n"), "layout.api.x", `must be a number, not the string "left"`, 6},
		{"infinite number", el("layout: {api: {x: .inf, y: 0}}\n"), "layout.api.x", "must be a finite number", 6},
		{"elements not a list", "elements: {api: {kind: app.go}}\n", "elements", "must be a list, not a mapping", 1},
		{"element by index when id is odd", "elements:\n  - id: My App\n    kind: [x]\n", "elements[0].kind", "must be a string, not a list", 3},
		{"connection by index", "connections:\n  - {from: a, to: b}\n  - {from: a, to: [b]}\n", "connections[1].to", "must be a string, not a list", 3},
		{"top-level list", "- version: 1\n", "", "must be a mapping, not a list", 1},
		{"top-level scalar", "hello\n", "", `must be a mapping, not the string "hello"`, 1},
		{"duplicate top-level key", "version: 1\nproject: a\nproject: b\n", "project", `duplicate key "project"`, 3},
		{"duplicate nested key", el("    scale: {min: 1, min: 2}\n"), "elements[api].scale.min", `duplicate key "min"`, 6},
		{"duplicate env key", el("    env:\n      A: x\n      B: y\n      A: z\n"), "elements[api].env.A", `duplicate key "A"`, 9},
		{"duplicate env key, differently written", el("    env: {\"1\": x, 1: y}\n"), "elements[api].env.1", `duplicate key "1"`, 6},
		{"duplicate region", "regions:\n  eu: {}\n  eu: {}\n", "regions.eu", `duplicate key "eu"`, 3},
		{"non-string map key", el("    env: {[a]: b}\n"), "elements[api].env", "keys must be strings", 6},
		{"null map key", el("    env: {~: b}\n"), "elements[api].env", "keys must be strings", 6},
		{"non-string field key", "{[a]: b}\n", "", "keys must be strings", 1},
		{"merge key", "elements:\n  - &base {id: a, kind: app.go}\n  - <<: *base\n    id: b\n", "elements[b]", "merge keys (<<) are not supported", 3},
		{"merge key in map", "elements:\n  - id: a\n    kind: k\n    env: &e {A: x}\n  - id: b\n    kind: k\n    scale:\n      <<: {min: 1}\n", "elements[b].scale", "merge keys (<<) are not supported", 8},
		{"binary where string", "project: !!binary c2hvcA==\n", "project", "must be a string", 1},
		{"multiple documents", "version: 1\n---\nversion: 2\n", "", "more than one YAML document", 2},
		{"trailing invalid document", "version: 1\nproject: shop\n---\n[unclosed\n", "", "invalid YAML", 0},
		{"syntax error", "version: 1\nelements: [\n", "", "invalid YAML: ", 0},
		{"tab indentation", "elements:\n\t- id: a\n", "", "invalid YAML: line 2", 0},
		{"undefined alias", "project: *nope\n", "", "invalid YAML: unknown anchor 'nope' referenced", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := decodeErrs(t, tc.src)
			for _, e := range es {
				if e.Path == tc.path && strings.Contains(e.Msg, tc.msg) {
					if e.Line != tc.line {
						t.Errorf("%s: line %d, want %d", e.Path, e.Line, tc.line)
					}
					return
				}
			}
			t.Fatalf("no problem at %q containing %q; got:\n%v", tc.path, tc.msg, es)
		})
	}
}

// Where a string is wanted, plain YAML numbers and booleans are taken as
// written, so `version: 7` works and `version: 7.10` is not 7.1.
func TestDecodeScalarsAsStrings(t *testing.T) {
	s := mustDecode(t, `
version: 1
project: shop
namespace: 42
elements:
  - id: db
    kind: db.mongodb
    version: 7
    env: {DEBUG: true, RATIO: 7.10, MASK: 0x1F, BIG: 12345678901234567890, QUOTED: "007"}
    args: [1, false]
    params: {x: 1e3}
`)
	e := s.Elements[0]
	if e.Version != "7" {
		t.Errorf("version = %q, want 7", e.Version)
	}
	if s.Namespace != "42" {
		t.Errorf("namespace = %q, want 42", s.Namespace)
	}
	want := map[string]string{"DEBUG": "true", "RATIO": "7.10", "MASK": "0x1F", "BIG": "12345678901234567890", "QUOTED": "007"}
	if !reflect.DeepEqual(e.Env, want) {
		t.Errorf("env = %v, want %v", e.Env, want)
	}
	if !reflect.DeepEqual(e.Args, []string{"1", "false"}) {
		t.Errorf("args = %q", e.Args)
	}
	if e.Params["x"] != "1e3" {
		t.Errorf("params.x = %q", e.Params["x"])
	}
}

// TestDecodeStringFieldsTakeLiteralText: wherever a string is wanted, a
// plain YAML scalar is taken as the text the user wrote, whatever YAML would
// read it as (a date, a number, a boolean), in fields, map values and list
// items alike, and JSON numbers the same way. It survives the canonical
// YAML round trip the store and the editor make. Before, a date such as
// `branch: 2024-05-01` was refused as "not a string".
func TestDecodeStringFieldsTakeLiteralText(t *testing.T) {
	const head = "version: 1\nproject: shop\nelements:\n  - id: x\n    kind: k\n"
	src := func(field string) string { return head + "    " + field + "\n" }
	el := func(s *Schema) *Element { return &s.Elements[0] }
	cases := []struct {
		name string
		src  string
		get  func(s *Schema) string
		want string
	}{
		{"branch date", src("source: {repo: r, branch: 2024-05-01}"), func(s *Schema) string { return el(s).Source.Branch }, "2024-05-01"},
		{"branch date and time", src("source: {repo: r, branch: 2001-12-14t21:59:43.10-05:00}"), func(s *Schema) string { return el(s).Source.Branch }, "2001-12-14t21:59:43.10-05:00"},
		{"branch float", src("source: {repo: r, branch: 1.0}"), func(s *Schema) string { return el(s).Source.Branch }, "1.0"},
		{"ref int", src("source: {repo: r, ref: 0042}"), func(s *Schema) string { return el(s).Source.Ref }, "0042"},
		{"version int", src("version: 7"), func(s *Schema) string { return el(s).Version }, "7"},
		{"version float with trailing zero", src("version: 7.10"), func(s *Schema) string { return el(s).Version }, "7.10"},
		{"version float", src("version: 3.13"), func(s *Schema) string { return el(s).Version }, "3.13"},
		{"version date", src("version: 2024-05-01"), func(s *Schema) string { return el(s).Version }, "2024-05-01"},
		{"version explicit timestamp tag", src("version: !!timestamp 2024-05-01"), func(s *Schema) string { return el(s).Version }, "2024-05-01"},
		{"image exponent", src("image: 1e3"), func(s *Schema) string { return el(s).Image }, "1e3"},
		{"command bool", src("command: true"), func(s *Schema) string { return el(s).Command }, "true"},
		{"env bool", src("env: {DEBUG: true}"), func(s *Schema) string { return el(s).Env["DEBUG"] }, "true"},
		{"env float", src("env: {X: 1.10}"), func(s *Schema) string { return el(s).Env["X"] }, "1.10"},
		{"env octal", src("env: {MODE: 0o755}"), func(s *Schema) string { return el(s).Env["MODE"] }, "0o755"},
		{"env date", src("env: {SINCE: 2024-05-01}"), func(s *Schema) string { return el(s).Env["SINCE"] }, "2024-05-01"},
		{"env infinity", src("env: {MAX: .inf}"), func(s *Schema) string { return el(s).Env["MAX"] }, ".inf"},
		{"params date", src("params: {since: 2024-05-01}"), func(s *Schema) string { return el(s).Params["since"] }, "2024-05-01"},
		{"args date", src("args: [--since, 2024-05-01]"), func(s *Schema) string { return el(s).Args[1] }, "2024-05-01"},
		{"args float", src("args: [1.0]"), func(s *Schema) string { return el(s).Args[0] }, "1.0"},
		{"args bool", src("args: [false]"), func(s *Schema) string { return el(s).Args[0] }, "false"},
		{"args hex", src("args: [0x1F]"), func(s *Schema) string { return el(s).Args[0] }, "0x1F"},
		{"schedule date-like", src("schedule: 2024-05-01"), func(s *Schema) string { return el(s).Schedule }, "2024-05-01"},
		{"project-level date", "version: 1\nproject: shop\nnamespace: 2024-05-01\nelements: []\n", func(s *Schema) string { return s.Namespace }, "2024-05-01"},
		{"receiver field date", "version: 1\nproject: shop\nreceivers: {r: {email: {to: 2024-05-01}}}\nelements: []\n", func(s *Schema) string { return s.Receivers["r"].Email.To }, "2024-05-01"},
		{"json number", `{"version": 1, "project": "shop", "elements": [{"id": "x", "kind": "k", "version": 7.0}]}`, func(s *Schema) string { return el(s).Version }, "7.0"},
		{"json exponent", `{"version": 1, "project": "shop", "elements": [{"id": "x", "kind": "k", "env": {"N": 1e3}}]}`, func(s *Schema) string { return el(s).Env["N"] }, "1e3"},
		{"json bool in a list", `{"version": 1, "project": "shop", "elements": [{"id": "x", "kind": "k", "args": [true, 1.50]}]}`, func(s *Schema) string { return strings.Join(el(s).Args, " ") }, "true 1.50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustDecode(t, tc.src)
			if got := tc.get(s); got != tc.want {
				t.Fatalf("decoded %q, want %q", got, tc.want)
			}
			out, err := s.Canonical().EncodeYAML()
			if err != nil {
				t.Fatal(err)
			}
			back := mustDecode(t, string(out))
			if got := tc.get(back); got != tc.want {
				t.Fatalf("after the canonical round trip %q, want %q; encoded:\n%s", got, tc.want, out)
			}
		})
	}
}

// Tags other than the scalar types YAML resolves plain text to are refused
// where a string is wanted: the user asked for something else.
func TestDecodeStringFieldsRefuseOtherTags(t *testing.T) {
	for _, src := range []string{
		"version: 1\nproject: !!binary c2hvcA==\n",
		"version: 1\nproject: !shop x\n",
		"version: 1\nproject: [a]\n",
	} {
		es := decodeErrs(t, src)
		if len(es) != 1 || es[0].Path != "project" || !strings.Contains(es[0].Msg, "must be a string") {
			t.Errorf("%q: got %v", src, es)
		}
	}
}

func TestDecodeNumbers(t *testing.T) {
	s := mustDecode(t, `
version: 1
elements:
  - {id: a, kind: k, port: 0x1F90, resources: {cpu: 1_000, memory: +64}}
layout: {a: {x: 3, y: -1.25e2}}
`)
	e := s.Elements[0]
	if e.Port != 8080 || e.Resources.CPU != 1000 || e.Resources.Memory != 64 {
		t.Errorf("ints: port %d cpu %d memory %d", e.Port, e.Resources.CPU, e.Resources.Memory)
	}
	if p := s.Layout["a"]; p.X != 3 || p.Y != -125 {
		t.Errorf("layout.a = %+v", p)
	}
}

func TestDecodeNullLeavesZero(t *testing.T) {
	s := mustDecode(t, `
version: 1
project: shop
namespace: null
mesh: ~
regions:
  eu: null
receivers: null
elements:
  - id: api
    kind: app.go
    port: null
    env: {A: null}
    scale: null
    source: ~
    secrets: [~]
connections: null
`)
	if s.Namespace != "" || s.Mesh || s.Receivers != nil || s.Connections != nil {
		t.Errorf("project-level nulls not zero: %+v", s)
	}
	if r, ok := s.Regions["eu"]; !ok || !reflect.DeepEqual(r, Region{}) {
		t.Errorf("regions.eu = %+v, %v; want a present zero region", r, ok)
	}
	e := s.Elements[0]
	if e.Port != 0 || e.Scale != nil || e.Source != nil {
		t.Errorf("element nulls not zero: %+v", e)
	}
	if v, ok := e.Env["A"]; !ok || v != "" {
		t.Errorf("env.A = %q, %v; want a present empty value", v, ok)
	}
	if !reflect.DeepEqual(e.Secrets, []string{""}) {
		t.Errorf("secrets = %q", e.Secrets)
	}
}

func TestDecodeEmpty(t *testing.T) {
	cases := []struct {
		name string
		src  string
	}{
		{"no bytes", ""},
		{"whitespace", " \n\t\n"},
		{"comment only", "# nothing here yet\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := decodeErrs(t, tc.src)
			if len(es) != 1 || es[0].Msg != "file is empty" || es[0].Path != "" {
				t.Fatalf("got:\n%v", es)
			}
			if got := es[0].Error(); got != "backplane.yaml: file is empty" {
				t.Fatalf("Error() = %q", got)
			}
		})
	}
}

func TestDecodeSizeCaps(t *testing.T) {
	valid := "version: 1\nproject: shop\nelements: [{id: api, kind: app.go}]\n"
	pad := func(total int) string {
		// A comment line pads the file to exactly total bytes.
		n := total - len(valid) - 2
		return valid + "#" + strings.Repeat("x", n) + "\n"
	}
	if src := pad(MaxBytes); len(src) != MaxBytes {
		t.Fatalf("padding is wrong: %d", len(src))
	}

	t.Run("at byte limit", func(t *testing.T) {
		mustDecode(t, pad(MaxBytes))
	})
	t.Run("over byte limit", func(t *testing.T) {
		_, err := Decode("big.yaml", []byte(pad(MaxBytes+1)))
		if !IsTooLarge(err) {
			t.Fatalf("IsTooLarge(%v) = false", err)
		}
		if !strings.HasPrefix(err.Error(), "big.yaml: 4194305 bytes, over the limit") {
			t.Fatalf("message %q", err)
		}
	})

	elements := func(n int) string {
		var b strings.Builder
		b.WriteString("version: 1\nproject: p\nelements:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {id: e%d, kind: k}\n", i)
		}
		return b.String()
	}
	t.Run("at element limit", func(t *testing.T) {
		s := mustDecode(t, elements(MaxElements))
		if len(s.Elements) != MaxElements {
			t.Fatalf("%d elements", len(s.Elements))
		}
	})
	for _, n := range []int{MaxElements + 1, MaxElements*4 + 1} {
		t.Run(fmt.Sprintf("%d elements", n), func(t *testing.T) {
			_, err := Decode("", []byte(elements(n)))
			if !IsTooLarge(err) {
				t.Fatalf("IsTooLarge(%v) = false", err)
			}
			if es := AsErrors(err); len(es) != 1 || es[0].Path != "elements" {
				t.Fatalf("want one problem at elements, got:\n%v", es)
			}
		})
	}
	t.Run("long secrets list", func(t *testing.T) {
		src := "elements: [{id: a, kind: k, secrets: [" + strings.Repeat("A,", MaxElements*4) + "A]}]\n"
		_, err := Decode("", []byte(src))
		if !IsTooLarge(err) {
			t.Fatalf("IsTooLarge(%v) = false", err)
		}
	})
	t.Run("ordinary errors are not too large", func(t *testing.T) {
		_, err := Decode("", []byte("version: x\n"))
		if err == nil || IsTooLarge(err) {
			t.Fatalf("err = %v, IsTooLarge = %v", err, IsTooLarge(err))
		}
	})
}

// aliasBomb is the "billion laughs" document: levels anchors, each a list
// referencing the previous one width times, so the last expands to
// width^levels nodes while the text stays a few hundred bytes.
func aliasBomb(levels, width int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range width {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestDecodeAliasBombs(t *testing.T) {
	// Aliases that expand inside fields the decoder does descend into:
	// 2,000 elements, each an alias to one element whose secrets list
	// holds 5,000 names.
	var typed strings.Builder
	typed.WriteString("version: 1\nproject: p\nelements:\n  - &e {id: a, kind: k, secrets: [")
	typed.WriteString(strings.Repeat("S,", 4999) + "S]}\n")
	typed.WriteString(strings.Repeat("  - *e\n", MaxElements-1))

	cases := []struct {
		name string
		src  string
	}{
		{"billion laughs", aliasBomb(9, 9)},
		{"typed fan-out", typed.String()},
		{"self reference", "version: 1\nelements: &a [*a]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.src) > MaxBytes {
				t.Fatalf("bomb is %d bytes, over the byte cap", len(tc.src))
			}
			type result struct {
				s   *Schema
				err error
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				s, err := Decode("bomb.yaml", []byte(tc.src))
				done <- result{s, err}
			}()
			select {
			case r := <-done:
				if !IsTooLarge(r.err) || r.s != nil {
					t.Fatalf("want a too-large error, got schema %v, error %v", r.s != nil, r.err)
				}
				if !strings.Contains(r.err.Error(), "YAML nodes (aliases included)") {
					t.Errorf("message %q", r.err)
				}
				t.Logf("refused in %v", time.Since(start))
			case <-time.After(20 * time.Second):
				t.Fatal("decode of an alias bomb did not return within 20s")
			}
		})
	}
}

func TestExpandedSize(t *testing.T) {
	chain := func(n int) string {
		var b strings.Builder
		b.WriteString("- &a0 x\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, "- &a%d [*a%d]\n", i, i-1)
		}
		return b.String()
	}
	cases := []struct {
		name  string
		src   string
		limit int
		want  int
	}{
		{"scalar", "x", 10, 1},
		{"list", "[a, b]", 10, 3},
		{"mapping", "{a: 1, b: [2]}", 10, 6},
		// mapping, a, [1, 2] (3 nodes), b, and the alias (1) standing for 3.
		{"alias counted expanded", "a: &x [1, 2]\nb: *x\n", 100, 10},
		{"alias to scalar", "a: &x s\nb: *x\nc: *x\n", 100, 9},
		{"at the limit", "[a, b]", 3, 3},
		{"over the limit", "[a, b, c]", 3, 4},
		{"billion laughs", aliasBomb(9, 9), maxNodes, maxNodes + 1},
		{"cycle", "&a [b, *a]", 100, 101},
		// Link i is a list and an alias holding link i-1, 2i+1 nodes in
		// all, so the list of n links is n²+1; exact below the limit.
		{"chain", chain(100), 1_000_000, 100*100 + 1},
		{"long chain", chain(20000), maxNodes, maxNodes + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			if got := expandedSize(doc.Content[0], tc.limit); got != tc.want {
				t.Fatalf("expandedSize = %d, want %d", got, tc.want)
			}
		})
	}
}

// Aliases that expand to a modest size are ordinary YAML and decode.
func TestDecodeSmallAliases(t *testing.T) {
	s := mustDecode(t, `
version: 1
project: p
elements:
  - {id: a, kind: k, env: &env {A: "1", B: "2"}, placement: {regions: &rs [global]}}
  - {id: b, kind: k, env: *env, placement: {regions: *rs}}
`)
	if !reflect.DeepEqual(s.Elements[0].Env, s.Elements[1].Env) || s.Elements[1].Env["B"] != "2" {
		t.Fatalf("aliased env = %v", s.Elements[1].Env)
	}
	if !reflect.DeepEqual(s.Elements[1].Placement.Regions, []string{"global"}) {
		t.Fatalf("aliased regions = %v", s.Elements[1].Placement.Regions)
	}
	// The two maps are separate values: changing one leaves the other.
	s.Elements[0].Env["A"] = "changed"
	if s.Elements[1].Env["A"] != "1" {
		t.Fatal("aliased maps share storage")
	}
}

// Errors come back sorted by path, every one of them, not only the first.
func TestDecodeReportsAllSorted(t *testing.T) {
	es := decodeErrs(t, "project: [x]\nmesh: 3\nelements:\n  - {id: b, kind: k, port: x}\n  - {id: a, kind: k, porrt: 1}\n")
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%s@%d", e.Path, e.Line))
	}
	want := []string{"elements[a].porrt@5", "elements[b].port@4", "mesh@2", "project@1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDecodeInto(t *testing.T) {
	type kindFile struct {
		Name   string            `yaml:"name"`
		Ports  []int             `yaml:"ports"`
		Labels map[string]string `yaml:"labels"`
		Hidden string            `yaml:"-"`
		skip   string
	}
	var k kindFile
	if err := DecodeInto("kind.yaml", []byte("name: x\nports: [1, 2]\nlabels: {a: b}\n"), &k); err != nil {
		t.Fatal(err)
	}
	if k.Name != "x" || !reflect.DeepEqual(k.Ports, []int{1, 2}) || k.Labels["a"] != "b" || k.skip != "" {
		t.Fatalf("decoded %+v", k)
	}
	err := DecodeInto("kind.yaml", []byte("name: x\nHidden: y\n"), &k)
	if err == nil || err.Error() != `kind.yaml: Hidden: unknown field "Hidden"` {
		t.Fatalf("yaml:\"-\" field: err = %v", err)
	}
	if err := DecodeInto("kind.yaml", []byte("name: x\n"), k); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
		t.Fatalf("non-pointer target: err = %v", err)
	}
	if err := DecodeInto("kind.yaml", []byte("name: x\n"), (*kindFile)(nil)); err == nil {
		t.Fatal("nil pointer target: no error")
	}
	var m map[string]any
	if err := DecodeInto("x.yaml", []byte("a: 1\n"), &m); err == nil || !strings.Contains(err.Error(), "cannot decode into") {
		t.Fatalf("interface values: err = %v", err)
	}
}

// Malformed input of many shapes gives an error, never a panic. The fuzz
// target explores further; these run on every `go test`.
func TestDecodeNeverPanics(t *testing.T) {
	inputs := []string{
		"\x00", "\xff\xfe", ":", "- - - -", "{", "}", "[", "]", "&a", "*a", "!!", "!<tag:x> y",
		"? a\n: b", "? [a]\n: b", "elements: [{id: *x}]", "elements: [!!map {}]",
		"elements: [{id: a, kind: k, port: !!int x}]", "elements: [{id: a, kind: k, port: !!float 1}]",
		"mesh: !!bool maybe", "layout: {a: {x: !!float nope}}", "layout: {a: {x: 1e400}}",
		"elements: [{id: a, kind: k, port: 0b}]", "version: 0o", "version: -0x8000000000000001",
		strings.Repeat("[", 20000), strings.Repeat("{a: ", 5000), "a: &a b\nb: *a\nc: *a\n",
		"version: 1\n...\n---\n", "%YAML 1.2\n---\nversion: 1\n", "%FOO\n---\n",
		"\ufeffversion: 1\n", "version: 1\r\nproject: p\r\n",
	}
	for i, in := range inputs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Decode(%.40q) panicked: %v", in, r)
				}
			}()
			s, err := Decode("x.yaml", []byte(in))
			if err == nil {
				Validate(s)
				s.Canonical()
			}
		})
	}
}
