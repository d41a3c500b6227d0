package translator

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"text/template"

	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
)

func mustDecode(t testing.TB, src string) *schema.Schema {
	t.Helper()
	s, err := schema.Decode("backplane.yaml", []byte(src))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return s
}

func translate(t testing.TB, s *schema.Schema, opts Options) *Bundle {
	t.Helper()
	b, err := Translate(s, testRegistry(t), opts)
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	return b
}

func allFiles(t testing.TB, b *Bundle) map[string]string {
	t.Helper()
	files, err := b.Files()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Data)
	}
	return out
}

// The same schema, with its lists and maps in any order, renders the same
// bytes: the output depends on meaning, not on how the file was written.
func TestDeterministicAcrossInputOrder(t *testing.T) {
	data, err := os.ReadFile("../examples/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := allFiles(t, translate(t, mustDecode(t, string(data)), Options{}))
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		s := mustDecode(t, string(data))
		rng.Shuffle(len(s.Elements), func(a, b int) { s.Elements[a], s.Elements[b] = s.Elements[b], s.Elements[a] })
		rng.Shuffle(len(s.Connections), func(a, b int) { s.Connections[a], s.Connections[b] = s.Connections[b], s.Connections[a] })
		got := allFiles(t, translate(t, s, Options{}))
		if len(got) != len(base) {
			t.Fatalf("shuffle %d: %d files, want %d", i, len(got), len(base))
		}
		for p, want := range base {
			if got[p] != want {
				t.Fatalf("shuffle %d: %s differs", i, p)
			}
		}
	}
}

func TestTranslateDoesNotModifyInput(t *testing.T) {
	data, _ := os.ReadFile("../examples/shop.yaml")
	s := mustDecode(t, string(data))
	before, _ := s.EncodeYAML()
	translate(t, s, Options{})
	after, _ := s.EncodeYAML()
	if !bytes.Equal(before, after) {
		t.Fatal("Translate modified its input schema")
	}
}

func TestInvalidSchemaReturnsEveryProblemWithPaths(t *testing.T) {
	s := mustDecode(t, `
version: 1
project: shop
elements:
  - { id: api, kind: app.command, command: run, scale: { min: 4, max: 2 } }
  - { id: db, kind: db.nosuch }
connections:
  - { from: api, to: ghost }
`)
	_, err := Translate(s, testRegistry(t), Options{})
	var es schema.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want schema.Errors, got %T %v", err, err)
	}
	got := es.WithFile("backplane.yaml").Error()
	for _, want := range []string{
		"backplane.yaml: elements[api].scale.max: must be >= min (4)",
		"backplane.yaml: connections[0].to: no element has id \"ghost\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors do not contain %q:\n%s", want, got)
		}
	}
}

func TestKindErrorsAfterSchemaErrors(t *testing.T) {
	s := mustDecode(t, `
version: 1
project: shop
elements:
  - { id: db, kind: db.nosuch }
`)
	_, err := Translate(s, testRegistry(t), Options{})
	if err == nil || !strings.Contains(err.Error(), `elements[db].kind: unknown kind "db.nosuch"`) {
		t.Fatalf("got %v", err)
	}
}

func TestStaticPortClash(t *testing.T) {
	s := mustDecode(t, `
version: 1
project: shop
elements:
  - { id: a, kind: app.docker, image: x, port: 8080 }
  - { id: lb1, kind: lb.nginx, port: 80 }
  - { id: lb2, kind: lb.nginx, port: 80 }
connections:
  - { from: lb1, to: a }
  - { from: lb2, to: a }
`)
	_, err := Translate(s, testRegistry(t), Options{})
	if err == nil || !strings.Contains(err.Error(), "elements[lb2].port: port 80 is already taken by lb1 in region global") {
		t.Fatalf("got %v", err)
	}
}

func TestLokiURLWithCredentialsRefused(t *testing.T) {
	s := mustDecode(t, "version: 1\nproject: p\nelements:\n  - { id: w, kind: worker, command: x }\n")
	_, err := Translate(s, testRegistry(t), Options{LokiURL: "https://user:hunter2@loki.example.com"})
	if err == nil || !strings.Contains(err.Error(), "carries credentials") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatal("error message leaks the credential")
	}
}

// Job conventions from DESIGN.md: ID, meta, service name, update, scaling.
func TestJobConventions(t *testing.T) {
	data, _ := os.ReadFile("../examples/shop.yaml")
	b := translate(t, mustDecode(t, string(data)), Options{Revision: "7"})
	jobs := map[string]*api.Job{}
	for region, js := range b.Jobs {
		for _, j := range js {
			jobs[region+"/"+*j.ID] = j
		}
	}
	want := []string{"eu/shop-api", "us/shop-api", "eu/shop-db", "eu/shop-cache", "eu/shop-mailer", "eu/shop-nightly", "eu/shop-lb", "us/shop-lb"}
	if len(jobs) != len(want) {
		t.Fatalf("got %d jobs, want %d", len(jobs), len(want))
	}
	for _, k := range want {
		j := jobs[k]
		if j == nil {
			t.Fatalf("missing job %s", k)
		}
		element := strings.TrimPrefix(*j.ID, "shop-")
		if j.Meta[MetaProject] != "shop" || j.Meta[MetaElement] != element || j.Meta[MetaRevision] != "7" {
			t.Errorf("%s: meta = %v", k, j.Meta)
		}
		if *j.Region != strings.Split(k, "/")[0] {
			t.Errorf("%s: region %s", k, *j.Region)
		}
		for _, svc := range j.TaskGroups[0].Services {
			if svc.Name != *j.ID {
				t.Errorf("%s: service name %q, want the job ID", k, svc.Name)
			}
		}
		if *j.Type == api.JobTypeService && (j.Update == nil || !*j.Update.AutoRevert) {
			t.Errorf("%s: service job without auto_revert", k)
		}
	}
	apiJob := jobs["eu/shop-api"]
	if sc := apiJob.TaskGroups[0].Scaling; sc == nil || *sc.Min != 2 || *sc.Max != 8 {
		t.Errorf("shop-api scaling = %+v", sc)
	}
	if *apiJob.Update.HealthCheck != "checks" {
		t.Errorf("shop-api health from %s, want checks", *apiJob.Update.HealthCheck)
	}
	if *jobs["eu/shop-mailer"].Update.HealthCheck != "task_states" {
		t.Error("a worker without checks must take health from task states")
	}
	nightly := jobs["eu/shop-nightly"]
	if *nightly.Type != "batch" || nightly.Periodic == nil || len(nightly.Periodic.Specs) != 1 || nightly.Periodic.Specs[0] != "0 3 * * *" || nightly.Update != nil {
		t.Errorf("cron job: type %s periodic %+v", *nightly.Type, nightly.Periodic)
	}
}

// renderTemplate runs template text the way Nomad's template engine does for
// the parts Backplane emits: text/template with the default delimiters, and
// stand-ins for service discovery and Vault.
func renderTemplate(t *testing.T, text string, secrets map[string]any) string {
	t.Helper()
	type svc struct {
		Address string
		Port    int
	}
	funcs := template.FuncMap{
		"nomadService": func(name string) []svc { return []svc{{"10.0.0.7", 31000}, {"10.0.0.8", 31001}} },
		"service":      func(name string) []svc { return []svc{{"10.1.0.7", 32000}} },
		"env":          func(name string) string { return "ENV:" + name },
		"secret": func(path string) map[string]any {
			return map[string]any{"Data": map[string]any{"data": secrets}}
		},
		"toJSON": func(v any) (string, error) { return jsonString(v) },
		// consul-template's contains: `l | contains v`.
		"contains": func(v, l string) bool { return strings.Contains(l, v) },
	}
	tpl, err := template.New("t").Funcs(funcs).Parse(text)
	if err != nil {
		t.Fatalf("template does not parse: %v\n%s", err, text)
	}
	var out bytes.Buffer
	if err := tpl.Execute(&out, nil); err != nil {
		t.Fatalf("template does not run: %v", err)
	}
	return out.String()
}

func jsonString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("not a string")
	}
	return fmt.Sprintf("%q", s), nil
}

func TestConnectionTemplateRenders(t *testing.T) {
	data, _ := os.ReadFile("../examples/shop.yaml")
	b := translate(t, mustDecode(t, string(data)), Options{})
	var apiJob *api.Job
	for _, j := range b.Jobs["eu"] {
		if *j.ID == "shop-api" {
			apiJob = j
		}
	}
	var conn string
	for _, tpl := range apiJob.TaskGroups[0].Tasks[0].Templates {
		if *tpl.DestPath == "local/connections.env" {
			conn = *tpl.EmbeddedTmpl
		}
	}
	// api in us reaches db and cache in eu, so they register in Consul
	// and api in eu asks its own Consul datacenter for them too.
	got := renderTemplate(t, conn, nil)
	want := "REDIS_URL=redis://10.1.0.7:32000/0\nMONGODB_URL=mongodb://10.1.0.7:32000/app\n"
	if got != want {
		t.Fatalf("connections.env =\n%s\nwant\n%s", got, want)
	}
}

// TestCrossRegionTargetsRegisterInConsul checks the decision in doc.go: an
// element another region reaches registers its service in Consul, and every
// edge to it asks Consul (with @dc only across regions); everything else
// stays on Nomad's own service discovery.
func TestCrossRegionTargetsRegisterInConsul(t *testing.T) {
	src := `version: 1
project: geo
regions:
  eu: { datacenters: [eu-west-1] }
  us: { datacenters: [us-east-1], consul_datacenter: us-east-1 }
defaults: { region: eu, driver: raw_exec }
elements:
  - { id: api, kind: app.command, command: serve, port: 8080, placement: { regions: [us] } }
  - { id: db, kind: app.command, command: serve, port: 9000 }
  - { id: worker, kind: worker, command: work }
  - { id: cache, kind: app.command, command: serve, port: 9100 }
  - { id: front, kind: app.command, command: serve, port: 8000, placement: { regions: [us] } }
connections:
  - { from: api, to: db, env: DB_URL }
  - { from: worker, to: db, env: DB_URL }
  - { from: worker, to: cache, env: CACHE_URL }
  - { from: front, to: api, env: API_URL }
`
	b := translate(t, mustDecode(t, src), Options{})
	jobs := map[string]*api.Job{}
	for region, js := range b.Jobs {
		for _, j := range js {
			jobs[region+"/"+*j.ID] = j
		}
	}
	provider := map[string]string{"eu/geo-db": "consul", "eu/geo-cache": "nomad", "us/geo-api": "nomad", "us/geo-front": "nomad"}
	for id, want := range provider {
		j := jobs[id]
		if j == nil {
			t.Fatalf("no job %s", id)
		}
		if got := j.TaskGroups[0].Services[0].Provider; got != want {
			t.Errorf("%s registers with provider %q, want %q", id, got, want)
		}
	}
	lookups := map[string]string{
		"us/geo-api":    `service "geo-db@eu"`,    // across regions: the target region's Consul datacenter
		"eu/geo-worker": `service "geo-db"`,       // same region, target in Consul: the local datacenter
		"us/geo-front":  `nomadService "geo-api"`, // same region, target only reached locally
	}
	for id, want := range lookups {
		var text string
		for _, tpl := range jobs[id].TaskGroups[0].Tasks[0].Templates {
			if *tpl.DestPath == "local/connections.env" {
				text = *tpl.EmbeddedTmpl
			}
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s connections template lacks %s:\n%s", id, want, text)
		}
	}
	var worker string
	for _, tpl := range jobs["eu/geo-worker"].TaskGroups[0].Tasks[0].Templates {
		if *tpl.DestPath == "local/connections.env" {
			worker = *tpl.EmbeddedTmpl
		}
	}
	if !strings.Contains(worker, `nomadService "geo-cache"`) {
		t.Errorf("worker reaches cache through Nomad, which only it uses:\n%s", worker)
	}
}

// TestIPv6AddressesInBrackets renders a connection whose target has an IPv6
// address through the template engine: the URL must carry it in brackets.
func TestIPv6AddressesInBrackets(t *testing.T) {
	src := `version: 1
project: v6
elements:
  - { id: api, kind: app.command, command: serve, port: 8080 }
  - { id: db, kind: db.postgres }
connections:
  - { from: api, to: db }
`
	b := translate(t, mustDecode(t, src), Options{})
	var text string
	for _, j := range b.Jobs["global"] {
		if *j.ID == "v6-api" {
			for _, tpl := range j.TaskGroups[0].Tasks[0].Templates {
				if *tpl.DestPath == "local/connections.env" {
					text = *tpl.EmbeddedTmpl
				}
			}
		}
	}
	type svc struct {
		Address string
		Port    int
	}
	for _, tc := range []struct{ addr, want string }{
		{"fd00:ab::12", "@[fd00:ab::12]:5432/"},
		{"::1", "@[::1]:5432/"},
		{"10.0.0.7", "@10.0.0.7:5432/"},
	} {
		funcs := template.FuncMap{
			"nomadService": func(string) []svc { return []svc{{tc.addr, 5432}} },
			"contains":     func(v, l string) bool { return strings.Contains(l, v) },
		}
		tpl, err := template.New("t").Funcs(funcs).Parse(text)
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, text)
		}
		var out bytes.Buffer
		if err := tpl.Execute(&out, nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("address %s renders %q, want it to contain %q", tc.addr, out.String(), tc.want)
		}
	}
}
