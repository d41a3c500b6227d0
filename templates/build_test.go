package templates

import (
	"reflect"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
)

// buildOne builds element e, alone in project "shop", after checking that
// the registry finds it valid (lb.nginx is built without its connections).
func buildOne(t *testing.T, r *Registry, e schema.Element, driver string, opts Options, conns ...Connection) *BuildResult {
	t.Helper()
	s := &schema.Schema{Version: 1, Project: "shop", Elements: []schema.Element{e}}
	if driver != "docker" {
		s.Elements[0].Driver = driver
	}
	el := &s.Elements[0]
	for _, c := range conns {
		s.Connections = append(s.Connections, c.Connection)
		if c.Target != nil && s.Element(c.Target.ID) == nil {
			s.Elements = append(s.Elements, *c.Target)
			el = &s.Elements[0]
		}
	}
	if errs := schema.Validate(s); len(errs) > 0 {
		t.Fatalf("schema.Validate: %v", errs)
	}
	if errs := r.Validate(s); len(errs) > 0 && !(e.Kind == "lb.nginx" && len(conns) == 0) {
		t.Fatalf("Registry.Validate: %v", errs)
	}
	k, ok := r.Get(e.Kind)
	if !ok {
		t.Fatalf("no kind %s", e.Kind)
	}
	res, err := k.Build(BuildInput{
		Schema: s, Element: el, Path: schema.ElementPath(e.ID),
		Region: "global", Driver: driver, JobID: "shop-" + e.ID,
		Connections: conns, Options: opts,
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if res == nil || res.Task == nil {
		t.Fatal("Build returned no task")
	}
	return res
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// findTemplate returns the task's template writing dest, or nil.
func findTemplate(task *api.Task, dest string) *api.Template {
	for _, tm := range task.Templates {
		if deref(tm.DestPath) == dest {
			return tm
		}
	}
	return nil
}

type fakeService struct {
	Address string
	Port    int
}

type fakeSecret struct{ Data map[string]any }

// stubFuncs stand in for consul-template's functions. services maps a
// service query argument to its instances; calls records every lookup.
func stubFuncs(services map[string][]fakeService, password string, calls *[]string) template.FuncMap {
	record := func(s string) {
		if calls != nil {
			*calls = append(*calls, s)
		}
	}
	return template.FuncMap{
		"nomadService": func(name string) []fakeService { record("nomadService " + name); return services[name] },
		"service":      func(name string) []fakeService { record("service " + name); return services[name] },
		"secret": func(path string) fakeSecret {
			record("secret " + path)
			return fakeSecret{Data: map[string]any{"data": map[string]any{"password": password}}}
		},
		"env":      func(name string) string { record("env " + name); return "env-" + name },
		"contains": templateContains,
	}
}

const shellPrelude = "#!/bin/sh\nset -e\n"

// checkScript asserts the task runs start.sh with /bin/sh and that the
// template renders script exactly.
func checkScript(t *testing.T, task *api.Task, script string) {
	t.Helper()
	if task.Config["command"] != "/bin/sh" || !reflect.DeepEqual(task.Config["args"], []any{"${NOMAD_TASK_DIR}/start.sh"}) {
		t.Errorf("config command %v args %v, want /bin/sh ${NOMAD_TASK_DIR}/start.sh", task.Config["command"], task.Config["args"])
	}
	tm := findTemplate(task, "local/start.sh")
	if tm == nil {
		t.Fatalf("no local/start.sh template in %d templates", len(task.Templates))
	}
	if deref(tm.Perms) != "0755" || deref(tm.ChangeMode) != "restart" || deref(tm.Envvars) {
		t.Errorf("start.sh perms %q, change mode %q, env %v", deref(tm.Perms), deref(tm.ChangeMode), deref(tm.Envvars))
	}
	if got := execTemplate(t, deref(tm.EmbeddedTmpl), nil); got != shellPrelude+script {
		t.Errorf("start.sh renders\n%q\nwant\n%q", got, shellPrelude+script)
	}
}

func TestBuildBuiltins(t *testing.T) {
	src := &schema.Source{Repo: "https://github.com/acme/api.git", Branch: "main", Build: "npm ci", Start: "npm start"}
	cases := []struct {
		name    string
		e       schema.Element
		driver  string
		image   string // config image; "" for none
		script  string // start.sh; "" when the task runs an image
		command string // config command for image kinds
		args    []any  // config args for image kinds
		cpu     int
		mem     int
		port    *Port
		check   string // "", "tcp" or "http"
		batch   bool
	}{
		{
			name: "app.nodejs docker", driver: "docker",
			e:     schema.Element{ID: "api", Kind: "app.nodejs", Source: src, Port: 3000},
			image: "node:22-bookworm-slim", script: "cd \"${NOMAD_TASK_DIR}/src\"\nnpm ci\nnpm start\n",
			cpu: 200, mem: 256, port: &Port{Label: "http", To: 3000}, check: "tcp",
		},
		{
			name: "app.nodejs raw_exec", driver: "raw_exec",
			e:      schema.Element{ID: "api", Kind: "app.nodejs", Source: src, Port: 3000},
			script: "cd \"${NOMAD_TASK_DIR}/src\"\nnpm ci\nnpm start\n",
			cpu:    200, mem: 256, port: &Port{Label: "http", To: 3000}, check: "tcp",
		},
		{
			name: "app.nodejs without port", driver: "docker",
			e:     schema.Element{ID: "api", Kind: "app.nodejs", Source: src},
			image: "node:22-bookworm-slim", script: "cd \"${NOMAD_TASK_DIR}/src\"\nnpm ci\nnpm start\n",
			cpu: 200, mem: 256,
		},
		{
			name: "app.python version and dir", driver: "docker",
			e: schema.Element{ID: "py", Kind: "app.python", Version: "3.12", Port: 8000,
				Source: &schema.Source{Repo: "https://g.example/py.git", Dir: "svc/api/", Start: "gunicorn app:app"}},
			image: "python:3.12-slim-bookworm", script: "cd \"${NOMAD_TASK_DIR}/src/svc/api\"\ngunicorn app:app\n",
			cpu: 200, mem: 256, port: &Port{Label: "http", To: 8000}, check: "tcp",
		},
		{
			name: "app.python exec", driver: "exec",
			e:      schema.Element{ID: "py", Kind: "app.python", Source: &schema.Source{Repo: "https://g.example/py.git", Start: "python -m app"}},
			script: "cd \"${NOMAD_TASK_DIR}/src\"\npython -m app\n", cpu: 200, mem: 256,
		},
		{
			name: "app.go", driver: "docker",
			e:     schema.Element{ID: "gosvc", Kind: "app.go", Port: 8080, Source: &schema.Source{Repo: "https://g.example/go.git", Build: "go build -o app .", Start: "./app"}},
			image: "golang:1.25-bookworm", script: "cd \"${NOMAD_TASK_DIR}/src\"\ngo build -o app .\n./app\n",
			cpu: 200, mem: 256, port: &Port{Label: "http", To: 8080}, check: "tcp",
		},
		{
			name: "app.docker", driver: "docker",
			e:     schema.Element{ID: "img", Kind: "app.docker", Image: "ghcr.io/acme/api:1.2", Command: "/app", Args: []string{"--port", "8080"}, Port: 8080},
			image: "ghcr.io/acme/api:1.2", command: "/app", args: []any{"--port", "8080"},
			cpu: 200, mem: 256, port: &Port{Label: "http", To: 8080}, check: "tcp",
		},
		{
			name: "app.docker image only", driver: "docker",
			e:     schema.Element{ID: "img", Kind: "app.docker", Image: "nginx:1"},
			image: "nginx:1", cpu: 200, mem: 256,
		},
		{
			name: "app.command docker", driver: "docker",
			e:     schema.Element{ID: "cmd", Kind: "app.command", Command: "./serve --port $PORT", Port: 8080},
			image: "debian:bookworm-slim", script: "./serve --port $PORT\n",
			cpu: 100, mem: 128, port: &Port{Label: "http", To: 8080}, check: "tcp",
		},
		{
			name: "app.command own image", driver: "docker",
			e:     schema.Element{ID: "cmd", Kind: "app.command", Command: "node server.js", Image: "node:22", Port: 8080},
			image: "node:22", script: "node server.js\n",
			cpu: 100, mem: 128, port: &Port{Label: "http", To: 8080}, check: "tcp",
		},
		{
			name: "app.command raw_exec", driver: "raw_exec",
			e:      schema.Element{ID: "cmd", Kind: "app.command", Command: "./serve"},
			script: "./serve\n", cpu: 100, mem: 128,
		},
		{
			name: "worker docker", driver: "docker",
			e:     schema.Element{ID: "w", Kind: "worker", Command: "python3 -m mailer"},
			image: "debian:bookworm-slim", script: "python3 -m mailer\n", cpu: 100, mem: 128,
		},
		{
			name: "worker raw_exec", driver: "raw_exec",
			e:      schema.Element{ID: "w", Kind: "worker", Command: "python3 -m mailer"},
			script: "python3 -m mailer\n", cpu: 100, mem: 128,
		},
		{
			name: "cron docker", driver: "docker",
			e:     schema.Element{ID: "c", Kind: "cron", Command: "python3 -m report", Schedule: "0 3 * * *"},
			image: "debian:bookworm-slim", script: "python3 -m report\n", cpu: 100, mem: 128, batch: true,
		},
		{
			name: "cron raw_exec", driver: "raw_exec",
			e:      schema.Element{ID: "c", Kind: "cron", Command: "python3 -m report", Schedule: "@daily"},
			script: "python3 -m report\n", cpu: 100, mem: 128, batch: true,
		},
		{
			name: "db.postgres", driver: "docker",
			e:     schema.Element{ID: "db", Kind: "db.postgres"},
			image: "postgres:17", cpu: 500, mem: 512, port: &Port{Label: "http", To: 5432}, check: "tcp",
		},
		{
			name: "db.postgres version", driver: "docker",
			e:     schema.Element{ID: "db", Kind: "db.postgres", Version: "15"},
			image: "postgres:15", cpu: 500, mem: 512, port: &Port{Label: "http", To: 5432}, check: "tcp",
		},
		{
			name: "db.mysql", driver: "docker",
			e:     schema.Element{ID: "db", Kind: "db.mysql"},
			image: "mysql:8.4", cpu: 500, mem: 512, port: &Port{Label: "http", To: 3306}, check: "tcp",
		},
		{
			name: "db.mongodb", driver: "docker",
			e:     schema.Element{ID: "db", Kind: "db.mongodb", Version: "8"},
			image: "mongo:8", cpu: 500, mem: 512, port: &Port{Label: "http", To: 27017}, check: "tcp",
		},
		{
			name: "cache.redis", driver: "docker",
			e:     schema.Element{ID: "cache", Kind: "cache.redis"},
			image: "redis:7.4-alpine", command: "/bin/sh",
			args: []any{"-c", `exec redis-server --appendonly yes ${REDIS_PASSWORD:+--requirepass "$REDIS_PASSWORD"}`},
			cpu:  200, mem: 256, port: &Port{Label: "http", To: 6379}, check: "tcp",
		},
		{
			name: "mq.rabbitmq", driver: "docker",
			e:     schema.Element{ID: "mq", Kind: "mq.rabbitmq", Version: "3.13"},
			image: "rabbitmq:3.13-management-alpine", cpu: 500, mem: 512, port: &Port{Label: "http", To: 5672}, check: "tcp",
		},
		{
			name: "static", driver: "docker",
			e:     schema.Element{ID: "site", Kind: "static", Source: &schema.Source{Repo: "https://g.example/site.git"}},
			image: "nginx:1.27-alpine", command: "", args: []any{"nginx", "-c", "/local/nginx.conf", "-g", "daemon off;"},
			cpu: 100, mem: 64, port: &Port{Label: "http", To: 8080}, check: "tcp",
		},
		{
			name: "static raw_exec", driver: "raw_exec",
			e:       schema.Element{ID: "site", Kind: "static", Port: 9000, Source: &schema.Source{Repo: "https://g.example/site.git"}},
			command: "nginx", args: []any{"-c", "${NOMAD_TASK_DIR}/nginx.conf", "-p", "${NOMAD_TASK_DIR}", "-g", "daemon off;"},
			cpu: 100, mem: 64, port: &Port{Label: "http", To: 9000}, check: "tcp",
		},
		{
			name: "lb.nginx", driver: "docker",
			e:     schema.Element{ID: "lb", Kind: "lb.nginx", Port: 8443},
			image: "nginx:1.27-alpine", args: []any{"nginx", "-c", "/local/nginx.conf", "-g", "daemon off;"},
			cpu: 100, mem: 64, port: &Port{Label: "http", To: 8443, Static: true}, check: "tcp",
		},
		{
			name: "lb.nginx version", driver: "docker",
			e:     schema.Element{ID: "lb", Kind: "lb.nginx", Port: 80, Version: "1.26"},
			image: "nginx:1.26-alpine", args: []any{"nginx", "-c", "/local/nginx.conf", "-g", "daemon off;"},
			cpu: 100, mem: 64, port: &Port{Label: "http", To: 80, Static: true}, check: "tcp",
		},
		{
			name: "lb.nginx raw_exec", driver: "raw_exec",
			e:       schema.Element{ID: "lb", Kind: "lb.nginx", Port: 80},
			command: "nginx", args: []any{"-c", "${NOMAD_TASK_DIR}/nginx.conf", "-p", "${NOMAD_TASK_DIR}", "-g", "daemon off;"},
			cpu: 100, mem: 64, port: &Port{Label: "http", To: 80, Static: true}, check: "tcp",
		},
	}
	r := newBuiltins(t)
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			covered[c.e.Kind] = true
			res := buildOne(t, r, c.e, c.driver, Options{Credentials: true})
			task := res.Task
			if task.Name != c.e.ID || task.Driver != c.driver {
				t.Errorf("task %q driver %q, want %q %q", task.Name, task.Driver, c.e.ID, c.driver)
			}
			if got, _ := task.Config["image"].(string); got != c.image {
				t.Errorf("image %q, want %q", got, c.image)
			}
			if c.script != "" {
				checkScript(t, task, c.script)
			} else {
				if findTemplate(task, "local/start.sh") != nil {
					t.Error("an image kind renders start.sh")
				}
				if got, _ := task.Config["command"].(string); got != c.command {
					t.Errorf("command %q, want %q", got, c.command)
				}
				if got := task.Config["args"]; c.args != nil && !reflect.DeepEqual(got, c.args) || c.args == nil && got != nil {
					t.Errorf("args %#v, want %#v", got, c.args)
				}
			}
			if c.script != "" && c.e.Source != nil {
				if len(task.Artifacts) != 1 || deref(task.Artifacts[0].GetterSource) != "git::"+c.e.Source.Repo || deref(task.Artifacts[0].RelativeDest) != "local/src" {
					t.Errorf("artifacts %+v, want the repository in local/src", task.Artifacts)
				}
			}
			if got := task.Resources; deref(got.CPU) != c.cpu || deref(got.MemoryMB) != c.mem || got.MemoryMaxMB != nil {
				t.Errorf("resources %d MHz %d MB max %v, want %d MHz %d MB", deref(got.CPU), deref(got.MemoryMB), got.MemoryMaxMB, c.cpu, c.mem)
			}
			if !reflect.DeepEqual(res.Port, c.port) {
				t.Errorf("port %+v, want %+v", res.Port, c.port)
			}
			ports, hasPorts := task.Config["ports"]
			if wantPorts := c.port != nil && c.driver == "docker"; hasPorts != wantPorts || hasPorts && !reflect.DeepEqual(ports, []any{"http"}) {
				t.Errorf("config ports %v, want them only under docker with a port", ports)
			}
			switch {
			case c.check == "" && res.Check != nil:
				t.Errorf("check %+v, want none", res.Check)
			case c.check != "" && (res.Check == nil || res.Check.Type != c.check || res.Check.PortLabel != "http"):
				t.Errorf("check %+v, want %s on http", res.Check, c.check)
			}
			if res.Batch != c.batch || (res.Periodic != nil) != c.batch {
				t.Errorf("batch %v periodic %+v, want batch %v", res.Batch, res.Periodic, c.batch)
			}
			for _, tm := range task.Templates {
				if _, err := template.New("t").Funcs(stubFuncs(nil, "", nil)).Parse(deref(tm.EmbeddedTmpl)); err != nil {
					t.Errorf("template %s does not parse: %v", deref(tm.DestPath), err)
				}
			}
		})
	}
	for _, name := range builtinNames {
		if !covered[name] {
			t.Errorf("kind %s has no build case", name)
		}
	}
}

// Commands reach the task exactly as written, whatever they hold.
func TestBuildCommandExact(t *testing.T) {
	commands := []string{
		`echo "{{ .Secret }}" '{{' }} {{{`,
		"echo ${HOME} $${X} %{ if } $(id) `id`",
		"printf '%s\\n' \"a\\\"b\" \\\\",
		"line1\nline2\n\tindented",
		"echo 日本 😀 \x1b[0m",
		"python3 -c 'print(\"{\")'\necho {",
	}
	r := newBuiltins(t)
	for _, cmd := range commands {
		for _, e := range []schema.Element{
			{ID: "cmd", Kind: "app.command", Command: cmd},
			{ID: "w", Kind: "worker", Command: cmd},
			{ID: "c", Kind: "cron", Command: cmd, Schedule: "@hourly"},
		} {
			for _, driver := range []string{"docker", "raw_exec"} {
				res := buildOne(t, r, e, driver, Options{})
				checkScript(t, res.Task, cmd+"\n")
				if strings.Contains(deref(res.Task.Templates[0].EmbeddedTmpl), "{{ .Secret }}") {
					t.Errorf("%s: start.sh template holds an unescaped action", e.Kind)
				}
			}
		}
		src := &schema.Source{Repo: "https://g.example/a.git", Build: cmd, Start: cmd}
		res := buildOne(t, r, schema.Element{ID: "a", Kind: "app.nodejs", Source: src}, "docker", Options{})
		checkScript(t, res.Task, "cd \"${NOMAD_TASK_DIR}/src\"\n"+cmd+"\n"+cmd+"\n")
	}
}

func TestBuildArgsWarning(t *testing.T) {
	r := newBuiltins(t)
	res := buildOne(t, r, schema.Element{ID: "img", Kind: "app.docker", Image: "x", Args: []string{"--a", "${HOME}/b", "$c"}}, "docker", Options{})
	if len(res.Warnings) != 1 || res.Warnings[0].Path != "elements[img].args[1]" || !strings.Contains(res.Warnings[0].Msg, "interpolates") {
		t.Errorf("warnings %v, want one for elements[img].args[1]", res.Warnings)
	}
	if got := res.Task.Config["args"]; !reflect.DeepEqual(got, []any{"--a", "${HOME}/b", "$c"}) {
		t.Errorf("args %v", got)
	}
	// The kind's own args are the kind's business: no warning.
	res = buildOne(t, r, schema.Element{ID: "cache", Kind: "cache.redis"}, "docker", Options{Credentials: true})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings for cache.redis' own args: %v", res.Warnings)
	}
}

func TestBuildResourceOverrides(t *testing.T) {
	r := newBuiltins(t)
	over := &schema.Resources{CPU: 700, Memory: 900, MemoryMax: 1200}
	elements := []schema.Element{
		{ID: "a", Kind: "app.nodejs", Source: &schema.Source{Repo: "https://g.example/a.git", Start: "x"}},
		{ID: "a", Kind: "app.docker", Image: "x"},
		{ID: "a", Kind: "app.command", Command: "x"},
		{ID: "a", Kind: "worker", Command: "x"},
		{ID: "a", Kind: "cron", Command: "x", Schedule: "@daily"},
		{ID: "a", Kind: "static", Source: &schema.Source{Repo: "https://g.example/a.git"}},
		{ID: "a", Kind: "db.postgres"},
		{ID: "a", Kind: "cache.redis"},
		{ID: "a", Kind: "mq.rabbitmq"},
		{ID: "a", Kind: "lb.nginx", Port: 80},
	}
	for _, e := range elements {
		e.Resources = over
		res := buildOne(t, r, e, "docker", Options{})
		got := res.Task.Resources
		if deref(got.CPU) != 700 || deref(got.MemoryMB) != 900 || deref(got.MemoryMaxMB) != 1200 {
			t.Errorf("%s: resources %d/%d/%d, want 700/900/1200", e.Kind, deref(got.CPU), deref(got.MemoryMB), deref(got.MemoryMaxMB))
		}
	}
	// Only what is set overrides.
	res := buildOne(t, r, schema.Element{ID: "db", Kind: "db.postgres", Resources: &schema.Resources{Memory: 2048}}, "docker", Options{})
	if got := res.Task.Resources; deref(got.CPU) != 500 || deref(got.MemoryMB) != 2048 || got.MemoryMaxMB != nil {
		t.Errorf("partial override: %d/%d/%v, want 500/2048/nil", deref(got.CPU), deref(got.MemoryMB), got.MemoryMaxMB)
	}
}

func TestTaskResources(t *testing.T) {
	cases := []struct {
		r               *schema.Resources
		def             schema.Resources
		cpu, mem, maxMB int
	}{
		{nil, schema.Resources{}, 100, 128, 0},
		{nil, schema.Resources{CPU: 300, Memory: 64, MemoryMax: 256}, 300, 64, 256},
		{&schema.Resources{CPU: 50}, schema.Resources{CPU: 300, Memory: 64}, 50, 64, 0},
		{&schema.Resources{MemoryMax: 512}, schema.Resources{}, 100, 128, 512},
	}
	for _, c := range cases {
		got := TaskResources(c.r, c.def)
		if deref(got.CPU) != c.cpu || deref(got.MemoryMB) != c.mem || deref(got.MemoryMaxMB) != c.maxMB || (c.maxMB == 0) != (got.MemoryMaxMB == nil) {
			t.Errorf("TaskResources(%+v, %+v) = %d/%d/%v, want %d/%d/%d", c.r, c.def, deref(got.CPU), deref(got.MemoryMB), got.MemoryMaxMB, c.cpu, c.mem, c.maxMB)
		}
	}
}

func TestBuildHealth(t *testing.T) {
	r := newBuiltins(t)
	cases := []struct {
		e                 schema.Element
		typ, path         string
		interval, timeout time.Duration
	}{
		{schema.Element{ID: "a", Kind: "app.command", Command: "x", Port: 80, Health: &schema.Health{HTTP: "/healthz"}}, "http", "/healthz", DefaultCheckInterval, DefaultCheckTimeout},
		{schema.Element{ID: "a", Kind: "app.command", Command: "x", Port: 80, Health: &schema.Health{HTTP: "/up", Interval: "30s", Timeout: "5s"}}, "http", "/up", 30 * time.Second, 5 * time.Second},
		{schema.Element{ID: "a", Kind: "app.command", Command: "x", Port: 80, Health: &schema.Health{TCP: true, Interval: "1m"}}, "tcp", "", time.Minute, 2 * time.Second},
		{schema.Element{ID: "a", Kind: "app.command", Command: "x", Port: 80}, "tcp", "", DefaultCheckInterval, DefaultCheckTimeout},
		{schema.Element{ID: "db", Kind: "db.mysql", Health: &schema.Health{Interval: "20s"}}, "tcp", "", 20 * time.Second, 2 * time.Second},
		{schema.Element{ID: "s", Kind: "static", Source: &schema.Source{Repo: "https://g.example/a.git"}, Health: &schema.Health{HTTP: "/index.html"}}, "http", "/index.html", DefaultCheckInterval, DefaultCheckTimeout},
		{schema.Element{ID: "lb", Kind: "lb.nginx", Port: 80, Health: &schema.Health{HTTP: "/lb"}}, "http", "/lb", DefaultCheckInterval, DefaultCheckTimeout},
	}
	for _, c := range cases {
		res := buildOne(t, r, c.e, "docker", Options{})
		ch := res.Check
		if ch == nil {
			t.Errorf("%s: no check", c.e.Kind)
			continue
		}
		if ch.Type != c.typ || ch.Path != c.path || ch.Interval != c.interval || ch.Timeout != c.timeout || ch.PortLabel != "http" || ch.Name == "" {
			t.Errorf("%s %+v: check %+v, want %s %q every %s timeout %s", c.e.Kind, c.e.Health, ch, c.typ, c.path, c.interval, c.timeout)
		}
	}
}

func TestHealthCheckDefaults(t *testing.T) {
	def := &schema.Health{HTTP: "/kind", Interval: "45s"}
	if c := HealthCheck(nil, def, "web"); c.Type != "http" || c.Path != "/kind" || c.Interval != 45*time.Second || c.PortLabel != "web" {
		t.Errorf("kind default: %+v", c)
	}
	if c := HealthCheck(&schema.Health{TCP: true}, def, "web"); c.Type != "tcp" || c.Path != "" || c.Interval != DefaultCheckInterval {
		t.Errorf("element over kind: %+v", c)
	}
	if c := HealthCheck(&schema.Health{HTTP: "/x", Interval: "soon", Timeout: "-1s"}, nil, "http"); c.Interval != DefaultCheckInterval || c.Timeout != DefaultCheckTimeout {
		t.Errorf("bad durations: %+v", c)
	}
}

func TestBuildVolumes(t *testing.T) {
	r := newBuiltins(t)
	cases := []struct{ kind, dest string }{
		{"db.postgres", "/var/lib/postgresql/data"},
		{"db.mysql", "/var/lib/mysql"},
		{"db.mongodb", "/data/db"},
		{"cache.redis", "/data"},
		{"mq.rabbitmq", "/var/lib/rabbitmq"},
		{"app.docker", "/data"},
	}
	for _, c := range cases {
		e := schema.Element{ID: "d", Kind: c.kind, Volume: &schema.Volume{Name: "d-data", SizeMB: 1024}}
		if c.kind == "app.docker" {
			e.Image = "x"
		}
		res := buildOne(t, r, e, "docker", Options{})
		want := map[string]*api.VolumeRequest{"data": {Name: "data", Type: "host", Source: "d-data"}}
		if !reflect.DeepEqual(res.Volumes, want) {
			t.Errorf("%s: volumes %+v", c.kind, res.Volumes)
		}
		m := res.Task.VolumeMounts
		if len(m) != 1 || deref(m[0].Volume) != "data" || deref(m[0].Destination) != c.dest || deref(m[0].ReadOnly) {
			t.Errorf("%s: mounts %+v, want data at %s", c.kind, m, c.dest)
		}
		// Without a volume, nothing is mounted.
		e.Volume = nil
		res = buildOne(t, r, e, "docker", Options{})
		if res.Volumes != nil || res.Task.VolumeMounts != nil {
			t.Errorf("%s without a volume: volumes %+v, mounts %+v", c.kind, res.Volumes, res.Task.VolumeMounts)
		}
	}
}

func TestBuildCron(t *testing.T) {
	r := newBuiltins(t)
	res := buildOne(t, r, schema.Element{ID: "nightly", Kind: "cron", Command: "python3 -m report", Schedule: "0 3 * * *"}, "docker", Options{})
	p := res.Periodic
	if !res.Batch || p == nil || len(p.Specs) != 1 || p.Specs[0] != "0 3 * * *" || deref(p.SpecType) != api.PeriodicSpecCron || !deref(p.ProhibitOverlap) {
		t.Errorf("batch %v periodic %+v", res.Batch, p)
	}
	for _, kind := range []string{"worker", "app.command"} {
		res := buildOne(t, r, schema.Element{ID: "w", Kind: kind, Command: "x"}, "docker", Options{})
		if res.Batch || res.Periodic != nil {
			t.Errorf("%s is batch", kind)
		}
	}
}

func TestBuildStatic(t *testing.T) {
	r := newBuiltins(t)
	src := &schema.Source{Repo: "git@github.com:acme/site.git", Ref: "v1.2.0", Build: "npm ci && npm run build", Dir: "dist"}
	res := buildOne(t, r, schema.Element{ID: "site", Kind: "static", Source: src, Port: 8081}, "docker", Options{})
	if len(res.Prestart) != 1 {
		t.Fatalf("%d prestart tasks, want 1", len(res.Prestart))
	}
	fetch := res.Prestart[0]
	if fetch.Lifecycle == nil || fetch.Lifecycle.Hook != api.TaskLifecycleHookPrestart || fetch.Lifecycle.Sidecar {
		t.Errorf("fetch lifecycle %+v", fetch.Lifecycle)
	}
	if fetch.Config["image"] != "node:22-bookworm-slim" {
		t.Errorf("fetch image %v", fetch.Config["image"])
	}
	checkScript(t, fetch, "rm -rf \"${NOMAD_ALLOC_DIR}/site\"\nmkdir -p \"${NOMAD_ALLOC_DIR}/site\"\ncd \"${NOMAD_TASK_DIR}/src\"\nnpm ci && npm run build\ncp -R \"dist/.\" \"${NOMAD_ALLOC_DIR}/site/\"\n")
	a := fetch.Artifacts
	if len(a) != 1 || deref(a[0].GetterSource) != "git@github.com:acme/site.git" || !reflect.DeepEqual(a[0].GetterOptions, map[string]string{"ref": "v1.2.0"}) {
		t.Errorf("fetch artifacts %+v", a)
	}
	tm := findTemplate(res.Task, "local/nginx.conf")
	if tm == nil {
		t.Fatal("no nginx.conf")
	}
	conf := execTemplate(t, deref(tm.EmbeddedTmpl), stubFuncs(nil, "", nil))
	for _, want := range []string{"listen 8081;", "root env-NOMAD_ALLOC_DIR/site;", "pid /tmp/nginx-env-NOMAD_ALLOC_ID.pid;", "try_files $uri $uri/ /index.html;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, conf)
		}
	}
	if deref(tm.ChangeMode) != "signal" || deref(tm.ChangeSignal) != "SIGHUP" {
		t.Errorf("nginx.conf change mode %q %q", deref(tm.ChangeMode), deref(tm.ChangeSignal))
	}
}

func TestGitArtifact(t *testing.T) {
	cases := []struct {
		src  schema.Source
		get  string
		opts map[string]string
	}{
		{schema.Source{Repo: "https://github.com/a/b.git"}, "git::https://github.com/a/b.git", map[string]string{"depth": "1"}},
		{schema.Source{Repo: "https://github.com/a/b.git", Branch: "dev"}, "git::https://github.com/a/b.git", map[string]string{"ref": "dev", "depth": "1"}},
		{schema.Source{Repo: "ssh://git@h/a/b.git", Branch: "dev", Ref: "abc123"}, "git::ssh://git@h/a/b.git", map[string]string{"ref": "abc123"}},
		{schema.Source{Repo: "git@github.com:a/b.git", Branch: "main"}, "git@github.com:a/b.git", map[string]string{"ref": "main", "depth": "1"}},
	}
	for _, c := range cases {
		a := GitArtifact(&c.src, "local/src")
		if deref(a.GetterSource) != c.get || deref(a.RelativeDest) != "local/src" || !reflect.DeepEqual(a.GetterOptions, c.opts) {
			t.Errorf("GitArtifact(%+v) = %s %s %v, want %s %v", c.src, deref(a.GetterSource), deref(a.RelativeDest), a.GetterOptions, c.get, c.opts)
		}
	}
}

func TestBuildCredentials(t *testing.T) {
	cases := []struct {
		kind       string
		user, db   string
		env        map[string]string // plain env with Vault
		secret     map[string]string // env read from Vault, with password "pw"
		openEnv    map[string]string // env without Vault
		secretKeys []string
	}{
		{
			kind: "db.postgres", user: "app", db: "app",
			env:     map[string]string{"POSTGRES_USER": "app", "POSTGRES_DB": "app"},
			secret:  map[string]string{"POSTGRES_PASSWORD": "pw"},
			openEnv: map[string]string{"POSTGRES_USER": "app", "POSTGRES_DB": "app", "POSTGRES_HOST_AUTH_METHOD": "trust"},
		},
		{
			kind: "db.mysql", user: "app", db: "app",
			env:     map[string]string{"MYSQL_USER": "app", "MYSQL_DATABASE": "app", "MYSQL_RANDOM_ROOT_PASSWORD": "yes"},
			secret:  map[string]string{"MYSQL_PASSWORD": "pw"},
			openEnv: map[string]string{"MYSQL_DATABASE": "app", "MYSQL_ALLOW_EMPTY_PASSWORD": "yes"},
		},
		{
			kind: "db.mongodb", user: "app", db: "app",
			env:     map[string]string{"MONGO_INITDB_ROOT_USERNAME": "app", "MONGO_INITDB_DATABASE": "app"},
			secret:  map[string]string{"MONGO_INITDB_ROOT_PASSWORD": "pw"},
			openEnv: map[string]string{"MONGO_INITDB_DATABASE": "app"},
		},
		{
			kind: "cache.redis", user: "default",
			secret: map[string]string{"REDIS_PASSWORD": "pw"},
		},
		{
			kind: "mq.rabbitmq", user: "app",
			env:     map[string]string{"RABBITMQ_DEFAULT_USER": "app"},
			secret:  map[string]string{"RABBITMQ_DEFAULT_PASS": "pw"},
			openEnv: map[string]string{"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit loopback_users []"},
		},
	}
	r := newBuiltins(t)
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			e := schema.Element{ID: "db", Kind: c.kind}
			res := buildOne(t, r, e, "docker", Options{Credentials: true})
			wantCreds := &Credentials{Path: "backplane/shop/db/credentials", Keys: []string{"password"}, User: c.user, Database: c.db}
			if !reflect.DeepEqual(res.Credentials, wantCreds) {
				t.Errorf("credentials %+v, want %+v", res.Credentials, wantCreds)
			}
			if !reflect.DeepEqual(res.Task.Env, c.env) {
				t.Errorf("env %q, want %q", res.Task.Env, c.env)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings with Vault: %v", res.Warnings)
			}
			tm := findTemplate(res.Task, "secrets/credentials.env")
			if tm == nil {
				t.Fatal("no secrets/credentials.env template")
			}
			if !deref(tm.Envvars) || deref(tm.ChangeMode) != "restart" {
				t.Errorf("credentials template env %v change mode %q", deref(tm.Envvars), deref(tm.ChangeMode))
			}
			text := deref(tm.EmbeddedTmpl)
			if !strings.Contains(text, `{{ with secret "secret/data/backplane/shop/db/credentials" }}`) {
				t.Errorf("credentials template does not read the element's path:\n%s", text)
			}
			var calls []string
			rendered := execTemplate(t, text, stubFuncs(nil, "pw", &calls))
			if got := parseEnv(t, rendered); !reflect.DeepEqual(got, c.secret) {
				t.Errorf("credentials template renders %q, want %q", got, c.secret)
			}
			if !reflect.DeepEqual(calls, []string{"secret secret/data/backplane/shop/db/credentials"}) {
				t.Errorf("lookups %q", calls)
			}

			res = buildOne(t, r, e, "docker", Options{Credentials: false})
			if res.Credentials != nil {
				t.Errorf("credentials without Vault: %+v", res.Credentials)
			}
			if !reflect.DeepEqual(res.Task.Env, c.openEnv) {
				t.Errorf("open env %q, want %q", res.Task.Env, c.openEnv)
			}
			if findTemplate(res.Task, "secrets/credentials.env") != nil {
				t.Error("credentials template without Vault")
			}
			if len(res.Warnings) != 1 || res.Warnings[0].Path != "elements[db]" || !strings.Contains(res.Warnings[0].Msg, "Vault is not configured: db runs without a password") {
				t.Errorf("warnings without Vault: %v", res.Warnings)
			}
		})
	}
	// Kinds without credentials ignore the option.
	for _, e := range []schema.Element{{ID: "w", Kind: "worker", Command: "x"}, {ID: "a", Kind: "app.docker", Image: "x"}} {
		for _, creds := range []bool{true, false} {
			res := buildOne(t, r, e, "docker", Options{Credentials: creds})
			if res.Credentials != nil || len(res.Warnings) != 0 || res.Task.Env != nil {
				t.Errorf("%s with Credentials=%v: credentials %+v, warnings %v, env %v", e.Kind, creds, res.Credentials, res.Warnings, res.Task.Env)
			}
		}
	}
}

func TestCredentialsPaths(t *testing.T) {
	if got := KVDataPath(CredentialsPath("shop", "db")); got != "secret/data/backplane/shop/db/credentials" {
		t.Errorf("credentials data path %q", got)
	}
	if got := KVDataPath(SecretsPath("shop", "api")); got != "secret/data/backplane/shop/api" {
		t.Errorf("secrets data path %q", got)
	}
}
