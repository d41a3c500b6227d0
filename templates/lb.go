package templates

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
)

// NginxLB is the lb.nginx kind: nginx on a static port whose upstreams are
// its outgoing connections. The config is a template over live service
// discovery, and nginx reloads (SIGHUP) when an instance comes or goes.
//
// Connections that share a route path share one upstream block, each with
// its weight, so a path can be split between two services. Paths are nginx
// prefix locations; the longest one wins. A connection without a route
// serves "/".
type NginxLB struct{}

var _ Kind = (*NginxLB)(nil)

func (*NginxLB) Info() Info {
	return Info{
		Name: "lb.nginx", Label: "Load balancer", Category: "network", Icon: "nginx",
		Description: "nginx on a fixed port, balancing over the elements it connects to",
		Fields: []Field{
			{Name: "port", Required: true, Help: "the fixed port it listens on"},
			{Name: "upstream", Help: "balancing policy"},
			{Name: "version"}, {Name: "resources"}, {Name: "scale"}, {Name: "placement"}, {Name: "alerts"}, {Name: "driver"}, {Name: "health"},
		},
		Service: true, Connects: true, Routes: true,
		Versions: []string{"1.27", "1.26"},
		Defaults: Defaults{Port: 80, Resources: schema.Resources{CPU: 100, Memory: 64},
			Images: map[string]string{"1.27": "nginx:1.27-alpine", "1.26": "nginx:1.26-alpine"}},
		Exports: []Export{{Env: "{ID}_URL", URL: "http://{host}:{port}"}},
	}
}

func (*NginxLB) Validate(in ValidateInput) schema.Errors {
	var errs schema.Errors
	if len(in.Outgoing) == 0 {
		errs = append(errs, schema.Errorf(in.Path, "a load balancer needs at least one connection to balance over"))
	}
	if s := in.Element.Scale; s != nil && s.Max > 0 {
		errs = append(errs, schema.Errorf(in.Path.Field("scale").Field("max"), "a load balancer on a fixed port does not autoscale; set count"))
	}
	return errs
}

func (lb *NginxLB) Build(in BuildInput) (*BuildResult, error) {
	e := in.Element
	const image = "nginx:{version}-alpine"
	res := &BuildResult{
		Task:  nginxTask(e, in.Driver, image, nginxConfig(in)),
		Port:  &Port{Label: "http", To: e.Port, Static: true},
		Check: HealthCheck(e.Health, nil, "http"),
	}
	if in.Driver == "docker" {
		res.Task.Config["image"] = versionedImage(lb.Info(), in, image, res)
	}
	return res, nil
}

// nginxConfig renders the nginx.conf template.
func nginxConfig(in BuildInput) string {
	policy := "round_robin"
	if in.Element.Upstream != nil && in.Element.Upstream.Policy != "" {
		policy = in.Element.Upstream.Policy
	}
	byPath := map[string][]Connection{}
	for _, c := range in.Connections {
		p := "/"
		if c.Route != nil && c.Route.Path != "" {
			p = c.Route.Path
		}
		byPath[p] = append(byPath[p], c)
	}
	paths := schema.SortedKeys(byPath)
	// Longest path first reads best; nginx picks the longest prefix anyway.
	sort.SliceStable(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })

	var b strings.Builder
	b.WriteString("# Rendered by Nomad from live service discovery; nginx reloads on change.\n")
	b.WriteString("worker_processes 1;\npid /tmp/nginx-{{ env \"NOMAD_ALLOC_ID\" }}.pid;\nerror_log /dev/stderr warn;\nevents { worker_connections 1024; }\n")
	b.WriteString("http {\n  access_log /dev/stdout;\n  client_body_temp_path /tmp;\n  proxy_temp_path /tmp;\n")
	for i, p := range paths {
		fmt.Fprintf(&b, "  upstream u%d {\n", i)
		switch policy {
		case "least_conn":
			b.WriteString("    least_conn;\n")
		case "ip_hash":
			b.WriteString("    ip_hash;\n")
		}
		for _, c := range byPath[p] {
			weight := ""
			if c.Weight > 0 {
				weight = fmt.Sprintf(" weight=%d", c.Weight)
			}
			if c.Lookup == LookupUpstream {
				fmt.Fprintf(&b, "    server 127.0.0.1:%d%s;\n", c.BindPort, weight)
				continue
			}
			fmt.Fprintf(&b, "{{- range %s }}\n    server %s:{{ .Port }}%s;\n{{- end }}\n", c.ServiceQuery(), AddressTemplate, weight)
		}
		b.WriteString("    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n")
	}
	fmt.Fprintf(&b, "  server {\n    listen %d;\n", in.Element.Port)
	for i, p := range paths {
		fmt.Fprintf(&b, "    location %s {\n      proxy_pass http://u%d;\n      proxy_set_header Host $host;\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n", p, i)
	}
	if _, ok := byPath["/"]; !ok {
		b.WriteString("    location / {\n      return 404;\n    }\n")
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// Static is the static kind: nginx serving a folder of a repository. A
// prestart task fetches the repository, runs source.build when set, and
// copies source.dir into the allocation's shared folder, which nginx serves.
type Static struct{}

var _ Kind = (*Static)(nil)

func (*Static) Info() Info {
	return Info{
		Name: "static", Label: "Static site", Category: "app", Icon: "globe",
		Description: "nginx serving a folder of a git repository, built first when source.build is set",
		Fields: []Field{
			{Name: "source", Required: true, Help: "dir is the folder to serve; build runs first when set"},
			{Name: "port"}, {Name: "env"}, {Name: "resources"}, {Name: "scale"}, {Name: "health"}, {Name: "placement"}, {Name: "alerts"}, {Name: "driver"},
		},
		Service: true, Connects: true,
		Defaults: Defaults{Port: 8080, Resources: schema.Resources{CPU: 100, Memory: 64},
			Images: map[string]string{"": "nginx:1.27-alpine"}},
		Exports: []Export{{Env: "{ID}_URL", URL: "http://{host}:{port}"}},
	}
}

func (*Static) Validate(in ValidateInput) schema.Errors { return nil }

func (*Static) Build(in BuildInput) (*BuildResult, error) {
	e := in.Element
	if e.Source == nil {
		return nil, fmt.Errorf("%s: source is required", in.Path)
	}
	port := e.Port
	if port == 0 {
		port = 8080
	}
	site := "${NOMAD_ALLOC_DIR}/site"
	script := "rm -rf \"" + site + "\"\nmkdir -p \"" + site + "\"\ncd \"${NOMAD_TASK_DIR}/src\"\n"
	if e.Source.Build != "" && !in.Options.Prebuilt {
		script += e.Source.Build + "\n"
	}
	dir := "."
	if e.Source.Dir != "" {
		dir = e.Source.Dir
	}
	script += "cp -R \"" + dir + "/.\" \"" + site + "/\"\n"
	fetch := &api.Task{
		Name: "fetch", Driver: in.Driver, Config: map[string]any{},
		Lifecycle: &api.TaskLifecycle{Hook: api.TaskLifecycleHookPrestart, Sidecar: false},
		Artifacts: []*api.TaskArtifact{GitArtifact(e.Source, SourceDest)},
		Templates: []*api.Template{ScriptTemplate(script)},
		Resources: TaskResources(nil, schema.Resources{CPU: 200, Memory: 256}),
	}
	fetch.Config["command"] = "/bin/sh"
	fetch.Config["args"] = []any{"${NOMAD_TASK_DIR}/start.sh"}
	if in.Driver == "docker" {
		fetch.Config["image"] = "node:22-bookworm-slim"
	}
	conf := fmt.Sprintf("worker_processes 1;\npid /tmp/nginx-{{ env \"NOMAD_ALLOC_ID\" }}.pid;\nerror_log /dev/stderr warn;\nevents { worker_connections 1024; }\nhttp {\n  include /etc/nginx/mime.types;\n  access_log /dev/stdout;\n  client_body_temp_path /tmp;\n  server {\n    listen %d;\n    root {{ env \"NOMAD_ALLOC_DIR\" }}/site;\n    location / {\n      try_files $uri $uri/ /index.html;\n    }\n  }\n}\n", port)
	task := nginxTask(e, in.Driver, "nginx:1.27-alpine", conf)
	return &BuildResult{
		Task: task, Prestart: []*api.Task{fetch},
		Port:  &Port{Label: "http", To: port},
		Check: HealthCheck(e.Health, nil, "http"),
	}, nil
}

// nginxTask runs nginx in the foreground on the config a template renders
// into local/nginx.conf, reloading (SIGHUP) when it changes: the image under
// docker, the nginx on the client's PATH under exec and raw_exec.
func nginxTask(e *schema.Element, driver, image, conf string) *api.Task {
	task := &api.Task{Name: e.ID, Driver: driver, Config: map[string]any{}}
	if driver == "docker" {
		task.Config["image"] = image
		task.Config["ports"] = []any{"http"}
		task.Config["args"] = []any{"nginx", "-c", "/local/nginx.conf", "-g", "daemon off;"}
	} else {
		task.Config["command"] = "nginx"
		task.Config["args"] = []any{"-c", "${NOMAD_TASK_DIR}/nginx.conf", "-p", "${NOMAD_TASK_DIR}", "-g", "daemon off;"}
	}
	task.Templates = []*api.Template{{
		EmbeddedTmpl: new(conf),
		DestPath:     new("local/nginx.conf"),
		ChangeMode:   new("signal"),
		ChangeSignal: new("SIGHUP"),
	}}
	task.Resources = TaskResources(e.Resources, schema.Resources{CPU: 100, Memory: 64})
	return task
}
