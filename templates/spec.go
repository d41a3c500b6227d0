package templates

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
)

// Run modes of a declarative kind.
const (
	RunSource  = "source"  // clone source.repo, run source.build then source.start
	RunCommand = "command" // run the element's command with sh
	RunImage   = "image"   // run a container image (docker only)
)

// Spec declares a kind without code. The built-in apps, workers, cron jobs
// and datastores are Specs, and user kinds are Specs read from YAML files
// (see LoadDir), so both behave the same way.
type Spec struct {
	Name        string `yaml:"name" json:"name"`
	Label       string `yaml:"label" json:"label"`
	Category    string `yaml:"category" json:"category"`
	Icon        string `yaml:"icon,omitempty" json:"icon,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Run is source, command or image.
	Run string `yaml:"run" json:"run"`
	// Image is the container image; {version} is replaced by the element's
	// version. For run: source and command it is the image used under docker.
	Image    string   `yaml:"image,omitempty" json:"image,omitempty"`
	Versions []string `yaml:"versions,omitempty" json:"versions,omitempty"`
	// Command and Args are the container's, for run: image.
	Command string   `yaml:"command,omitempty" json:"command,omitempty"`
	Args    []string `yaml:"args,omitempty" json:"args,omitempty"`
	// Port is the default listening port; 0 means the kind has none unless
	// the element sets one.
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// Scheme is the URL scheme of the default export (http by default).
	Scheme    string            `yaml:"scheme,omitempty" json:"scheme,omitempty"`
	Resources schema.Resources  `yaml:"resources,omitempty" json:"resources"`
	Health    *schema.Health    `yaml:"health,omitempty" json:"health,omitempty"`
	Env       map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// VolumePath is where the element's volume is mounted.
	VolumePath string `yaml:"volume_path,omitempty" json:"volume_path,omitempty"`
	// Fields are the element fields the kind accepts; Required those it needs.
	Fields   []string `yaml:"fields,omitempty" json:"fields,omitempty"`
	Required []string `yaml:"required,omitempty" json:"required,omitempty"`
	// Params are settings of the kind's own, set in the element's params and
	// passed to the task as env vars.
	Params  map[string]Param `yaml:"params,omitempty" json:"params,omitempty"`
	Exports []Export         `yaml:"exports,omitempty" json:"exports,omitempty"`
	// NoService marks kinds without a service even when they have a port.
	NoService bool `yaml:"no_service,omitempty" json:"no_service,omitempty"`
	// Leaf marks kinds that make no outgoing connections (datastores).
	Leaf bool `yaml:"leaf,omitempty" json:"leaf,omitempty"`
	// Periodic makes the kind a cron job: batch, run on the element's schedule.
	Periodic bool `yaml:"periodic,omitempty" json:"periodic,omitempty"`
	// Credentials declares generated credentials (datastores).
	Credentials *CredentialSpec `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	user        bool
}

// Param is one setting of a user kind.
type Param struct {
	Env      string `yaml:"env" json:"env"`
	Default  string `yaml:"default,omitempty" json:"default,omitempty"`
	Required bool   `yaml:"required,omitempty" json:"required,omitempty"`
	Help     string `yaml:"help,omitempty" json:"help,omitempty"`
}

// CredentialSpec says how a datastore takes its credentials. Env values may
// use {user}, {password} and {database}; with Vault the password is read
// from Vault, and without it OpenEnv is used instead and the URL has none.
type CredentialSpec struct {
	User     string            `yaml:"user" json:"user"`
	Database string            `yaml:"database,omitempty" json:"database,omitempty"`
	Env      map[string]string `yaml:"env" json:"env"`
	OpenEnv  map[string]string `yaml:"open_env,omitempty" json:"open_env,omitempty"`
}

// specKind runs a Spec. Its Info is computed once: the translator asks for
// it for every connection.
type specKind struct {
	s    Spec
	info Info
}

var _ Kind = (*specKind)(nil)

// FromSpec makes a kind from a spec. The spec is not checked here; LoadDir
// checks user specs and the built-in ones are covered by tests.
func FromSpec(s Spec) Kind { return &specKind{s: s, info: specInfo(s)} }

func (k *specKind) Info() Info { return k.info }

func specInfo(s Spec) Info {
	info := Info{
		Name: s.Name, Label: s.Label, Category: s.Category, Icon: s.Icon, Description: s.Description,
		Service:  s.Port > 0 && !s.NoService || contains(s.Fields, "port") && !s.NoService,
		Connects: !s.Leaf,
		Versions: s.Versions,
		User:     s.user,
		Defaults: Defaults{Port: s.Port, Resources: s.Resources, Health: s.Health},
	}
	if s.Run == RunImage {
		info.Defaults.Driver = "docker"
	}
	if len(s.Versions) > 0 && s.Image != "" {
		info.Defaults.Images = map[string]string{}
		for _, v := range s.Versions {
			info.Defaults.Images[v] = strings.ReplaceAll(s.Image, "{version}", v)
		}
	}
	for _, f := range s.Fields {
		info.Fields = append(info.Fields, Field{Name: f, Required: contains(s.Required, f), Options: fieldOptions(f)})
	}
	// User and database names are not secret: fill them in now, so every
	// connection gets them whether or not the password comes from Vault.
	for _, ex := range s.Exports {
		if c := s.Credentials; c != nil {
			ex.URL, ex.OpenURL = expandCreds(ex.URL, c), expandCreds(ex.OpenURL, c)
		}
		info.Exports = append(info.Exports, ex)
	}
	if len(info.Exports) == 0 && info.Service {
		scheme := s.Scheme
		if scheme == "" {
			scheme = "http"
		}
		info.Exports = []Export{{Env: "{ID}_URL", URL: scheme + "://{host}:{port}"}}
	}
	return info
}

func fieldOptions(f string) []string {
	switch f {
	case "driver":
		return schema.Drivers
	}
	return nil
}

func (k *specKind) Validate(in ValidateInput) schema.Errors {
	var errs schema.Errors
	e, p := in.Element, in.Path
	driver := in.Schema.EffectiveDriver(e)
	if k.s.Run == RunImage && driver != "docker" {
		errs = append(errs, schema.Errorf(p.Field("driver"), "%s runs a container image and needs the docker driver, not %s", k.s.Name, driver))
	}
	if k.s.Run == RunSource && e.Source != nil && e.Source.Start == "" {
		errs = append(errs, schema.Errorf(p.Field("source").Field("start"), "is required for kind %s", k.s.Name))
	}
	if k.s.Periodic && e.Scale != nil && e.Scale.Max > 0 {
		errs = append(errs, schema.Errorf(p.Field("scale").Field("max"), "a cron job does not autoscale"))
	}
	if e.Health != nil && k.port(e) == 0 {
		errs = append(errs, schema.Errorf(p.Field("health"), "needs a port to check"))
	}
	for _, name := range schema.SortedKeys(e.Params) {
		if _, ok := k.s.Params[name]; !ok {
			errs = append(errs, schema.Errorf(p.Field("params").MapKey(name), "kind %s has no parameter %q", k.s.Name, name))
		}
	}
	for _, name := range schema.SortedKeys(k.s.Params) {
		if k.s.Params[name].Required && e.Params[name] == "" {
			errs = append(errs, schema.Errorf(p.Field("params").MapKey(name), "is required for kind %s", k.s.Name))
		}
	}
	return errs
}

func (k *specKind) port(e *schema.Element) int {
	if e.Port != 0 {
		return e.Port
	}
	return k.s.Port
}

// image is the container image an element runs: its own image, or the
// kind's with {version} filled in (see versionedImage).
func (k *specKind) image(in BuildInput, res *BuildResult) string {
	if in.Element.Image != "" {
		return in.Element.Image
	}
	return versionedImage(k.info, in, k.s.Image, res)
}

func (k *specKind) Build(in BuildInput) (*BuildResult, error) {
	e := in.Element
	res := &BuildResult{}
	task := &api.Task{Name: e.ID, Driver: in.Driver, Config: map[string]any{}}
	res.Task = task

	var script string
	switch k.s.Run {
	case RunSource:
		src := e.Source
		if src == nil {
			return nil, fmt.Errorf("%s: source is required", in.Path)
		}
		task.Artifacts = []*api.TaskArtifact{GitArtifact(src, SourceDest)}
		dir := "${NOMAD_TASK_DIR}/src"
		if src.Dir != "" {
			dir += "/" + path.Clean(src.Dir)
		}
		script = "cd \"" + dir + "\"\n"
		if src.Build != "" && !in.Options.Prebuilt {
			script += src.Build + "\n"
		}
		script += src.Start + "\n"
	case RunCommand:
		script = e.Command + "\n"
	}
	if script != "" {
		task.Templates = append(task.Templates, ScriptTemplate(script))
		task.Config["command"] = "/bin/sh"
		task.Config["args"] = []any{"${NOMAD_TASK_DIR}/start.sh"}
	}
	if in.Driver == "docker" {
		task.Config["image"] = k.image(in, res)
		if k.s.Run == RunImage {
			if cmd := first(e.Command, k.s.Command); cmd != "" {
				task.Config["command"] = cmd
			}
			args := e.Args
			if len(args) == 0 {
				args = k.s.Args
			}
			if len(args) > 0 {
				list := make([]any, len(args))
				for i, a := range args {
					list[i] = a
					if strings.Contains(a, "${") && len(e.Args) > 0 {
						res.Warnings = append(res.Warnings, schema.Errorf(in.Path.Field("args").Index(i), "contains \"${\", which Nomad interpolates at run time"))
					}
				}
				task.Config["args"] = list
			}
		}
	}

	if port := k.port(e); port > 0 {
		res.Port = &Port{Label: "http", To: port}
		if in.Driver == "docker" {
			task.Config["ports"] = []any{"http"}
		}
		if !k.s.NoService {
			res.Check = HealthCheck(e.Health, k.s.Health, "http")
		}
	}
	task.Resources = TaskResources(e.Resources, k.s.Resources)

	env := map[string]string{}
	for name, v := range k.s.Env {
		env[name] = v
	}
	// Param values are the user's, so like the element's env they are
	// rendered by a template, which Nomad does not interpolate.
	var params strings.Builder
	for _, name := range schema.SortedKeys(k.s.Params) {
		p := k.s.Params[name]
		if v, ok := e.Params[name]; ok {
			params.WriteString(EnvLine(p.Env, v))
		} else if p.Default != "" {
			params.WriteString(EnvLine(p.Env, p.Default))
		}
	}
	if params.Len() > 0 {
		task.Templates = append(task.Templates, &api.Template{
			EmbeddedTmpl: new(params.String()), DestPath: new("local/params.env"),
			ChangeMode: new("restart"), Envvars: new(true),
		})
	}
	if c := k.s.Credentials; c != nil {
		if in.Options.Credentials {
			cred := &Credentials{
				Path: CredentialsPath(in.Schema.Project, e.ID),
				Keys: []string{"password"}, User: c.User, Database: c.Database,
			}
			res.Credentials = cred
			var secretEnv strings.Builder
			for _, name := range schema.SortedKeys(c.Env) {
				v := expandCreds(c.Env[name], c)
				if strings.Contains(v, "{password}") {
					fmt.Fprintf(&secretEnv, "%s=%s\n", name, strings.ReplaceAll(TemplateLiteral(v), "{password}", `{{ .Data.data.password }}`))
				} else {
					env[name] = v
				}
			}
			if secretEnv.Len() > 0 {
				task.Templates = append(task.Templates, &api.Template{
					EmbeddedTmpl: new(fmt.Sprintf("{{ with secret %q }}\n%s{{ end }}\n", KVDataPath(cred.Path), secretEnv.String())),
					DestPath:     new("secrets/credentials.env"),
					ChangeMode:   new("restart"),
					Envvars:      new(true),
				})
			}
		} else {
			for name, v := range c.OpenEnv {
				env[name] = expandCreds(v, c)
			}
			res.Warnings = append(res.Warnings, schema.Errorf(in.Path, "Vault is not configured: %s runs without a password, reachable by anything that can reach its port", e.ID))
		}
	}
	if len(env) > 0 {
		task.Env = env
	}

	if e.Volume != nil && k.s.VolumePath != "" {
		res.Volumes = map[string]*api.VolumeRequest{"data": {
			Name: "data", Type: "host", Source: e.Volume.Name, ReadOnly: false,
		}}
		task.VolumeMounts = []*api.VolumeMount{{Volume: new("data"), Destination: new(k.s.VolumePath), ReadOnly: new(false)}}
	}
	if k.s.Periodic {
		res.Batch = true
		res.Periodic = &api.PeriodicConfig{Specs: []string{e.Schedule}, SpecType: new(api.PeriodicSpecCron), ProhibitOverlap: new(true)}
	}
	return res, nil
}

func expandCreds(v string, c *CredentialSpec) string {
	return strings.NewReplacer("{user}", c.User, "{database}", c.Database).Replace(v)
}

// SourceDest is where an element's source lands in its task folder: the
// git checkout, or the built artifact unpacked.
const SourceDest = "local/src"

// GitArtifact fetches a repository at its ref (or branch) into dest.
func GitArtifact(src *schema.Source, dest string) *api.TaskArtifact {
	ref := first(src.Ref, src.Branch)
	opts := map[string]string{}
	if ref != "" {
		opts["ref"] = ref
	}
	if src.Ref == "" {
		opts["depth"] = "1"
	}
	repo := src.Repo
	if strings.HasPrefix(repo, "git@") {
		// go-getter reads scp-like addresses only through its git detector.
		return &api.TaskArtifact{GetterSource: new(repo), RelativeDest: new(dest), GetterOptions: opts}
	}
	return &api.TaskArtifact{GetterSource: new("git::" + repo), RelativeDest: new(dest), GetterOptions: opts}
}

// ScriptTemplate renders the element's command into start.sh in the task
// directory, which the task runs with /bin/sh. Writing it to a file rather
// than passing it in args keeps it exactly as written: Nomad interpolates
// ${...} in args at run time and has no escape for it, while a template's
// data is only read by the template engine, whose {{ is escaped.
func ScriptTemplate(script string) *api.Template {
	return &api.Template{
		EmbeddedTmpl: new("#!/bin/sh\nset -e\n" + TemplateLiteral(script)),
		DestPath:     new("local/start.sh"),
		ChangeMode:   new("restart"),
		Perms:        new("0755"),
	}
}

// Default check timing. Nomad runs a check first one interval after the
// task starts, and an instance counts as healthy only once its checks pass,
// so the interval bounds how soon a deploy can be healthy: 3s keeps that
// short at a cost of one cheap probe every 3s per instance.
const (
	DefaultCheckInterval = 3 * time.Second
	DefaultCheckTimeout  = 2 * time.Second
)

// HealthCheck builds the service check from the element's health settings,
// falling back to the kind's, then to a TCP check on the port.
func HealthCheck(h, def *schema.Health, portLabel string) *api.ServiceCheck {
	if h == nil {
		h = def
	}
	if h == nil {
		h = &schema.Health{TCP: true}
	}
	c := &api.ServiceCheck{Name: "alive", PortLabel: portLabel, Interval: DefaultCheckInterval, Timeout: DefaultCheckTimeout}
	if h.HTTP != "" {
		c.Type, c.Path = "http", h.HTTP
	} else {
		c.Type = "tcp"
	}
	if d, err := time.ParseDuration(h.Interval); err == nil && d > 0 {
		c.Interval = d
	}
	if d, err := time.ParseDuration(h.Timeout); err == nil && d > 0 {
		c.Timeout = d
	}
	return c
}

// TaskResources is the element's resources over the kind's defaults.
func TaskResources(r *schema.Resources, def schema.Resources) *api.Resources {
	cpu, mem, memMax := def.CPU, def.Memory, def.MemoryMax
	if cpu == 0 {
		cpu = 100
	}
	if mem == 0 {
		mem = 128
	}
	if r != nil {
		if r.CPU != 0 {
			cpu = r.CPU
		}
		if r.Memory != 0 {
			mem = r.Memory
		}
		if r.MemoryMax != 0 {
			memMax = r.MemoryMax
		}
	}
	res := &api.Resources{CPU: new(cpu), MemoryMB: new(mem)}
	if memMax > 0 {
		res.MemoryMaxMB = new(memMax)
	}
	return res
}

// CredentialsPath is the KV path of a datastore's generated credentials.
func CredentialsPath(project, element string) string {
	return "backplane/" + project + "/" + element + "/credentials"
}

// SecretsPath is the KV path of an element's own secrets.
func SecretsPath(project, element string) string {
	return "backplane/" + project + "/" + element
}

// KVDataPath is the API path that reads a KV v2 secret at path in the
// "secret" mount.
func KVDataPath(path string) string { return "secret/data/" + path }

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
