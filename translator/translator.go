package translator

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/templates"
)

// Job meta keys every job carries.
const (
	MetaProject  = "backplane.project"
	MetaElement  = "backplane.element"
	MetaRevision = "backplane.revision"
	MetaGitSHA   = "backplane.git_sha"
	// MetaArtifact is the SHA-256 of the built artifact an element built
	// from source starts from; MetaBuild marks a build job, naming the
	// element it builds.
	MetaArtifact = "backplane.artifact"
	MetaBuild    = "backplane.build"
)

// EnvGitSHA is the env var that tells an element built from source the
// commit it runs.
const EnvGitSHA = "BACKPLANE_GIT_SHA"

// DefaultMinHealthyTime is how long an instance must pass its checks (or,
// without checks, keep running) before Nomad counts it healthy, unless the
// element sets health.min_healthy_time. Nomad's own default is 10s; 3s
// still catches a process that dies right after its first passing check
// while keeping a deploy to healthy within a few seconds.
const DefaultMinHealthyTime = 3 * time.Second

// DefaultShutdownDelay is how long a service is deregistered before its
// task is stopped.
const DefaultShutdownDelay = 2 * time.Second

// Options are the translator's inputs besides the schema. Nothing here is
// read from the environment: the caller decides.
type Options struct {
	// Revision goes into each job's backplane.revision meta when set.
	Revision string
	// GitSHAs pins elements built from source to a commit, by element ID.
	GitSHAs map[string]string
	// Artifacts are the built sources of elements built from source, by
	// element ID (see BuildJob): such an element's instances download the
	// artifact, checked against its SHA-256, and run source.start only.
	Artifacts map[string]Artifact
	// Credentials is true when Vault is configured, so datastore credentials
	// are generated into it.
	Credentials bool
	// LokiURL turns on log shipping: each long-running group gets a logship
	// sidecar pushing to it. It must not carry credentials.
	LokiURL string
	// LokiTenant is the Loki tenant the sidecar pushes as (X-Scope-OrgID);
	// empty for a Loki without multi-tenancy.
	LokiTenant string
	// Logship says how the sidecar's binary reaches a client.
	Logship LogshipOptions
	// Alerting holds Alertmanager settings the rendered config needs.
	Alerting AlertingOptions
}

// LogshipOptions say how the logship sidecar runs. Under docker it runs
// Image; under exec and raw_exec it runs Command when set (a binary already
// on every client), otherwise the binary fetched from ArtifactURL.
type LogshipOptions struct {
	Image       string
	ArtifactURL string
	// ArtifactChecksum, "sha256:<hex>", makes Nomad check the download.
	ArtifactChecksum string
	Command          string
}

// Defaults for LogshipOptions.
const (
	DefaultLogshipImage       = "ghcr.io/backplane-dev/backplane:latest"
	DefaultLogshipArtifactURL = "https://github.com/backplane-dev/backplane/releases/latest/download/backplane_linux_amd64.tar.gz"
)

// AlertingOptions are the parts of the Alertmanager config and the
// Prometheus rules that come from the deployment rather than the schema.
type AlertingOptions struct {
	// SecretsDir is where Alertmanager finds secret files (Slack and webhook
	// URLs), as SecretsDir/<project>/<SECRET>. Default /etc/alertmanager/secrets.
	SecretsDir string
	// GroupWait, GroupInterval and RepeatInterval are the project route's
	// Alertmanager timings; defaults 30s, 5m and 4h.
	GroupWait      string
	GroupInterval  string
	RepeatInterval string
	// PublicURL is where browsers reach the editor. When set, every metric
	// rule carries the annotation editor_url, <PublicURL>/p/<project>?element=<id>,
	// as the alert bridge's alerts do.
	PublicURL string
	// RuleFor, when positive, replaces the `for` of every metric rule (5m
	// for memory, 10m for CPU): for tests, and for operators who want to
	// hear sooner at the price of alerts on short bursts. Whole
	// milliseconds count; the rest is dropped.
	RuleFor time.Duration
}

func (o *Options) fill() {
	if o.Logship.Image == "" {
		o.Logship.Image = DefaultLogshipImage
	}
	if o.Logship.ArtifactURL == "" {
		o.Logship.ArtifactURL = DefaultLogshipArtifactURL
	}
	if o.Alerting.SecretsDir == "" {
		o.Alerting.SecretsDir = "/etc/alertmanager/secrets"
	}
	if o.Alerting.GroupWait == "" {
		o.Alerting.GroupWait = "30s"
	}
	if o.Alerting.GroupInterval == "" {
		o.Alerting.GroupInterval = "5m"
	}
	if o.Alerting.RepeatInterval == "" {
		o.Alerting.RepeatInterval = "4h"
	}
}

// Bundle is everything a schema becomes.
type Bundle struct {
	Project string `json:"project"`
	// Jobs holds each region's jobs, sorted by ID.
	Jobs map[string][]*api.Job `json:"jobs"`
	// Intentions are Consul service-intentions config entries (mesh only).
	Intentions []*consul.ServiceIntentionsConfigEntry `json:"intentions,omitempty"`
	// VaultPolicies are HCL policies by name (the job ID). Each element's
	// vault block uses the Vault role of the same name.
	VaultPolicies map[string]string `json:"vault_policies,omitempty"`
	// Secrets lists each element's secret names, by job ID, in the order
	// the schema gives them; values live in Vault at
	// secret/backplane/<project>/<element>.
	Secrets map[string][]string `json:"secrets,omitempty"`
	// Credentials are datastore credentials the deploy generates into Vault.
	Credentials []*templates.Credentials `json:"credentials,omitempty"`
	// LokiLabels are the static log labels of each job; task, alloc and
	// region are added per line by the sidecar.
	LokiLabels map[string]map[string]string `json:"loki_labels"`
	// Alertmanager is the project's route subtree and receivers, as YAML
	// that Alertmanager loads.
	Alertmanager string `json:"alertmanager"`
	// AlertSecrets are the project secrets the receivers read (Slack and
	// webhook URLs, SMTP passwords), sorted; values live in Vault at
	// secret/backplane/<project>/_project, and the alerts layer writes
	// them as files where Alertmanager reads them.
	AlertSecrets []string `json:"alert_secrets,omitempty"`
	// PrometheusRules is a Prometheus rule file for the project's elements.
	PrometheusRules string    `json:"prometheus_rules"`
	Warnings        []Warning `json:"warnings,omitempty"`
}

// Warning is something the translator did not or could not do, naming the
// element and field it is about.
type Warning struct {
	Element string `json:"element,omitempty"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	if w.Path == "" {
		return w.Message
	}
	return w.Path + ": " + w.Message
}

// Translate turns a schema into a Bundle. It validates first and returns
// schema.Errors, every problem with its path, when the schema is invalid. It
// is pure: no I/O, no clock, no randomness, and map keys are sorted before
// anything is emitted, so the same input gives the same Bundle.
func Translate(s *schema.Schema, reg *templates.Registry, opts Options) (*Bundle, error) {
	if errs := schema.Validate(s); len(errs) > 0 {
		return nil, errs
	}
	if errs := reg.Validate(s); len(errs) > 0 {
		return nil, errs
	}
	opts.fill()
	if opts.LokiURL != "" {
		u, err := url.Parse(opts.LokiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("loki url: must be an http or https URL")
		}
		if u.User != nil {
			return nil, fmt.Errorf("loki url: carries credentials, which would end up in every job spec; put them in a proxy or Vault instead")
		}
	}
	if s.Mesh {
		var errs schema.Errors
		for i := range s.Elements {
			e := &s.Elements[i]
			if s.EffectiveDriver(e) == "raw_exec" {
				errs = append(errs, schema.Errorf(schema.ElementPath(e.ID).Field("driver"),
					"the mesh needs each group in its own network namespace, which raw_exec cannot join; use docker or exec"))
			}
		}
		if len(errs) > 0 {
			return nil, errs
		}
	}
	c := s.Canonical()
	// Paths in warnings name connections by their index in the input, not
	// in the canonical (sorted) copy; secrets keep their input order too.
	connIndex := map[[2]string]int{}
	for i, conn := range s.Connections {
		connIndex[[2]string{conn.From, conn.To}] = i
	}
	secrets := map[string][]string{}
	for _, e := range s.Elements {
		if len(e.Secrets) > 0 {
			secrets[c.Project+"-"+e.ID] = append([]string(nil), e.Secrets...)
		}
	}
	t := &translation{s: c, reg: reg, opts: opts, connIndex: connIndex, b: &Bundle{
		Project:       c.Project,
		Jobs:          map[string][]*api.Job{},
		VaultPolicies: map[string]string{},
		Secrets:       secrets,
		LokiLabels:    map[string]map[string]string{},
	}}
	if err := t.run(); err != nil {
		return nil, err
	}
	return t.b, nil
}

// built is one element's kind output in one region, with what went in.
type built struct {
	res   *templates.BuildResult
	conns []templates.Connection
	info  templates.Info
}

type translation struct {
	s    *schema.Schema
	reg  *templates.Registry
	opts Options
	b    *Bundle
	// creds are datastore credentials by element ID.
	creds map[string]*templates.Credentials
	// batch marks elements whose job is a batch job.
	batch map[string]bool
	// connIndex maps (from, to) to the connection's index in the input.
	connIndex map[[2]string]int
	// elems and outgoing index the canonical schema.
	elems    map[string]*schema.Element
	outgoing map[string][]schema.Connection
	// consulServices marks elements another region reaches: they register
	// their service in Consul, the only catalog that spans regions.
	consulServices map[string]bool
}

func (t *translation) warn(p schema.Path, element, format string, args ...any) {
	t.b.Warnings = append(t.b.Warnings, Warning{Element: element, Path: p.String(), Message: fmt.Sprintf(format, args...)})
}

func (t *translation) jobID(element string) string { return t.s.Project + "-" + element }

func (t *translation) run() error {
	s := t.s
	t.creds = map[string]*templates.Credentials{}
	t.batch = map[string]bool{}
	t.elems = make(map[string]*schema.Element, len(s.Elements))
	for i := range s.Elements {
		t.elems[s.Elements[i].ID] = &s.Elements[i]
	}
	t.outgoing = map[string][]schema.Connection{}
	t.consulServices = map[string]bool{}
	for _, c := range s.Connections {
		t.outgoing[c.From] = append(t.outgoing[c.From], c)
		if t.crossesRegions(t.elems[c.From], t.elems[c.To]) {
			t.consulServices[c.To] = true
		}
	}
	if t.opts.LokiURL == "" {
		t.b.Warnings = append(t.b.Warnings, Warning{Path: "", Message: "log shipping is off: set BACKPLANE_LOKI_URL or --loki-url to ship each element's logs to Loki"})
	}
	// Datastores first, so their connected elements know the credentials.
	results := make(map[string]*built, len(s.Elements)) // by region + "/" + element
	order := make([]*schema.Element, 0, len(s.Elements))
	for i := range s.Elements {
		order = append(order, &s.Elements[i])
	}
	staticPorts := map[string]string{}
	for _, e := range order {
		kind, _ := t.reg.Get(e.Kind)
		for _, region := range s.ElementRegions(e) {
			conns := t.connections(e, region)
			in := templates.BuildInput{
				Schema: s, Element: e, Path: schema.ElementPath(e.ID), Region: region,
				Driver: s.EffectiveDriver(e), JobID: t.jobID(e.ID), Connections: conns,
				Options: templates.Options{Credentials: t.opts.Credentials, Prebuilt: t.prebuilt(e)},
			}
			res, err := kind.Build(in)
			if err != nil {
				return fmt.Errorf("build %s in region %s: %w", e.ID, region, err)
			}
			if res.Port != nil && res.Port.Static {
				key := region + "/" + fmt.Sprint(res.Port.To)
				if other, clash := staticPorts[key]; clash {
					return schema.Errors{schema.Errorf(schema.ElementPath(e.ID).Field("port"), "port %d is already taken by %s in region %s", res.Port.To, other, region)}
				}
				staticPorts[key] = e.ID
			}
			t.batch[e.ID] = res.Batch
			if res.Credentials != nil {
				t.creds[e.ID] = res.Credentials
			}
			results[region+"/"+e.ID] = &built{res: res, conns: conns, info: kind.Info()}
		}
	}
	for _, e := range order {
		for _, region := range s.ElementRegions(e) {
			job, err := t.job(e, region, results[region+"/"+e.ID])
			if err != nil {
				return err
			}
			t.b.Jobs[region] = append(t.b.Jobs[region], job)
		}
		t.b.LokiLabels[t.jobID(e.ID)] = map[string]string{"project": s.Project, "element": e.ID}
		if p := t.policy(e); p != "" {
			t.b.VaultPolicies[t.jobID(e.ID)] = p
		}
	}
	for _, id := range schema.SortedKeys(t.creds) {
		t.b.Credentials = append(t.b.Credentials, t.creds[id])
	}
	for region := range t.b.Jobs {
		sort.Slice(t.b.Jobs[region], func(i, j int) bool { return *t.b.Jobs[region][i].ID < *t.b.Jobs[region][j].ID })
	}
	if s.Mesh {
		t.intentions()
	}
	am, err := t.alertmanager()
	if err != nil {
		return err
	}
	t.b.Alertmanager = am
	t.b.AlertSecrets = t.s.ReceiverSecrets()
	t.b.PrometheusRules = t.rules()
	sort.SliceStable(t.b.Warnings, func(i, j int) bool { return t.b.Warnings[i].Path < t.b.Warnings[j].Path })
	return nil
}

// connections resolves an element's outgoing connections in one region.
func (t *translation) connections(e *schema.Element, region string) []templates.Connection {
	var out []templates.Connection
	bind := 0
	for _, c := range t.outgoing[e.ID] {
		i := t.connIndex[[2]string{c.From, c.To}]
		target := t.elems[c.To]
		kind, _ := t.reg.Get(target.Kind)
		info := kind.Info()
		conn := templates.Connection{Connection: c, Target: target, TargetInfo: info, Service: t.jobID(target.ID), Lookup: templates.LookupNomad}
		targetRegions := t.s.ElementRegions(target)
		local := containsStr(targetRegions, region)
		switch {
		case t.s.Mesh:
			conn.Lookup = templates.LookupUpstream
			conn.BindPort = 21000 + bind
			bind++
			if !local {
				conn.Datacenter = t.consulDC(targetRegions[0])
			}
		case !local:
			conn.Lookup = templates.LookupConsul
			conn.Datacenter = t.consulDC(targetRegions[0])
			t.warn(schema.Path("").Field("connections").Index(i), e.ID, "%s in %s reaches %s in %s through Consul datacenter %s; the regions' Consul datacenters must be WAN-joined", e.ID, region, target.ID, targetRegions[0], conn.Datacenter)
		case t.consulServices[target.ID]:
			// Another region reaches the target, so it registers in
			// Consul only; this region asks its own Consul datacenter.
			conn.Lookup = templates.LookupConsul
		}
		if len(info.Exports) > 0 {
			conn.Env = templates.EnvName(info.Exports[0].Env, target.ID)
		}
		if c.Env != "" {
			conn.Env = c.Env
		}
		out = append(out, conn)
	}
	return out
}

// crossesRegions reports whether from runs in a region that to does not
// run in, so that a connection between them must cross regions.
func (t *translation) crossesRegions(from, to *schema.Element) bool {
	toRegions := t.s.ElementRegions(to)
	for _, r := range t.s.ElementRegions(from) {
		if !containsStr(toRegions, r) {
			return true
		}
	}
	return false
}

func (t *translation) consulDC(region string) string {
	if r, ok := t.s.Regions[region]; ok && r.ConsulDatacenter != "" {
		return r.ConsulDatacenter
	}
	return region
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// job builds one element's job in one region around the kind's workload:
// the job and its meta, then the group's network and service, its update
// strategy, scaling and volumes, and the main task's templates.
func (t *translation) job(e *schema.Element, region string, b *built) (*api.Job, error) {
	s := t.s
	id := t.jobID(e.ID)
	res := b.res
	for _, w := range res.Warnings {
		t.warn(schema.Path(w.Path), e.ID, "%s", w.Msg)
	}
	jobType := api.JobTypeService
	if res.Batch {
		jobType = api.JobTypeBatch
	}
	job := &api.Job{
		ID: new(id), Name: new(id), Region: new(region), Namespace: new(s.Namespace), Type: new(jobType),
		Datacenters: s.Datacenters(e, region),
		Meta:        map[string]string{MetaProject: s.Project, MetaElement: e.ID},
		Periodic:    res.Periodic,
	}
	if t.opts.Revision != "" {
		job.Meta[MetaRevision] = t.opts.Revision
	}
	group := &api.TaskGroup{Name: new(e.ID), Count: new(count(e, res))}
	job.TaskGroups = []*api.TaskGroup{group}
	task := res.Task
	tasks := append(append([]*api.Task{}, res.Prestart...), task)
	driver := s.EffectiveDriver(e)

	if sha := t.opts.GitSHAs[e.ID]; sha != "" && e.Source != nil {
		job.Meta[MetaGitSHA] = sha
		for _, tk := range tasks {
			for _, a := range tk.Artifacts {
				a.GetterOptions = map[string]string{"ref": sha}
			}
		}
		if task.Env == nil {
			task.Env = map[string]string{}
		}
		task.Env[EnvGitSHA] = sha
	}
	if t.prebuilt(e) {
		art := t.opts.Artifacts[e.ID]
		job.Meta[MetaArtifact] = art.SHA256
		for _, tk := range tasks {
			for i, a := range tk.Artifacts {
				if a.RelativeDest != nil && *a.RelativeDest == templates.SourceDest {
					tk.Artifacts[i] = &api.TaskArtifact{
						GetterSource:  new(art.URL),
						RelativeDest:  new(templates.SourceDest),
						GetterOptions: map[string]string{"checksum": "sha256:" + art.SHA256},
					}
				}
			}
		}
	}

	if res.Port != nil {
		t.network(e, id, driver, res, group, task)
	} else if s.Mesh && t.hasOutgoing(e) {
		group.Networks = []*api.NetworkResource{{Mode: "bridge"}}
	}
	if s.Mesh {
		t.upstreams(e, b.conns, group)
	}
	if !res.Batch {
		job.Update = updateStrategy(e, len(group.Services) > 0)
	}
	if sc := e.Scale; sc != nil && sc.Max > 0 && !res.Batch {
		group.Scaling = scalingPolicy(sc, id)
	}
	if len(res.Volumes) > 0 {
		group.Volumes = res.Volumes
	}
	t.taskTemplates(e, b, task)
	if t.opts.LokiURL != "" && !res.Batch {
		task.Leader = true
		tasks = append(tasks, t.logship(e, region, driver))
	}
	group.Tasks = tasks
	return job, nil
}

// prebuilt reports whether element e starts from a built artifact.
func (t *translation) prebuilt(e *schema.Element) bool {
	a, ok := t.opts.Artifacts[e.ID]
	return ok && a.URL != "" && e.Source != nil
}

// provider is the service registry an element registers in: Consul under
// the mesh or when another region reaches it, Nomad's own otherwise.
func (t *translation) provider(element string) string {
	if t.s.Mesh || t.consulServices[element] {
		return "consul"
	}
	return "nomad"
}

// network gives the group its port, the task its PORT, and the group its
// service with the kind's check.
func (t *translation) network(e *schema.Element, id, driver string, res *templates.BuildResult, group *api.TaskGroup, task *api.Task) {
	s := t.s
	if task.Env == nil {
		task.Env = map[string]string{}
	}
	var svc *api.Service
	if res.Check != nil {
		svc = &api.Service{Name: id, PortLabel: res.Port.Label, Provider: t.provider(e.ID),
			Tags: []string{"backplane", "project=" + s.Project, "element=" + e.ID}}
		svc.Checks = []api.ServiceCheck{*res.Check}
	}
	nw := &api.NetworkResource{}
	switch {
	case s.Mesh && !res.Port.Static:
		// Inside the mesh the app listens in the group's network
		// namespace and only its sidecar is reachable: the service port
		// is the in-namespace port number and no host port is mapped.
		nw.Mode = "bridge"
		task.Env["PORT"] = fmt.Sprint(res.Port.To)
		if svc != nil {
			svc.PortLabel = fmt.Sprint(res.Port.To)
		}
	default:
		port := api.Port{Label: res.Port.Label}
		switch {
		case res.Port.Static:
			port.Value = res.Port.To
			if driver == "docker" || s.Mesh {
				port.To = res.Port.To
			}
		case driver == "docker":
			port.To = res.Port.To
		}
		if s.Mesh {
			nw.Mode = "bridge"
		}
		if port.Value != 0 {
			nw.ReservedPorts = []api.Port{port}
		} else {
			nw.DynamicPorts = []api.Port{port}
		}
		if driver == "docker" || res.Port.Static || s.Mesh {
			task.Env["PORT"] = fmt.Sprint(res.Port.To)
		} else {
			task.Env["PORT"] = "${NOMAD_PORT_" + res.Port.Label + "}"
		}
	}
	group.Networks = []*api.NetworkResource{nw}
	if svc == nil {
		return
	}
	if s.Mesh {
		svc.Connect = &api.ConsulConnect{SidecarService: &api.ConsulSidecarService{}}
		// Consul reaches an HTTP check through a path the sidecar
		// exposes. Connect services take no TCP checks: the sidecar's
		// own default check stands in for them.
		if res.Check.Type == "http" {
			svc.Checks[0].Expose = true
			svc.Checks[0].PortLabel = ""
		} else {
			svc.Checks = nil
		}
	}
	group.Services = []*api.Service{svc}
	// Deregister the service a moment before the task is stopped, so
	// nothing is sent to an instance that is going away.
	group.ShutdownDelay = new(DefaultShutdownDelay)
}

// updateStrategy rolls one instance at a time and reverts on failure,
// taking health from checks when the group has a service.
func updateStrategy(e *schema.Element, checked bool) *api.UpdateStrategy {
	minHealthy := DefaultMinHealthyTime
	if e.Health != nil && e.Health.MinHealthyTime != "" {
		if d, err := time.ParseDuration(e.Health.MinHealthyTime); err == nil {
			minHealthy = d
		}
	}
	health := "checks"
	if !checked {
		health = "task_states"
	}
	return &api.UpdateStrategy{
		MaxParallel: new(1), HealthCheck: new(health), MinHealthyTime: new(minHealthy),
		HealthyDeadline: new(5 * time.Minute), ProgressDeadline: new(10 * time.Minute),
		AutoRevert: new(true),
	}
}

// taskTemplates adds the main task's env templates: the element's env, its
// connections and its secrets, and the vault block when any reads Vault.
func (t *translation) taskTemplates(e *schema.Element, b *built, task *api.Task) {
	if len(e.Env) > 0 {
		var env strings.Builder
		for _, k := range schema.SortedKeys(e.Env) {
			env.WriteString(templates.EnvLine(k, e.Env[k]))
		}
		task.Templates = append(task.Templates, envTemplate("local/env.env", env.String()))
	}
	var connText strings.Builder
	needsVault := b.res.Credentials != nil
	for _, c := range b.conns {
		if len(c.TargetInfo.Exports) == 0 {
			continue
		}
		creds := t.creds[c.To]
		connText.WriteString(c.EnvTemplate(c.TargetInfo.Exports[0], creds, creds == nil))
		if creds != nil {
			needsVault = true
		}
	}
	// A load balancer routes its connections in its own config instead.
	if connText.Len() > 0 && !b.info.Routes {
		task.Templates = append(task.Templates, envTemplate("local/connections.env", connText.String()))
	}
	if len(e.Secrets) > 0 {
		needsVault = true
		var sec strings.Builder
		fmt.Fprintf(&sec, "{{ with secret %q }}\n", templates.KVDataPath(templates.SecretsPath(t.s.Project, e.ID)))
		for _, name := range e.Secrets {
			fmt.Fprintf(&sec, "%s={{ index .Data.data %q | toJSON }}\n", name, name)
		}
		sec.WriteString("{{ end }}\n")
		task.Templates = append(task.Templates, envTemplate("secrets/secrets.env", sec.String()))
	}
	if needsVault {
		task.Vault = &api.Vault{Role: t.jobID(e.ID), ChangeMode: new("restart")}
	}
}

func (t *translation) hasOutgoing(e *schema.Element) bool { return len(t.outgoing[e.ID]) > 0 }

func count(e *schema.Element, res *templates.BuildResult) int {
	if res.Periodic != nil {
		return 1
	}
	if e.Scale == nil {
		return 1
	}
	switch {
	case e.Scale.Count > 0:
		return e.Scale.Count
	case e.Scale.Min > 0:
		return e.Scale.Min
	}
	return 1
}

func envTemplate(dest, data string) *api.Template {
	return &api.Template{
		EmbeddedTmpl: new(data), DestPath: new(dest),
		ChangeMode: new("restart"), Envvars: new(true),
	}
}

// scalingPolicy is a Nomad Autoscaler target-value policy on the group's
// average CPU use relative to what it was allocated.
func scalingPolicy(sc *schema.Scale, id string) *api.ScalingPolicy {
	target := sc.CPUTarget
	if target == 0 {
		target = 70
	}
	return &api.ScalingPolicy{
		Min: new(int64(sc.Min)), Max: new(int64(sc.Max)), Enabled: new(true),
		Policy: map[string]any{
			"cooldown":            "1m",
			"evaluation_interval": "30s",
			"check": []any{map[string]any{
				"cpu": []any{map[string]any{
					"source": "nomad-apm",
					"query":  "avg_cpu-allocated",
					"strategy": []any{map[string]any{
						"target-value": []any{map[string]any{"target": target}},
					}},
				}},
			}},
		},
	}
}

// upstreams adds a Connect upstream for each outgoing connection.
func (t *translation) upstreams(e *schema.Element, conns []templates.Connection, group *api.TaskGroup) {
	if len(conns) == 0 {
		return
	}
	var ups []*api.ConsulUpstream
	for _, c := range conns {
		ups = append(ups, &api.ConsulUpstream{DestinationName: c.Service, LocalBindPort: c.BindPort, Datacenter: c.Datacenter})
	}
	if len(group.Services) == 0 {
		// A worker has no service of its own but still needs a sidecar to
		// reach its upstreams.
		group.Services = []*api.Service{{Name: t.jobID(e.ID), Provider: "consul", PortLabel: "", Tags: []string{"backplane"},
			Connect: &api.ConsulConnect{SidecarService: &api.ConsulSidecarService{}}}}
	}
	svc := group.Services[0]
	if svc.Connect.SidecarService.Proxy == nil {
		svc.Connect.SidecarService.Proxy = &api.ConsulProxy{}
	}
	svc.Connect.SidecarService.Proxy.Upstreams = ups
}

// intentions allows each drawn connection and denies everything else to
// every service in the project.
func (t *translation) intentions() {
	sources := map[string][]string{}
	for _, c := range t.s.Connections {
		sources[c.To] = append(sources[c.To], c.From)
	}
	for i := range t.s.Elements {
		e := &t.s.Elements[i]
		kind, _ := t.reg.Get(e.Kind)
		if !kind.Info().Service {
			continue
		}
		entry := &consul.ServiceIntentionsConfigEntry{
			Kind: consul.ServiceIntentions, Name: t.jobID(e.ID),
			Meta: map[string]string{MetaProject: t.s.Project, MetaElement: e.ID},
		}
		from := sources[e.ID]
		sort.Strings(from)
		for _, f := range from {
			entry.Sources = append(entry.Sources, &consul.SourceIntention{
				Name: t.jobID(f), Action: consul.IntentionActionAllow, Type: consul.IntentionSourceConsul,
				Description: fmt.Sprintf("backplane: %s -> %s", f, e.ID),
			})
		}
		entry.Sources = append(entry.Sources, &consul.SourceIntention{
			Name: "*", Action: consul.IntentionActionDeny, Type: consul.IntentionSourceConsul,
			Description: "backplane: connections not drawn in the schema are denied",
		})
		t.b.Intentions = append(t.b.Intentions, entry)
	}
}

// policy is the element's Vault policy: read on its own secrets path and on
// the credentials of datastores it is connected to (or is).
func (t *translation) policy(e *schema.Element) string {
	var paths []string
	if len(e.Secrets) > 0 {
		paths = append(paths, templates.SecretsPath(t.s.Project, e.ID))
	}
	if c, ok := t.creds[e.ID]; ok {
		paths = append(paths, c.Path)
	}
	for _, c := range t.outgoing[e.ID] {
		if cr, ok := t.creds[c.To]; ok {
			paths = append(paths, cr.Path)
		}
	}
	if len(paths) == 0 {
		return ""
	}
	sort.Strings(paths)
	var b strings.Builder
	fmt.Fprintf(&b, "# Vault policy for %s: read its own secrets and the credentials of what it connects to.\n", t.jobID(e.ID))
	for _, p := range paths {
		fmt.Fprintf(&b, "path %q {\n  capabilities = [\"read\"]\n}\n", templates.KVDataPath(p))
	}
	return b.String()
}
