package templates

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/schema"
)

// fakeKind is a kind with a given info and no behaviour.
type fakeKind struct{ info Info }

func (k fakeKind) Info() Info                           { return k.info }
func (fakeKind) Validate(ValidateInput) schema.Errors   { return nil }
func (fakeKind) Build(BuildInput) (*BuildResult, error) { return &BuildResult{}, nil }

var _ Kind = fakeKind{}

func TestRegisterRejectsBadNames(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		want string
	}{
		{"nil", nil, "nil kind"},
		{"empty", fakeKind{Info{Name: ""}}, "empty name"},
		{"uppercase", fakeKind{Info{Name: "App.Nodejs"}}, `"App.Nodejs"`},
		{"leading dot", fakeKind{Info{Name: ".app"}}, `".app"`},
		{"trailing dot", fakeKind{Info{Name: "app."}}, `"app."`},
		{"double dot", fakeKind{Info{Name: "app..x"}}, `"app..x"`},
		{"three parts", fakeKind{Info{Name: "app.node.js"}}, `"app.node.js"`},
		{"leading digit", fakeKind{Info{Name: "1app"}}, `"1app"`},
		{"space", fakeKind{Info{Name: "app nodejs"}}, `"app nodejs"`},
		{"underscore", fakeKind{Info{Name: "app_x"}}, `"app_x"`},
		{"dash in category", fakeKind{Info{Name: "my-db.x"}}, `"my-db.x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewRegistry()
			err := r.Register(c.kind)
			if err == nil {
				t.Fatal("Register succeeded, want an error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if errors.Is(err, ErrDuplicateKind) {
				t.Errorf("error %q is ErrDuplicateKind", err)
			}
			if n := len(r.Names()); n != 0 {
				t.Errorf("registry holds %d kinds after a failed Register", n)
			}
		})
	}
}

func TestRegisterAcceptsGoodNames(t *testing.T) {
	r := NewRegistry()
	for _, name := range []string{"worker", "cron2", "queue.nats", "queue.nats-js", "db.x9"} {
		if err := r.Register(fakeKind{Info{Name: name}}); err != nil {
			t.Errorf("Register(%q): %v", name, err)
		}
	}
	if got, want := r.Names(), []string{"cron2", "db.x9", "queue.nats", "queue.nats-js", "worker"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

func TestRegisterDuplicate(t *testing.T) {
	r := NewRegistry()
	first := fakeKind{Info{Name: "queue.nats", Label: "first"}}
	if err := r.Register(first); err != nil {
		t.Fatal(err)
	}
	err := r.Register(fakeKind{Info{Name: "queue.nats", Label: "second"}})
	if !errors.Is(err, ErrDuplicateKind) {
		t.Fatalf("second Register = %v, want ErrDuplicateKind", err)
	}
	if !strings.Contains(err.Error(), `"queue.nats"`) {
		t.Errorf("error %q does not name the kind", err)
	}
	k, ok := r.Get("queue.nats")
	if !ok || k.Info().Label != "first" {
		t.Errorf("Get after a duplicate = %v, %v; want the first kind kept", k, ok)
	}
}

func TestRegisterDuplicateBuiltin(t *testing.T) {
	r := newBuiltins(t)
	err := r.Register(FromSpec(Spec{Name: "db.postgres"}))
	if !errors.Is(err, ErrDuplicateKind) || !strings.Contains(err.Error(), `"db.postgres"`) {
		t.Fatalf("Register(db.postgres) over the built-ins = %v, want ErrDuplicateKind naming it", err)
	}
}

var builtinNames = []string{
	"app.command", "app.docker", "app.go", "app.nodejs", "app.python",
	"cache.redis", "cron", "db.mongodb", "db.mysql", "db.postgres",
	"lb.nginx", "mq.rabbitmq", "static", "worker",
}

func newBuiltins(t testing.TB) *Registry {
	t.Helper()
	r, err := NewBuiltinRegistry()
	if err != nil {
		t.Fatalf("NewBuiltinRegistry: %v", err)
	}
	return r
}

func TestBuiltinRegistry(t *testing.T) {
	r := newBuiltins(t)
	if got := r.Names(); !reflect.DeepEqual(got, builtinNames) {
		t.Fatalf("Names() = %q, want %q", got, builtinNames)
	}
	for _, name := range builtinNames {
		k, ok := r.Get(name)
		if !ok {
			t.Errorf("Get(%q) not found", name)
			continue
		}
		info := k.Info()
		if info.Name != name {
			t.Errorf("%s: Info().Name = %q", name, info.Name)
		}
		if info.Label == "" || info.Category == "" || info.Icon == "" {
			t.Errorf("%s: label %q, category %q, icon %q; want all set", name, info.Label, info.Category, info.Icon)
		}
		if len(info.Fields) == 0 {
			t.Errorf("%s: no fields", name)
		}
		if info.User {
			t.Errorf("%s: User = true for a built-in", name)
		}
		seen := map[string]bool{}
		for _, f := range info.Fields {
			if !contains(AllFields, f.Name) {
				t.Errorf("%s: field %q is not an element field", name, f.Name)
			}
			if seen[f.Name] {
				t.Errorf("%s: field %q listed twice", name, f.Name)
			}
			seen[f.Name] = true
			if _, spec := k.(*specKind); spec && f.Name == "driver" && !reflect.DeepEqual(f.Options, schema.Drivers) {
				t.Errorf("%s: driver options %q, want %q", name, f.Options, schema.Drivers)
			}
		}
		if info.Service && len(info.Exports) == 0 {
			t.Errorf("%s: a service kind exports nothing", name)
		}
		for _, ex := range info.Exports {
			if !strings.Contains(ex.URL, "{host}") || !strings.Contains(ex.URL, "{port}") {
				t.Errorf("%s: export URL %q lacks {host} or {port}", name, ex.URL)
			}
		}
		if info.Defaults.Resources.CPU == 0 || info.Defaults.Resources.Memory == 0 {
			t.Errorf("%s: default resources %+v", name, info.Defaults.Resources)
		}
		if len(info.Versions) > 0 {
			for _, v := range info.Versions {
				if info.Defaults.Images[v] == "" || strings.Contains(info.Defaults.Images[v], "{version}") {
					t.Errorf("%s: version %s has image %q", name, v, info.Defaults.Images[v])
				}
			}
		}
	}
}

func TestBuiltinExports(t *testing.T) {
	r := newBuiltins(t)
	cases := []struct {
		kind, env, url string
	}{
		{"db.postgres", "DATABASE_URL", "postgres://app:{password}@{host}:{port}/app"},
		{"db.mysql", "MYSQL_URL", "mysql://app:{password}@{host}:{port}/app"},
		{"db.mongodb", "MONGODB_URL", "mongodb://app:{password}@{host}:{port}/app?authSource=admin"},
		{"cache.redis", "REDIS_URL", "redis://:{password}@{host}:{port}/0"},
		{"mq.rabbitmq", "AMQP_URL", "amqp://app:{password}@{host}:{port}/"},
		{"app.nodejs", "{ID}_URL", "http://{host}:{port}"},
		{"app.python", "{ID}_URL", "http://{host}:{port}"},
		{"app.go", "{ID}_URL", "http://{host}:{port}"},
		{"app.docker", "{ID}_URL", "http://{host}:{port}"},
		{"app.command", "{ID}_URL", "http://{host}:{port}"},
		{"static", "{ID}_URL", "http://{host}:{port}"},
		{"lb.nginx", "{ID}_URL", "http://{host}:{port}"},
	}
	for _, c := range cases {
		k, _ := r.Get(c.kind)
		info := k.Info()
		if len(info.Exports) != 1 {
			t.Errorf("%s: %d exports, want 1", c.kind, len(info.Exports))
			continue
		}
		if ex := info.Exports[0]; ex.Env != c.env || ex.URL != c.url {
			t.Errorf("%s exports %s=%s, want %s=%s", c.kind, ex.Env, ex.URL, c.env, c.url)
		}
		if !info.Service {
			t.Errorf("%s: Service = false", c.kind)
		}
	}
	for _, name := range []string{"worker", "cron"} {
		k, _ := r.Get(name)
		info := k.Info()
		if info.Service || len(info.Exports) != 0 || !info.Connects {
			t.Errorf("%s: service %v, exports %v, connects %v; want no service, no exports, outgoing connections", name, info.Service, info.Exports, info.Connects)
		}
	}
	for _, name := range []string{"db.postgres", "db.mysql", "db.mongodb", "cache.redis", "mq.rabbitmq"} {
		k, _ := r.Get(name)
		info := k.Info()
		if info.Connects {
			t.Errorf("%s: a datastore makes outgoing connections", name)
		}
		if info.Defaults.Driver != "docker" {
			t.Errorf("%s: default driver %q, want docker", name, info.Defaults.Driver)
		}
		if ex := info.Exports[0]; ex.OpenURL == "" || strings.Contains(ex.OpenURL, "{password}") ||
			strings.Contains(ex.URL+ex.OpenURL, "{user}") || strings.Contains(ex.URL+ex.OpenURL, "{database}") {
			t.Errorf("%s: export %+v: want an open URL without a password, and user and database filled in", name, ex)
		}
	}
}

func TestEnvName(t *testing.T) {
	cases := []struct{ pattern, id, want string }{
		{"{ID}_URL", "api", "API_URL"},
		{"{ID}_URL", "shop-api-2", "SHOP_API_2_URL"},
		{"DATABASE_URL", "db", "DATABASE_URL"},
		{"X_{ID}_{ID}", "a-b", "X_A_B_A_B"},
	}
	for _, c := range cases {
		if got := EnvName(c.pattern, c.id); got != c.want {
			t.Errorf("EnvName(%q, %q) = %q, want %q", c.pattern, c.id, got, c.want)
		}
	}
}

func TestInfosSorted(t *testing.T) {
	r := newBuiltins(t)
	var got []string
	for _, info := range r.Infos() {
		got = append(got, info.Category+"/"+info.Name)
	}
	want := []string{
		"app/app.command", "app/app.docker", "app/app.go", "app/app.nodejs", "app/app.python", "app/static",
		"cache/cache.redis",
		"database/db.mongodb", "database/db.mysql", "database/db.postgres",
		"network/lb.nginx",
		"queue/mq.rabbitmq",
		"worker/cron", "worker/worker",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Infos() order:\n got %q\nwant %q", got, want)
	}
	// A kind whose name sorts first but whose category sorts last stays last.
	if err := r.Register(fakeKind{Info{Name: "aaa", Category: "zzz"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(fakeKind{Info{Name: "zzz", Category: "aaa"}}); err != nil {
		t.Fatal(err)
	}
	infos := r.Infos()
	if infos[0].Name != "zzz" || infos[len(infos)-1].Name != "aaa" {
		t.Errorf("Infos() starts with %q and ends with %q, want zzz first and aaa last", infos[0].Name, infos[len(infos)-1].Name)
	}
}

// Every built-in spec passes the checks a user kind file gets, so the
// built-ins really are written in the user kind format.
func TestBuiltinSpecsPassUserChecks(t *testing.T) {
	for _, k := range Builtins() {
		sk, ok := k.(*specKind)
		if !ok {
			continue
		}
		data, err := yaml.Marshal(sk.s)
		if err != nil {
			t.Fatalf("%s: marshal: %v", sk.s.Name, err)
		}
		spec, errs := ParseSpec(sk.s.Name+".yaml", data)
		if len(errs) == 1 && errs[0].Path == "image" && contains(sk.s.Required, "image") {
			// app.docker runs the element's image; a user kind cannot say
			// that (ParseSpec wants the spec's own image for run: image).
			continue
		}
		if len(errs) > 0 {
			t.Errorf("%s fails the user kind checks:\n%v\n%s", sk.s.Name, errs, data)
			continue
		}
		spec.user = false
		if !reflect.DeepEqual(FromSpec(*spec).Info(), k.Info()) {
			t.Errorf("%s: Info differs after a YAML round trip", sk.s.Name)
		}
	}
}

// decodeSchema reads a schema that schema.Validate accepts, so that what
// Registry.Validate reports is its own.
func decodeSchema(t testing.TB, src string) *schema.Schema {
	t.Helper()
	s, err := schema.Decode("backplane.yaml", []byte(src))
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, src)
	}
	if errs := schema.Validate(s); len(errs) > 0 {
		t.Fatalf("schema.Validate: %v\n%s", errs, src)
	}
	return s
}

// natsSpec is a user kind, as a file in a kinds folder declares it.
const natsSpec = `name: queue.nats
label: NATS
category: queue
icon: nats
description: NATS server
run: image
image: "nats:{version}"
versions: ["2.10", "2.9"]
args: ["--cluster_name", "${NATS_CLUSTER}"]
port: 4222
scheme: nats
resources: { cpu: 150, memory: 96 }
volume_path: /data
fields: [version, volume, env, resources, placement, alerts, driver, params]
leaf: true
params:
  cluster:
    env: NATS_CLUSTER
    default: main
    help: cluster name
  token:
    env: NATS_TOKEN
    required: true
exports:
  - env: NATS_URL
    url: "nats://{host}:{port}"
`

func registryWithNats(t testing.TB) *Registry {
	t.Helper()
	r := newBuiltins(t)
	spec, errs := ParseSpec("queue.nats.yaml", []byte(natsSpec))
	if len(errs) > 0 {
		t.Fatalf("ParseSpec: %v", errs)
	}
	if err := r.Register(FromSpec(*spec)); err != nil {
		t.Fatal(err)
	}
	return r
}

type wantErr struct{ path, msg string }

func TestRegistryValidate(t *testing.T) {
	const head = "version: 1\nproject: shop\n"
	cases := []struct {
		name string
		yaml string
		want []wantErr
	}{
		{
			name: "design example is valid",
			yaml: `version: 1
project: shop
namespace: default
mesh: false
regions:
  eu: { datacenters: [eu-west-1] }
  us: { datacenters: [us-east-1] }
defaults: { region: eu, driver: docker }
receivers:
  api-team: { slack: { channel: "#api", webhook_url_secret: SLACK_URL } }
  oncall:   { email: { to: oncall@example.com } }
elements:
  - id: api
    kind: app.nodejs
    source: { repo: https://github.com/acme/api.git, branch: main, autodeploy: true,
              build: npm ci, start: npm start }
    port: 3000
    env: { NODE_ENV: production }
    secrets: [STRIPE_KEY]
    resources: { cpu: 300, memory: 256 }
    scale: { count: 2, min: 2, max: 8, cpu_target: 70 }
    health: { http: /healthz }
    placement: { regions: [eu, us] }
    alerts: { receivers: [api-team, oncall] }
  - id: db
    kind: db.mongodb
    version: "7"
    volume: { name: mongo-data, size_mb: 10240 }
  - id: mailer
    kind: worker
    command: python3 -m mailer
  - id: nightly
    kind: cron
    schedule: "0 3 * * *"
    command: python3 -m report
  - id: lb
    kind: lb.nginx
    port: 80
    upstream: { policy: least_conn }
connections:
  - { from: lb,  to: api, route: { path: / } }
  - { from: api, to: db }
  - { from: mailer, to: db, env: MAIL_DB_URL }
`,
		},
		{
			name: "every built-in minimal",
			yaml: head + `elements:
  - { id: node, kind: app.nodejs, port: 3000, source: { repo: https://g.example/a.git, start: npm start } }
  - { id: py, kind: app.python, source: { repo: https://g.example/a.git, start: python app.py } }
  - { id: go, kind: app.go, source: { repo: https://g.example/a.git, start: go run . } }
  - { id: img, kind: app.docker, image: "nginx:1" }
  - { id: cmd, kind: app.command, command: ./serve, port: 8080 }
  - { id: w, kind: worker, command: ./work }
  - { id: c, kind: cron, command: ./report, schedule: "@daily" }
  - { id: site, kind: static, source: { repo: https://g.example/a.git } }
  - { id: pg, kind: db.postgres }
  - { id: my, kind: db.mysql, version: "8.0" }
  - { id: mongo, kind: db.mongodb }
  - { id: redis, kind: cache.redis }
  - { id: mq, kind: mq.rabbitmq }
  - { id: lb, kind: lb.nginx, port: 80 }
connections:
  - { from: lb, to: node, route: { path: /api }, weight: 3 }
  - { from: lb, to: site, route: { path: / } }
  - { from: node, to: pg }
  - { from: w, to: mq }
  - { from: c, to: cmd }
`,
		},
		{
			name: "unknown kind with a suggestion",
			yaml: head + "elements:\n  - { id: db, kind: postgres }\n",
			want: []wantErr{{"elements[db].kind", `unknown kind "postgres" (did you mean "db.postgres"?)`}},
		},
		{
			name: "unknown kind with a sub-kind suggestion",
			yaml: head + "elements:\n  - { id: db, kind: db.postgres.ha }\n",
			want: []wantErr{{"elements[db].kind", `unknown kind "db.postgres.ha" (did you mean "db.postgres"?)`}},
		},
		{
			name: "unknown kind without a suggestion",
			yaml: head + "elements:\n  - { id: x, kind: zookeeper }\n",
			want: []wantErr{{"elements[x].kind", "unknown kind \"zookeeper\" (run `backplane kinds` for the list)"}},
		},
		{
			name: "unknown kind skips its connections",
			yaml: head + "elements:\n  - { id: x, kind: zookeeper }\n  - { id: w, kind: worker, command: w }\nconnections:\n  - { from: w, to: x, weight: 5 }\n",
			want: []wantErr{{"elements[x].kind", `unknown kind "zookeeper"`}},
		},
		{
			name: "field the kind does not take",
			yaml: head + "elements:\n  - { id: db, kind: db.mongodb, command: mongod --auth }\n",
			want: []wantErr{{"elements[db].command", "kind db.mongodb does not take command"}},
		},
		{
			name: "several fields the kind does not take",
			yaml: head + "elements:\n  - { id: w, kind: worker, command: w, port: 80, source: { repo: https://g.example/a.git }, upstream: { policy: ip_hash } }\n",
			want: []wantErr{
				{"elements[w].port", "kind worker does not take port"},
				{"elements[w].source", "kind worker does not take source"},
				{"elements[w].upstream", "kind worker does not take upstream"},
			},
		},
		{
			name: "worker without command",
			yaml: head + "elements:\n  - { id: w, kind: worker }\n",
			want: []wantErr{{"elements[w].command", "is required for kind worker"}},
		},
		{
			name: "cron without schedule",
			yaml: head + "elements:\n  - { id: c, kind: cron, command: ./report }\n",
			want: []wantErr{{"elements[c].schedule", "is required for kind cron"}},
		},
		{
			name: "cron without schedule and command",
			yaml: head + "elements:\n  - { id: c, kind: cron }\n",
			want: []wantErr{
				{"elements[c].command", "is required for kind cron"},
				{"elements[c].schedule", "is required for kind cron"},
			},
		},
		{
			name: "app without source",
			yaml: head + "elements:\n  - { id: a, kind: app.nodejs, port: 3000 }\n",
			want: []wantErr{{"elements[a].source", "is required for kind app.nodejs"}},
		},
		{
			name: "app source without start",
			yaml: head + "elements:\n  - { id: a, kind: app.nodejs, source: { repo: https://g.example/a.git, build: npm ci } }\n",
			want: []wantErr{{"elements[a].source.start", "is required for kind app.nodejs"}},
		},
		{
			name: "static needs no start",
			yaml: head + "elements:\n  - { id: s, kind: static, source: { repo: https://g.example/a.git, build: npm run build, dir: dist } }\n",
		},
		{
			name: "app.docker without image",
			yaml: head + "elements:\n  - { id: a, kind: app.docker, port: 80 }\n",
			want: []wantErr{{"elements[a].image", "is required for kind app.docker"}},
		},
		{
			name: "version on a kind without versions",
			yaml: head + "elements:\n  - { id: a, kind: app.command, command: x, version: \"1\" }\n",
			want: []wantErr{{"elements[a].version", "kind app.command does not take version"}},
		},
		// A version the kind does not list is a real image tag; the build
		// warns about it (TestBuildVersions), validation does not refuse it.
		{
			name: "version not listed",
			yaml: head + "elements:\n  - { id: db, kind: db.postgres, version: \"9\" }\n",
		},
		{
			name: "major versions",
			yaml: head + "elements:\n  - { id: r, kind: cache.redis, version: \"7\" }\n  - { id: mq, kind: mq.rabbitmq, version: 3 }\n  - { id: q, kind: queue.nats, version: 2, params: { token: t } }\n",
		},
		{
			name: "lb version not listed",
			yaml: head + "elements:\n  - { id: lb, kind: lb.nginx, port: 80, version: \"1.0\" }\n  - { id: a, kind: app.command, command: x, port: 80 }\nconnections:\n  - { from: lb, to: a }\n",
		},
		{
			name: "version with a space",
			yaml: head + "elements:\n  - { id: r, kind: cache.redis, version: \"7 alpine\" }\n",
			want: []wantErr{{"elements[r].version", `Redis version "7 alpine" is not a valid image tag`}},
		},
		{
			name: "version that is not a tag",
			yaml: head + "elements:\n  - { id: db, kind: db.postgres, version: \".17\" }\n  - { id: q, kind: queue.nats, version: \"2:latest\", params: { token: t } }\n  - { id: lb, kind: lb.nginx, port: 80, version: \"1.27/alpine\" }\n  - { id: a, kind: app.command, command: x, port: 80 }\nconnections:\n  - { from: lb, to: a }\n",
			want: []wantErr{
				{"elements[db].version", `PostgreSQL version ".17" is not a valid image tag: use letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-' (for example "17")`},
				{"elements[lb].version", `Load balancer version "1.27/alpine" is not a valid image tag`},
				{"elements[q].version", `NATS version "2:latest" is not a valid image tag`},
			},
		},
		{
			name: "image kind under raw_exec",
			yaml: head + "elements:\n  - { id: db, kind: db.postgres, driver: raw_exec }\n",
			want: []wantErr{{"elements[db].driver", "db.postgres runs a container image and needs the docker driver, not raw_exec"}},
		},
		{
			name: "image kind under the project's exec default",
			yaml: head + "defaults: { driver: exec }\nelements:\n  - { id: r, kind: cache.redis }\n  - { id: a, kind: app.docker, image: x }\n",
			want: []wantErr{
				{"elements[a].driver", "app.docker runs a container image and needs the docker driver, not exec"},
				{"elements[r].driver", "cache.redis runs a container image and needs the docker driver, not exec"},
			},
		},
		{
			name: "image kind with docker over an exec default",
			yaml: head + "defaults: { driver: exec }\nelements:\n  - { id: r, kind: cache.redis, driver: docker }\n  - { id: w, kind: worker, command: w }\n",
		},
		{
			name: "connection from a datastore",
			yaml: head + "elements:\n  - { id: db, kind: db.mongodb }\n  - { id: api, kind: app.command, command: x, port: 80 }\nconnections:\n  - { from: db, to: api }\n",
			want: []wantErr{{"connections[0].from", "db (db.mongodb) cannot connect to api (app.command): MongoDB makes no outgoing connections"}},
		},
		{
			name: "connection to a worker",
			yaml: head + "elements:\n  - { id: api, kind: app.command, command: x, port: 80 }\n  - { id: w, kind: worker, command: w }\nconnections:\n  - { from: api, to: w }\n",
			want: []wantErr{{"connections[0].to", "api (app.command) cannot connect to w (worker): Worker has no service to connect to"}},
		},
		{
			name: "connection to a cron job",
			yaml: head + "elements:\n  - { id: api, kind: app.command, command: x, port: 80 }\n  - { id: c, kind: cron, command: c, schedule: \"@hourly\" }\nconnections:\n  - { from: api, to: c }\n",
			want: []wantErr{{"connections[0].to", "api (app.command) cannot connect to c (cron): Cron job has no service to connect to"}},
		},
		{
			name: "connection to an app.command without port",
			yaml: head + "elements:\n  - { id: w, kind: worker, command: w }\n  - { id: cmd, kind: app.command, command: x }\nconnections:\n  - { from: w, to: cmd }\n",
			want: []wantErr{{"connections[0].to", "w (worker) cannot connect to cmd (app.command): cmd has no port; set elements[cmd].port"}},
		},
		{
			name: "weight and route on a non-LB connection",
			yaml: head + "elements:\n  - { id: w, kind: worker, command: w }\n  - { id: db, kind: db.postgres }\nconnections:\n  - { from: w, to: db, weight: 10, route: { path: /x } }\n",
			want: []wantErr{
				{"connections[0].route", "only a load balancer's connections have a route"},
				{"connections[0].weight", "only a load balancer's connections have a weight"},
			},
		},
		{
			name: "LB without connections",
			yaml: head + "elements:\n  - { id: lb, kind: lb.nginx, port: 80 }\n",
			want: []wantErr{{"elements[lb]", "a load balancer needs at least one connection to balance over"}},
		},
		{
			name: "LB without port",
			yaml: head + "elements:\n  - { id: lb, kind: lb.nginx }\n  - { id: a, kind: app.command, command: x, port: 80 }\nconnections:\n  - { from: lb, to: a }\n",
			want: []wantErr{{"elements[lb].port", "is required for kind lb.nginx"}},
		},
		{
			name: "LB only incoming does not count",
			yaml: head + "elements:\n  - { id: lb, kind: lb.nginx, port: 80 }\n  - { id: w, kind: worker, command: w }\nconnections:\n  - { from: w, to: lb }\n",
			want: []wantErr{{"elements[lb]", "needs at least one connection"}},
		},
		{
			name: "LB autoscale",
			yaml: head + "elements:\n  - { id: lb, kind: lb.nginx, port: 80, scale: { min: 1, max: 3 } }\n  - { id: a, kind: app.command, command: x, port: 80 }\nconnections:\n  - { from: lb, to: a }\n",
			want: []wantErr{{"elements[lb].scale.max", "a load balancer on a fixed port does not autoscale; set count"}},
		},
		{
			name: "LB with a count",
			yaml: head + "elements:\n  - { id: lb, kind: lb.nginx, port: 80, scale: { count: 2 } }\n  - { id: a, kind: app.command, command: x, port: 80 }\nconnections:\n  - { from: lb, to: a, weight: 100, route: { path: /a } }\n",
		},
		{
			name: "cron with scale.max",
			yaml: head + "elements:\n  - { id: c, kind: cron, command: x, schedule: \"@daily\", scale: { min: 1, max: 3 } }\n",
			want: []wantErr{
				{"elements[c].scale", "kind cron does not take scale"},
				{"elements[c].scale.max", "a cron job does not autoscale"},
			},
		},
		{
			name: "health without port",
			yaml: head + "elements:\n  - { id: a, kind: app.command, command: x, health: { http: /healthz } }\n",
			want: []wantErr{{"elements[a].health", "needs a port to check"}},
		},
		{
			name: "health with the kind's port",
			yaml: head + "elements:\n  - { id: db, kind: db.postgres, health: { tcp: true } }\n",
		},
		{
			name: "params on a kind without params",
			yaml: head + "elements:\n  - { id: db, kind: db.postgres, params: { max_connections: \"100\" } }\n",
			want: []wantErr{
				{"elements[db].params", "kind db.postgres does not take params"},
				{"elements[db].params.max_connections", `kind db.postgres has no parameter "max_connections"`},
			},
		},
		{
			name: "user kind valid",
			yaml: head + "elements:\n  - { id: q, kind: queue.nats, version: \"2.9\", params: { token: s3cret } }\n  - { id: w, kind: worker, command: w }\nconnections:\n  - { from: w, to: q }\n",
		},
		{
			name: "user kind unknown and missing params",
			yaml: head + "elements:\n  - { id: q, kind: queue.nats, params: { bogus: x, cluster: c } }\n",
			want: []wantErr{
				{"elements[q].params.bogus", `kind queue.nats has no parameter "bogus"`},
				{"elements[q].params.token", "is required for kind queue.nats"},
			},
		},
		{
			name: "user kind empty required param",
			yaml: head + "elements:\n  - { id: q, kind: queue.nats, params: { token: \"\" } }\n",
			want: []wantErr{{"elements[q].params.token", "is required for kind queue.nats"}},
		},
		{
			name: "user kind field it does not take",
			yaml: head + "elements:\n  - { id: q, kind: queue.nats, command: x, params: { token: t } }\n",
			want: []wantErr{{"elements[q].command", "kind queue.nats does not take command"}},
		},
		{
			name: "user kind is a leaf",
			yaml: head + "elements:\n  - { id: q, kind: queue.nats, params: { token: t } }\n  - { id: db, kind: db.postgres }\nconnections:\n  - { from: q, to: db }\n",
			want: []wantErr{{"connections[0].from", "q (queue.nats) cannot connect to db (db.postgres): NATS makes no outgoing connections"}},
		},
	}
	r := registryWithNats(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := decodeSchema(t, c.yaml)
			checkErrors(t, r.Validate(s), c.want)
		})
	}
}

func checkErrors(t *testing.T, got schema.Errors, want []wantErr) {
	t.Helper()
	var lines []string
	for _, e := range got {
		lines = append(lines, e.Path+": "+e.Msg)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if got[i].Path != w.path || !strings.Contains(got[i].Msg, w.msg) {
			t.Errorf("error %d = %q, want path %q and message containing %q", i, lines[i], w.path, w.msg)
		}
	}
}

// Registry.Validate runs after schema.Validate and must not trip over what
// that reports: dangling and self connections, missing kinds and IDs.
func TestRegistryValidateToleratesSchemaErrors(t *testing.T) {
	r := newBuiltins(t)
	s := &schema.Schema{
		Version: 1, Project: "shop",
		Elements: []schema.Element{
			{ID: "", Kind: "nosuch"},
			{ID: "nokind"},
			{ID: "w", Kind: "worker", Command: "w"},
			{ID: "lb", Kind: "lb.nginx", Port: 80},
		},
		Connections: []schema.Connection{
			{From: "w", To: "ghost"},
			{From: "ghost", To: "w"},
			{From: "w", To: "w", Weight: 3},
			{From: "", To: ""},
			{From: "lb", To: "nokind"},
		},
	}
	errs := r.Validate(s)
	checkErrors(t, errs, []wantErr{
		{"elements[0].kind", `unknown kind "nosuch"`},
	})
	if len(schema.Validate(s)) == 0 {
		t.Fatal("schema.Validate accepts the broken schema; the test is not testing tolerance")
	}
}

func TestRegistryValidateEmptyRegistry(t *testing.T) {
	s := &schema.Schema{Version: 1, Project: "shop", Elements: []schema.Element{{ID: "a", Kind: "app.nodejs"}}}
	errs := NewRegistry().Validate(s)
	if len(errs) != 1 || errs[0].Msg != `unknown kind "app.nodejs"` {
		t.Errorf("Validate with no kinds = %v, want unknown kind without a suggestion", errs)
	}
}

func TestRegistryValidateSorted(t *testing.T) {
	r := newBuiltins(t)
	s := decodeSchema(t, "version: 1\nproject: shop\nelements:\n"+
		"  - { id: z, kind: worker }\n  - { id: a, kind: cron }\n  - { id: m, kind: postgres }\n")
	errs := r.Validate(s)
	for i := 1; i < len(errs); i++ {
		if errs[i-1].Path > errs[i].Path {
			t.Errorf("errors not sorted by path: %q before %q", errs[i-1].Path, errs[i].Path)
		}
	}
	if len(errs) != 4 {
		t.Errorf("got %d errors, want 4: %v", len(errs), errs)
	}
	if got := fmt.Sprint(errs[0].Path); got != "elements[a].command" {
		t.Errorf("first error at %s, want elements[a].command", got)
	}
}
