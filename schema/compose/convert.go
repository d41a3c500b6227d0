package compose

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/backplane-dev/backplane/schema"
)

// CPUMHz is the rate deploy.resources.limits.cpus converts at: one CPU is
// 1000 MHz of Nomad CPU, so `cpus: "0.5"` becomes `cpu: 500`.
const CPUMHz = 1000

// Bounds on limits worth carrying over.
const (
	maxCPUs   = 100_000
	maxMemory = 1 << 50 // 1 PiB
)

// converter holds one import's state.
type converter struct {
	project *types.Project
	files   []composeFile
	dir     string // the first file's folder
	warns   []Warning

	names    []string            // services, sorted
	ids      map[string]string   // service → element ID
	hosts    map[string]string   // host name → service
	services map[string]*service // by service name
}

// service is one service on its way to an element.
type service struct {
	name string
	cfg  types.ServiceConfig
	elem *schema.Element
	// env is the environment still to place: in env, secrets or a
	// connection.
	env map[string]*string
	// proxies are the services an lb.nginx proxies to, with the location
	// paths its config routes to each.
	proxies map[string][]string
	// port is the container port the service listens on.
	port int
	// hostPort is the host port compose published it on, and where.
	hostPort string
}

// hostPorts warns about published host ports of elements that no load
// balancer fronts: Nomad gives them a dynamic port.
func (c *converter) hostPorts(conns []schema.Connection) {
	fronted := map[string]bool{}
	for _, conn := range conns {
		if from := c.byID(conn.From); from != nil && from.elem.Kind == kindNginx {
			fronted[conn.To] = true
		}
	}
	for _, n := range c.names {
		sv := c.services[n]
		if sv.hostPort == "" || sv.elem.Kind == kindNginx || fronted[sv.elem.ID] || sv.elem.Port == 0 {
			continue
		}
		port, key, _ := strings.Cut(sv.hostPort, " ")
		c.warn(n, strings.Trim(key, "()"), "host port %s is not carried over: Nomad gives %s a dynamic port; to reach it on a fixed port, put an lb.nginx in front of it", port, sv.elem.ID)
	}
}

func (c *converter) byID(id string) *service {
	for _, sv := range c.services {
		if sv.elem.ID == id {
			return sv
		}
	}
	return nil
}

// plainNginx makes an nginx service none of whose targets became a
// connection an app.docker again: a load balancer needs one.
func (c *converter) plainNginx(conns []schema.Connection) []schema.Connection {
	from := map[string]bool{}
	for _, conn := range conns {
		from[conn.From] = true
	}
	for _, n := range c.names {
		sv := c.services[n]
		e := sv.elem
		if e.Kind != kindNginx || from[e.ID] {
			continue
		}
		c.warn(n, "", "runs as app.docker, not lb.nginx: none of the services it depends on can be proxied to")
		*e = schema.Element{ID: e.ID, Kind: kindDocker, Image: sv.cfg.Image, Port: sv.port, Resources: e.Resources, Scale: e.Scale}
		if sv.port != 0 {
			e.Health = c.health(sv)
		}
	}
	return conns
}

// convert maps the loaded project.
func (c *converter) convert(ctx context.Context, projectName string) (*schema.Schema, error) {
	name := projectName
	if name == "" {
		name = c.project.Name
	}
	proj := dnsLabel(name)
	if proj == "" {
		return nil, fmt.Errorf("%s: project name %q cannot be made a DNS label; pass --project", c.files[0].name, name)
	}
	s := &schema.Schema{Version: schema.Version, Project: proj}
	for n := range c.project.Services {
		c.names = append(c.names, n)
	}
	sort.Strings(c.names)
	if len(c.names) == 0 {
		return nil, fmt.Errorf("%s: no services to import (are they all in a profile? pass --profile)", c.files[0].name)
	}
	if len(c.names) > schema.MaxElements {
		return nil, fmt.Errorf("%s: %d services, over the limit of %d elements", c.files[0].name, len(c.names), schema.MaxElements)
	}
	if err := c.assignIDs(proj); err != nil {
		return nil, err
	}
	c.services = map[string]*service{}
	for _, n := range c.names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.services[n] = c.element(proj, n, c.project.Services[n])
	}
	conns := c.connections()
	conns = c.plainNginx(conns)
	c.hostPorts(conns)
	for _, n := range c.names {
		c.placeEnv(c.services[n])
	}
	c.renameClashes(conns)
	for _, n := range c.names {
		s.Elements = append(s.Elements, *c.services[n].elem)
	}
	sort.Slice(s.Elements, func(i, j int) bool { return s.Elements[i].ID < s.Elements[j].ID })
	s.Connections = conns
	sort.SliceStable(s.Connections, func(i, j int) bool {
		a, b := s.Connections[i], s.Connections[j]
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
	s.Layout = layout(s)
	c.topLevel()
	if errs := schema.Validate(s); len(errs) > 0 {
		return nil, fmt.Errorf("%s: the imported schema is not valid:\n%w", c.files[0].name, errs)
	}
	return s, nil
}

// dnsLabel makes a lowercase DNS label of a name: web_app → web-app.
func dnsLabel(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.' || r == ' ':
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
	}
	id := strings.Trim(b.String(), "-")
	if id != "" && id[0] >= '0' && id[0] <= '9' {
		id = "s-" + id
	}
	if len(id) > 63 {
		id = strings.TrimRight(id[:63], "-")
	}
	return id
}

// assignIDs names each service's element and records the host names other
// services reach it by.
func (c *converter) assignIDs(proj string) error {
	c.ids = map[string]string{}
	c.hosts = map[string]string{}
	taken := map[string]string{}
	for _, n := range c.names {
		id := dnsLabel(n)
		if id == "" {
			return c.errorf(n, "", "the service name cannot be made an element ID (a lowercase DNS label); rename the service")
		}
		if other, dup := taken[id]; dup {
			return c.errorf(n, "", "becomes element %q, as service %s does; rename one of them", id, other)
		}
		if len(proj)+1+len(id) > schema.MaxJobIDLength {
			return c.errorf(n, "", "job ID %q is over %d characters; pass a shorter --project or rename the service", proj+"-"+id, schema.MaxJobIDLength)
		}
		taken[id] = n
		c.ids[n] = id
		if id != n {
			c.warn(n, "", "renamed to element %q: element IDs are lowercase DNS labels", id)
		}
		c.hosts[n] = n
	}
	// Host names and network aliases are weaker than service names.
	for _, n := range c.names {
		svc := c.project.Services[n]
		extra := []string{svc.Hostname, svc.ContainerName}
		for _, net := range schema.SortedKeys(svc.Networks) {
			if cfg := svc.Networks[net]; cfg != nil {
				extra = append(extra, cfg.Aliases...)
			}
		}
		for _, h := range extra {
			if _, ok := c.hosts[h]; !ok && h != "" {
				c.hosts[h] = n
			}
		}
	}
	return nil
}

// element maps one service, all but its env and connections.
func (c *converter) element(proj, name string, svc types.ServiceConfig) *service {
	sv := &service{name: name, cfg: svc, env: map[string]*string{}}
	c.services[name] = sv
	for k, v := range svc.Environment {
		sv.env[k] = v
	}
	e := &schema.Element{ID: c.ids[name]}
	sv.elem = e
	im := parseImage(svc.Image)
	var port, published int
	if svc.Build != nil || dataKind(im) == "" {
		port, published = c.port(name, svc)
	}
	sv.port = port
	command := append(append([]string{}, svc.Entrypoint...), svc.Command...)
	if strings.ContainsRune(strings.Join(command, " "), 0) {
		c.warn(name, "command", "not carried over: it holds a NUL byte")
		command, sv.cfg.Command, sv.cfg.Entrypoint = nil, nil, nil
		svc = sv.cfg
	}

	switch {
	case svc.Build == nil && svc.Image != "" && dataKind(im) != "":
		c.datastore(sv, im)
	case svc.Build == nil && isNginx(im) && c.nginx(sv):
		e.Kind = kindNginx
		e.Version = tagVersion(im.tag)
		e.Port = port
		if published > 0 {
			e.Port = published
		}
		if e.Port == 0 {
			e.Port = 80
		}
	case svc.Build != nil:
		c.build(proj, sv, port, command)
	default:
		c.plain(sv, svc.Image, port, command)
	}
	if e.Kind == kindNginx && (len(svc.Command) > 0 || len(svc.Entrypoint) > 0) {
		c.warn(name, "command", "not carried over: lb.nginx runs nginx on the config Backplane renders from its connections")
	}
	if takes(e.Kind, "port") && e.Port == 0 {
		e.Port = port
	}
	c.resources(sv)
	c.scale(sv)
	e.Health = c.health(sv)
	if e.Kind != kindNginx {
		c.volumes(sv)
	} else {
		for i, v := range svc.Volumes {
			c.warn(name, fmt.Sprintf("volumes[%d]", i), "not carried over (%s): lb.nginx renders its own nginx.conf from its connections and their routes", relPath(c.dir, v.Source))
		}
	}
	c.unsupported(sv)
	return sv
}

// port picks the element's port: the first TCP port published or exposed.
// It returns the container port and, when published, the host port.
func (c *converter) port(name string, svc types.ServiceConfig) (target, published int) {
	for i, p := range svc.Ports {
		key := fmt.Sprintf("ports[%d]", i)
		switch {
		case p.Protocol != "" && p.Protocol != "tcp":
			c.warn(name, key, "not carried over: %s port %d; Backplane elements listen on one TCP port", p.Protocol, p.Target)
		case target == 0:
			target = int(p.Target)
			published, _ = strconv.Atoi(p.Published)
			if p.Published != "" {
				c.services[name].hostPort = fmt.Sprintf("%s (ports[%d])", p.Published, i)
			}
		case int(p.Target) != target:
			c.warn(name, key, "not carried over: port %d; an element has one port, and it listens on %d", p.Target, target)
		}
	}
	for i, x := range svc.Expose {
		n, err := strconv.Atoi(strings.TrimSuffix(x, "/tcp"))
		switch {
		case err != nil || n < 1 || n > 65535:
			c.warn(name, fmt.Sprintf("expose[%d]", i), "not carried over: %q is not one TCP port", x)
		case target == 0:
			target = n
		case n != target:
			c.warn(name, fmt.Sprintf("expose[%d]", i), "not carried over: port %d; an element has one port, and it listens on %d", n, target)
		}
	}
	return target, published
}

// datastore maps a postgres, mongo, redis, mysql or rabbitmq service.
func (c *converter) datastore(sv *service, im image) {
	e, name, svc := sv.elem, sv.name, sv.cfg
	e.Kind = dataKind(im)
	d := datastores[e.Kind]
	switch {
	case im.repo == "mariadb":
		c.warn(name, "image", "%s runs as db.mysql, which runs MySQL, not MariaDB; its version is not carried over", svc.Image)
	case !im.official():
		c.warn(name, "image", "%s is not carried over: %s runs the official %s image", svc.Image, e.Kind, im.repo)
		e.Version = tagVersion(im.tag)
	default:
		e.Version = tagVersion(im.tag)
		if e.Version == "" {
			c.warn(name, "image", "%s names no version: %s runs its default version", svc.Image, e.Kind)
		}
	}
	for i, p := range svc.Ports {
		if p.Published != "" {
			c.warn(name, fmt.Sprintf("ports[%d]", i), "not carried over: %s is reached through connections, on port %d inside the cluster, not published on the host", e.Kind, d.port)
		} else if int(p.Target) != d.port {
			c.warn(name, fmt.Sprintf("ports[%d]", i), "not carried over: %s listens on %d", e.Kind, d.port)
		}
	}
	if len(svc.Command) > 0 || len(svc.Entrypoint) > 0 {
		key := "command"
		if len(svc.Command) == 0 {
			key = "entrypoint"
		}
		c.warn(name, key, "not carried over: %s runs its image's own command", e.Kind)
	}
}

// plain maps a service that runs an image: app.docker, or worker when it
// has no port but a command.
func (c *converter) plain(sv *service, img string, port int, command []string) {
	e, name, svc := sv.elem, sv.name, sv.cfg
	e.Image = img
	if port == 0 && len(command) > 0 {
		e.Kind = kindWorker
		e.Command = shellJoin(command)
		return
	}
	e.Kind = kindDocker
	if len(svc.Entrypoint) > 0 {
		c.warn(name, "entrypoint", "not carried over: app.docker runs the image's entrypoint; command and args replace its command only")
	}
	if len(svc.Command) > 0 {
		e.Command = svc.Command[0]
		e.Args = append([]string(nil), svc.Command[1:]...)
	}
}

// runtimes picks a source kind from the first word of a start command.
var runtimes = map[string]string{
	"node": kindNode, "npm": kindNode, "npx": kindNode, "yarn": kindNode, "pnpm": kindNode, "bun": kindNode,
	"python": kindPython, "python3": kindPython, "gunicorn": kindPython, "uvicorn": kindPython,
	"flask": kindPython, "hypercorn": kindPython, "daphne": kindPython, "celery": kindPython, "poetry": kindPython,
	"go": kindGo,
}

// build maps a service built from a Dockerfile. A git context becomes the
// element's source when the command says which runtime it needs; anything
// else runs the service's image, which has to be built and pushed first.
func (c *converter) build(proj string, sv *service, port int, command []string) {
	e, name, svc := sv.elem, sv.name, sv.cfg
	b := svc.Build
	if repo, ref, dir, ok := gitContext(b.Context); ok {
		if stripped, had := stripUserinfo(repo); had {
			c.warn(name, "build.context", "the credentials in the URL are not carried over: name a token secret in source.auth instead")
			repo = stripped
		}
		kind := ""
		if len(command) > 0 {
			kind = runtimes[strings.ToLower(baseName(command[0]))]
		}
		if kind != "" {
			e.Kind = kind
			e.Source = &schema.Source{Repo: repo, Dir: dir, Start: shellJoin(command)}
			if isCommitID(ref) {
				e.Source.Ref = ref
			} else {
				e.Source.Branch = ref
			}
			e.Version = buildArgVersion(kind, b.Args)
			c.warn(name, "build", "the Dockerfile's steps are not carried over: %s clones %s and runs source.start; set source.build to install dependencies", kind, repo)
			if svc.Image != "" {
				c.warn(name, "image", "not carried over: the element is built from source")
			}
			return
		}
		c.warn(name, "build.context", "not carried over: %s is built from a Dockerfile, and its command does not say which runtime to build from source with (Node.js, Python or Go); build and push the image, or set kind and source", repo)
	} else {
		c.warn(name, "build", "not carried over: a local build context (%s) cannot be built by the cluster; build and push the image, then set image", relPath(c.dir, b.Context))
	}
	img := svc.Image
	if img == "" {
		img = proj + "-" + c.ids[name] + ":latest"
		c.warn(name, "image", "%s stands in for the image the build would make; push it to a registry the cluster pulls from, or change it", img)
	}
	c.plain(sv, img, port, command)
}

// stripUserinfo removes user:token@ from an https URL.
func stripUserinfo(repo string) (string, bool) {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil || strings.HasPrefix(repo, "git@") || u.Scheme == "ssh" {
		return repo, false
	}
	u.User = nil
	return u.String(), true
}

// versionArgs are the build args that name a runtime's version.
var versionArgs = map[string][]string{
	kindNode:   {"NODE_VERSION", "NODE_MAJOR"},
	kindPython: {"PYTHON_VERSION"},
	kindGo:     {"GO_VERSION", "GOLANG_VERSION"},
}

// buildArgVersion is the runtime version a build arg names, when it is a
// version number (PYTHON_VERSION: "3.12").
func buildArgVersion(kind string, args types.MappingWithEquals) string {
	for _, name := range versionArgs[kind] {
		if v := args[name]; v != nil && tagVersion(*v) == *v {
			return *v
		}
	}
	return ""
}

var commitID = regexp.MustCompile(`^[0-9a-f]{40}$`)

func isCommitID(ref string) bool { return commitID.MatchString(ref) }

// gitContext splits a remote build context, URL#ref:dir, as docker does.
func gitContext(ctx string) (repo, ref, dir string, ok bool) {
	switch {
	case strings.HasPrefix(ctx, "git@"), strings.HasPrefix(ctx, "git://"), strings.HasPrefix(ctx, "ssh://"):
	case strings.HasPrefix(ctx, "https://") || strings.HasPrefix(ctx, "http://"):
		base, _, _ := strings.Cut(ctx, "#")
		if !strings.HasSuffix(base, ".git") && !strings.Contains(ctx, "#") &&
			!strings.Contains(base, "github.com/") && !strings.Contains(base, "gitlab.com/") && !strings.Contains(base, "bitbucket.org/") {
			return "", "", "", false
		}
	case strings.HasPrefix(ctx, "github.com/"):
		ctx = "https://" + ctx
	default:
		return "", "", "", false
	}
	repo, frag, _ := strings.Cut(ctx, "#")
	ref, dir, _ = strings.Cut(frag, ":")
	dir = strings.Trim(dir, "/")
	if strings.Contains(dir, "..") || strings.ContainsAny(dir, "\n\r\x00") || !gitRefName.MatchString(ref) && ref != "" {
		return "", "", "", false
	}
	if strings.HasPrefix(repo, "git@") {
		return repo, ref, dir, strings.Contains(repo, ":") && !strings.ContainsAny(repo, " \n\t")
	}
	u, err := url.Parse(repo)
	if err != nil || u.Host == "" {
		return "", "", "", false
	}
	return repo, ref, dir, true
}

var gitRefName = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

// resources maps deploy.resources.limits (or the older cpus and mem_limit).
func (c *converter) resources(sv *service) {
	e, name, svc := sv.elem, sv.name, sv.cfg
	cpus, mem := float64(svc.CPUS), int64(svc.MemLimit)
	cpuKey, memKey := "cpus", "mem_limit"
	if d := svc.Deploy; d != nil {
		if l := d.Resources.Limits; l != nil {
			if l.NanoCPUs > 0 {
				cpus, cpuKey = float64(l.NanoCPUs), "deploy.resources.limits.cpus"
			}
			if l.MemoryBytes > 0 {
				mem, memKey = int64(l.MemoryBytes), "deploy.resources.limits.memory"
			}
			if l.Pids > 0 {
				c.warn(name, "deploy.resources.limits.pids", "not carried over: Nomad has no pids limit")
			}
			if len(l.Devices) > 0 || len(l.GenericResources) > 0 {
				c.warn(name, "deploy.resources.limits", "devices are not carried over")
			}
		}
		if r := d.Resources.Reservations; r != nil {
			c.warn(name, "deploy.resources.reservations", "not carried over: Nomad reserves what resources sets, which comes from limits")
		}
	}
	if math.IsNaN(cpus) || math.IsInf(cpus, 0) || cpus > maxCPUs {
		c.warn(name, cpuKey, "not carried over: %g is not a number of CPUs", cpus)
		cpus = 0
	}
	if mem > maxMemory {
		c.warn(name, memKey, "not carried over: %d bytes is more than a machine has", mem)
		mem = 0
	}
	if cpus <= 0 && mem <= 0 {
		return
	}
	if !takes(e.Kind, "resources") {
		c.warn(name, cpuKey, "not carried over: %s takes no resources", e.Kind)
		return
	}
	r := &schema.Resources{}
	if cpus > 0 {
		r.CPU = int(math.Round(cpus * CPUMHz))
		if r.CPU < 10 {
			c.warn(name, cpuKey, "%g CPUs is %d MHz, below Nomad's minimum: set to 10 MHz", cpus, r.CPU)
			r.CPU = 10
		}
	}
	if mem > 0 {
		r.Memory = int((mem + 1<<20 - 1) >> 20)
		if r.Memory < 10 {
			c.warn(name, memKey, "%d bytes is below Nomad's minimum: set to 10 MB", mem)
			r.Memory = 10
		}
	}
	e.Resources = r
}

// scale maps deploy.replicas (or scale).
func (c *converter) scale(sv *service) {
	e, name, svc := sv.elem, sv.name, sv.cfg
	key, n := "", 0
	switch {
	case svc.Scale != nil:
		key, n = "scale", *svc.Scale
	case svc.Deploy != nil && svc.Deploy.Replicas != nil:
		key, n = "deploy.replicas", *svc.Deploy.Replicas
	default:
		return
	}
	switch {
	case n == 1:
	case n < 1:
		c.warn(name, key, "not carried over: %d replicas; the element runs one instance (remove it from the schema if it should not run)", n)
	case !takes(e.Kind, "scale"):
		c.warn(name, key, "not carried over: %s runs one instance", e.Kind)
	default:
		e.Scale = &schema.Scale{Count: n}
	}
}

var (
	localURL = regexp.MustCompile(`(https?)://(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(:(?:[0-9]+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)?)?(/[^\s'"|;&<>)]*)?`)
	// httpClient matches the commands that fetch a URL: curl, wget, and
	// the one-liners of Python and Node.
	httpClient = regexp.MustCompile(`(^|[\s/])(curl|wget)(\s|$)|urlopen\(|requests\.get\(|fetch\(|http\.get\(`)
	tcpProbe   = regexp.MustCompile(`(^|\s)(nc|netcat|ncat)\s+(-[a-zA-Z]*z[a-zA-Z]*\s+)|/dev/tcp/`)
)

// health maps a healthcheck that is an HTTP request to localhost (curl,
// wget, or a Python or Node one-liner) or a TCP probe (nc -z, /dev/tcp).
func (c *converter) health(sv *service) *schema.Health {
	e, name, hc := sv.elem, sv.name, sv.cfg.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil
	}
	if !takes(e.Kind, "health") {
		c.warn(name, "healthcheck", "not carried over: %s has no health check", e.Kind)
		return nil
	}
	port := e.Port
	if d, ok := datastores[e.Kind]; ok {
		port = d.port
	}
	if port == 0 {
		c.warn(name, "healthcheck", "not carried over: the service has no port to check")
		return nil
	}
	test := hc.Test
	if test[0] == "CMD" || test[0] == "CMD-SHELL" {
		test = test[1:]
	}
	line := strings.Join(test, " ")
	h := &schema.Health{}
	if m := localURL.FindStringSubmatch(line); httpClient.MatchString(line) && m != nil {
		h.HTTP = m[4]
		if h.HTTP == "" {
			h.HTTP = "/"
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(m[3], ":")); err == nil && n != port {
			c.warn(name, "healthcheck.test", "checks port %s; Nomad checks the element's port, %d", m[3][1:], port)
		}
		if m[1] == "https" {
			c.warn(name, "healthcheck.test", "uses https; Nomad's check uses plain http on the element's port")
		}
	} else if tcpProbe.MatchString(line) {
		h.TCP = true
	} else {
		c.warn(name, "healthcheck.test", "not carried over: only an HTTP request to localhost (curl, wget) or a TCP probe (nc -z) maps to a Nomad check; Nomad checks port %d over TCP instead", port)
		return nil
	}
	if hc.Interval != nil {
		h.Interval = c.duration(name, "healthcheck.interval", time.Duration(*hc.Interval))
	}
	if hc.Timeout != nil {
		h.Timeout = c.duration(name, "healthcheck.timeout", time.Duration(*hc.Timeout))
	}
	if hc.Retries != nil {
		c.warn(name, "healthcheck.retries", "not carried over: a Nomad check fails the instance on its first failure once it has been healthy")
	}
	if hc.StartPeriod != nil {
		c.warn(name, "healthcheck.start_period", "not carried over: Nomad waits for the first passing check instead")
	}
	if hc.StartInterval != nil {
		c.warn(name, "healthcheck.start_interval", "not carried over: Nomad checks at one interval")
	}
	return h
}

// duration writes a check duration as Go does, or drops one under 1s.
func (c *converter) duration(name, key string, d time.Duration) string {
	if d < time.Second {
		c.warn(name, key, "not carried over: %s is below the minimum of 1s", d)
		return ""
	}
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

var volumeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// volumes maps the first named volume; binds, tmpfs and further volumes
// are warnings.
func (c *converter) volumes(sv *service) {
	e, name := sv.elem, sv.name
	for i, v := range sv.cfg.Volumes {
		key := fmt.Sprintf("volumes[%d]", i)
		switch {
		case v.Type == types.VolumeTypeBind:
			c.warn(name, key, "not carried over: a bind mount of %s; put the files in the image or an artifact", relPath(c.dir, v.Source))
		case v.Type != types.VolumeTypeVolume:
			c.warn(name, key, "not carried over: a %s mount at %s", v.Type, v.Target)
		case v.Source == "":
			c.warn(name, key, "not carried over: an anonymous volume at %s; name it to keep its data", v.Target)
		case !takes(e.Kind, "volume"):
			c.warn(name, key, "not carried over: %s takes no volume", e.Kind)
		case e.Volume != nil:
			c.warn(name, key, "not carried over: an element has one volume (%s)", e.Volume.Name)
		case !volumeName.MatchString(v.Source):
			c.warn(name, key, "not carried over: %q is not a valid host volume name", v.Source)
		default:
			e.Volume = &schema.Volume{Name: v.Source}
			if e.Kind == kindDocker && v.Target != "/data" {
				c.warn(name, key, "volume %s is mounted at /data, not %s: app.docker mounts its volume there", v.Source, v.Target)
			}
			if v.ReadOnly {
				c.warn(name, key+".read_only", "not carried over: the volume is mounted read-write")
			}
		}
	}
}

func baseName(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// relPath shows a path relative to the project folder when it is inside.
func relPath(dir, p string) string {
	if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
		return "./" + rest
	}
	if p == dir {
		return "."
	}
	return p
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellJoin quotes words for sh -c.
func shellJoin(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if shellSafe.MatchString(w) {
			out[i] = w
			continue
		}
		out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
