package compose

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/backplane-dev/backplane/schema"
)

// ref is an env var that names another service.
type ref struct {
	env    string
	target string
	url    bool   // a URL (postgres://db:5432/app), not a bare host
	path   string // the URL's path, lost in the connection
	query  bool   // the URL has a query, lost too
	list   bool   // the value names several services
}

// hostVar matches env names that hold a host name.
var hostVar = regexp.MustCompile(`HOST|ADDR|SERVER|ENDPOINT|BROKER|NODES?$`)

// hostPort matches host or host:port items, comma-separated.
var hostPort = regexp.MustCompile(`^[A-Za-z0-9._-]+(:[0-9]{1,5})?$`)

// refsIn finds the services an env value names: the host of a URL, or a
// bare host or host:port (a list of them, comma-separated).
func (c *converter) refsIn(from, env, value string, aliases map[string]string) []ref {
	host := func(h string) string {
		if t, ok := aliases[h]; ok && t != from {
			return t
		}
		if t, ok := c.hosts[h]; ok && t != from {
			return t
		}
		return ""
	}
	if strings.Count(value, "://") > 1 {
		// A list of URLs: http://es01:9200,http://es02:9200.
		var out []ref
		for _, item := range strings.Split(value, ",") {
			out = append(out, c.refsIn(from, env, strings.TrimSpace(item), aliases)...)
		}
		return markList(out)
	}
	if strings.Contains(value, "://") {
		u, err := url.Parse(value)
		if err != nil {
			return nil
		}
		var out []ref
		// A URL may list several hosts (mongodb://a:27017,b:27017/db).
		for _, hp := range strings.Split(u.Host, ",") {
			h := hp
			if i := strings.LastIndex(hp, ":"); i >= 0 && !strings.HasSuffix(hp, "]") {
				h = hp[:i]
			}
			if t := host(h); t != "" {
				out = append(out, ref{env: env, target: t, url: true, path: u.Path, query: u.RawQuery != ""})
			}
		}
		return markList(out)
	}
	var out []ref
	for _, item := range strings.Split(value, ",") {
		// A bare word names a host only under a name that says so:
		// DB_CONNECTION=mysql is a driver, DB_HOST=mysql a host.
		if !strings.Contains(item, ":") && !hostVar.MatchString(strings.ToUpper(env)) {
			continue
		}
		item = strings.TrimSpace(item)
		if !hostPort.MatchString(item) {
			continue
		}
		h, _, _ := strings.Cut(item, ":")
		if t := host(h); t != "" {
			out = append(out, ref{env: env, target: t})
		}
	}
	return markList(out)
}

// markList flags refs that share their value with others.
func markList(refs []ref) []ref {
	for i := range refs {
		refs[i].list = len(refs) > 1
	}
	return refs
}

// target is one outgoing connection on its way.
type target struct {
	refs  []ref
	keys  []string // what drew it: depends_on, links, an env var
	route string
}

// connections finds every service's outgoing connections: env values that
// name another service, depends_on, links and, for a load balancer, the
// services its nginx config proxies to. The env vars a connection replaces
// are removed from the service's env.
func (c *converter) connections() []schema.Connection {
	var out []schema.Connection
	for _, name := range c.names {
		sv := c.services[name]
		aliases := map[string]string{}
		for _, l := range sv.cfg.Links {
			svc, alias, ok := strings.Cut(l, ":")
			if !ok {
				alias = svc
			}
			if _, known := c.services[svc]; known {
				aliases[alias] = svc
			}
		}
		targets := map[string]*target{}
		get := func(t string) *target {
			if targets[t] == nil {
				targets[t] = &target{}
			}
			return targets[t]
		}
		if sv.elem.Kind != kindNginx && !isDatastore(sv.elem.Kind) {
			for _, env := range schema.SortedKeys(sv.env) {
				v := sv.env[env]
				if v == nil {
					continue
				}
				refs := c.refsIn(name, env, *v, aliases)
				for _, r := range refs {
					t := get(r.target)
					t.refs = append(t.refs, r)
				}
				if len(refs) > 0 {
					delete(sv.env, env)
				}
			}
		}
		for _, dep := range schema.SortedKeys(sv.cfg.DependsOn) {
			get(dep).keys = append(get(dep).keys, "depends_on."+dep)
		}
		for i, l := range sv.cfg.Links {
			svc, _, _ := strings.Cut(l, ":")
			get(svc).keys = append(get(svc).keys, fmt.Sprintf("links[%d]", i))
		}
		if sv.elem.Kind == kindNginx {
			c.lbTargets(sv, targets)
		}
		claimed := map[string]bool{}
		for _, t := range schema.SortedKeys(targets) {
			if conn, ok := c.connection(sv, t, targets[t], claimed); ok {
				out = append(out, conn)
			}
		}
	}
	return out
}

// connection makes the connection from sv to the service to, or warns
// why there is none.
func (c *converter) connection(sv *service, to string, t *target, claimed map[string]bool) (schema.Connection, bool) {
	from := sv.elem
	why := "depends_on." + to
	if len(t.keys) > 0 {
		why = t.keys[0]
	} else if len(t.refs) > 0 {
		why = "environment." + t.refs[0].env
	}
	dst, ok := c.services[to]
	switch {
	case to == sv.name:
		return schema.Connection{}, false
	case !ok:
		c.warn(sv.name, why, "not carried over: no service %s is imported (is it in a profile?)", to)
		c.dropRefs(sv, t)
		return schema.Connection{}, false
	case isDatastore(from.Kind):
		c.warn(sv.name, why, "not carried over: %s makes no outgoing connections", from.Kind)
		return schema.Connection{}, false
	case dst.elem.Kind == kindWorker || (dst.elem.Port == 0 && !isDatastore(dst.elem.Kind)):
		if len(t.refs) > 0 || from.Kind == kindNginx {
			c.warn(sv.name, why, "not carried over: %s has no port to connect to", to)
		}
		c.dropRefs(sv, t)
		return schema.Connection{}, false
	}
	conn := schema.Connection{From: from.ID, To: dst.elem.ID}
	def := exportEnv(dst.elem.Kind, dst.elem.ID)
	// The first URL var names the connection's env, unless an earlier
	// connection took it (one var listing several services).
	// A var naming this service alone comes before a list.
	sort.SliceStable(t.refs, func(i, j int) bool { return !t.refs[i].list && t.refs[j].list })
	for _, r := range t.refs {
		if r.url && schema.ValidEnvName(r.env) && !claimed[r.env] {
			conn.Env = r.env
			claimed[r.env] = true
			break
		}
	}
	injected := def
	if conn.Env != "" {
		injected = conn.Env
	}
	for _, r := range t.refs {
		key := "environment." + r.env
		switch {
		case r.env == conn.Env:
			switch {
			case isDatastore(dst.elem.Kind):
			case r.path != "" && r.path != "/":
				c.warn(sv.name, key, "the connection injects %s as http://HOST:PORT, without the path %s", r.env, r.path)
			case r.query:
				c.warn(sv.name, key, "the connection injects %s as http://HOST:PORT, without the URL's query", r.env)
			}
		case r.url:
			c.warn(sv.name, key, "names %s, whose connection injects its URL as %s, not in this variable", to, injected)
		default:
			c.warn(sv.name, key, "dropped: it names %s by its compose host name, which does not resolve on Nomad; read %s (a URL the connection injects) instead", to, injected)
		}
	}
	if t.route != "" {
		conn.Route = &schema.Route{Path: t.route}
	}
	return conn, true
}

// dropRefs removes the env vars naming a service no connection goes to:
// they hold a compose host name.
func (c *converter) dropRefs(sv *service, t *target) {
	for _, r := range t.refs {
		c.warn(sv.name, "environment."+r.env, "dropped: it names service %s by its compose host name, and there is no connection to it", r.target)
	}
}

// renameClashes settles each connection's env var. One named after the
// var the service read keeps it (and writes nothing when that is the
// default); one without a name takes the default unless another
// connection, env var or secret of the element has it, and then a name of
// its own: DB2_DATABASE_URL.
func (c *converter) renameClashes(conns []schema.Connection) {
	byID := map[string]*service{}
	for _, sv := range c.services {
		byID[sv.elem.ID] = sv
	}
	used := map[string]map[string]bool{}
	for _, conn := range conns {
		if used[conn.From] == nil {
			used[conn.From] = map[string]bool{}
		}
		if conn.Env != "" {
			used[conn.From][conn.Env] = true
		}
	}
	for i := range conns {
		conn := &conns[i]
		from, to := byID[conn.From], byID[conn.To]
		def := exportEnv(to.elem.Kind, to.elem.ID)
		if conn.Env != "" {
			if conn.Env == def {
				conn.Env = ""
			}
			continue
		}
		if from.elem.Kind == kindNginx {
			continue // its connections are upstreams, not env vars
		}
		taken := func(name string) bool {
			_, inEnv := from.elem.Env[name]
			return used[conn.From][name] || inEnv || contains(from.elem.Secrets, name)
		}
		if !taken(def) {
			used[conn.From][def] = true
			continue
		}
		prefix := strings.ToUpper(strings.ReplaceAll(to.elem.ID, "-", "_")) + "_"
		base := prefix + def
		if strings.HasPrefix(def, prefix) {
			base = "BACKPLANE_" + def
		}
		name := base
		for n := 2; taken(name); n++ {
			name = fmt.Sprintf("%s_%d", base, n)
		}
		conn.Env = name
		used[conn.From][name] = true
		c.warn(from.name, "depends_on."+to.name, "the connection to %s injects %s, since %s is taken", to.name, name, def)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// secretName reports env var names that hold secrets.
func secretName(name string) bool {
	n := strings.ToUpper(name)
	if strings.Contains(n, "PUBLIC") || strings.Contains(n, "PUBLISHABLE") {
		return false
	}
	words := strings.Split(n, "_")
	last := words[len(words)-1]
	switch last {
	case "PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIALS", "DSN":
		return true
	}
	return strings.Contains(n, "SECRET_KEY") || strings.Contains(n, "PRIVATE_KEY") || strings.Contains(n, "ACCESS_KEY")
}

// placeEnv puts a service's remaining environment in env or secrets, or
// drops it with a warning.
func (c *converter) placeEnv(sv *service) {
	e, name := sv.elem, sv.name
	var creds []string
	if d, ok := datastores[e.Kind]; ok {
		creds = d.credVars
	}
	for _, k := range schema.SortedKeys(sv.env) {
		v := sv.env[k]
		key := "environment." + k
		switch {
		case contains(creds, k):
			c.warn(name, key, "dropped: Backplane generates %s's credentials and passes them to connected elements in %s", name, datastores[e.Kind].export)
		case !takes(e.Kind, "env"):
			c.warn(name, key, "not carried over: %s takes no env", e.Kind)
		case !schema.ValidEnvName(k):
			c.warn(name, key, "not carried over: %q is not a valid environment variable name", k)
		case k == "PORT" && v != nil && *v == fmt.Sprint(e.Port):
			// Backplane sets PORT to the element's port.
		case v != nil && len(k) > len("_FILE") && strings.HasSuffix(k, "_FILE") && strings.HasPrefix(*v, "/run/secrets/") && takes(e.Kind, "secrets"):
			// DB_PASSWORD_FILE=/run/secrets/db_password: the secret, as a file.
			name := strings.TrimSuffix(k, "_FILE")
			if _, inEnv := sv.env[name]; inEnv || contains(e.Secrets, name) {
				c.warn(sv.name, key, "not carried over: compose secret files do not exist on Nomad, and %s is set too", name)
				continue
			}
			e.Secrets = append(e.Secrets, name)
			c.warn(sv.name, key, "became secret %s: Backplane passes secrets as env vars, not files, so the app must read %s; set it with `backplane secrets set -f backplane.yaml %s %s`", name, name, e.ID, name)
		case secretName(k) || v != nil && urlPassword(*v):
			if !takes(e.Kind, "secrets") {
				c.warn(name, key, "dropped: it looks like a secret, and %s takes no secrets", e.Kind)
				continue
			}
			e.Secrets = append(e.Secrets, k)
			c.warn(name, key, "became secret %s (its value is not copied): set it with `backplane secrets set -f backplane.yaml %s %s`", k, e.ID, k)
		case v == nil:
			c.warn(name, key, "not carried over: it has no value (compose takes it from the shell, which was not set)")
		case len(*v) > schema.MaxEnvValue || schema.EnvLineLength(k, *v) > schema.MaxEnvLine || strings.ContainsRune(*v, 0):
			c.warn(name, key, "not carried over: the value is over 32 KiB or holds a NUL byte")
		default:
			if e.Env == nil {
				e.Env = map[string]string{}
			}
			e.Env[k] = *v
		}
	}
	sort.Strings(e.Secrets)
}

// urlPassword reports a URL with a password in it.
func urlPassword(v string) bool {
	if !strings.Contains(v, "://") {
		return false
	}
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return false
	}
	_, ok := u.User.Password()
	return ok
}

// nginx decides whether an nginx service is a load balancer: it depends on
// or links other services, or its mounted config proxies to them. It
// records what the config routes where.
func (c *converter) nginx(sv *service) bool {
	sv.proxies = map[string][]string{}
	for _, v := range sv.cfg.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		for _, text := range c.readConfig(v.Source) {
			for svc, paths := range c.proxiedIn(sv.name, text) {
				sv.proxies[svc] = append(sv.proxies[svc], paths...)
			}
			if p := policyIn(text); p != "" {
				sv.elem.Upstream = &schema.Upstream{Policy: p}
			}
		}
	}
	if len(sv.proxies) > 0 {
		return true
	}
	for dep := range sv.cfg.DependsOn {
		if c.proxyable(sv.name, dep) {
			return true
		}
	}
	for _, l := range sv.cfg.Links {
		if svc, _, _ := strings.Cut(l, ":"); c.proxyable(sv.name, svc) {
			return true
		}
	}
	return false
}

// proxyable reports whether a load balancer can proxy to the service:
// another service with a port that is not a datastore.
func (c *converter) proxyable(from, name string) bool {
	svc, ok := c.project.Services[name]
	if !ok || name == from || svc.Build == nil && dataKind(parseImage(svc.Image)) != "" {
		return false
	}
	return len(svc.Ports) > 0 || len(svc.Expose) > 0
}

// readConfig reads a mounted nginx config: the file, or the *.conf files of
// the folder. Only files inside the project's folder are read, each up to
// 1 MiB.
func (c *converter) readConfig(src string) []string {
	if !strings.HasPrefix(filepath.Clean(src)+"/", c.dir+"/") {
		return nil
	}
	read := func(p string) string {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return ""
		}
		f, err := os.Open(p)
		if err != nil {
			return ""
		}
		defer f.Close()
		b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
		return string(b)
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		return []string{read(src)}
	}
	matches, _ := filepath.Glob(filepath.Join(src, "*.conf"))
	sort.Strings(matches)
	var out []string
	for _, m := range matches {
		out = append(out, read(m))
	}
	return out
}

var (
	upstreamBlock = regexp.MustCompile(`(?s)upstream\s+([A-Za-z0-9_.-]+)\s*\{([^}]*)\}`)
	serverLine    = regexp.MustCompile(`(?m)^\s*server\s+([A-Za-z0-9_.-]+)`)
	locationStart = regexp.MustCompile(`location\s+(=\s*|\^~\s*|~\*?\s*)?([^\s{]+)\s*\{`)
	proxyPass     = regexp.MustCompile(`proxy_pass\s+https?://([A-Za-z0-9_.-]+)`)
	policyLine    = regexp.MustCompile(`(?m)^\s*(least_conn|ip_hash)\s*;`)
)

// proxiedIn finds the services an nginx config proxies to, with the
// location paths of each.
func (c *converter) proxiedIn(from, text string) map[string][]string {
	upstreams := map[string][]string{}
	for _, m := range upstreamBlock.FindAllStringSubmatch(text, -1) {
		for _, s := range serverLine.FindAllStringSubmatch(m[2], -1) {
			upstreams[m[1]] = append(upstreams[m[1]], s[1])
		}
	}
	resolve := func(h string) []string {
		hosts := []string{h}
		if ups, ok := upstreams[h]; ok {
			hosts = ups
		}
		var out []string
		for _, h := range hosts {
			if t, ok := c.hosts[h]; ok && t != from {
				out = append(out, t)
			}
		}
		return out
	}
	out := map[string][]string{}
	for _, loc := range locationStart.FindAllStringSubmatchIndex(text, -1) {
		path := text[loc[4]:loc[5]]
		if loc[2] >= 0 && strings.HasPrefix(strings.TrimSpace(text[loc[2]:loc[3]]), "~") {
			path = "~" + path // a regex location: no route path
		}
		body := blockBody(text[loc[1]:])
		for _, m := range proxyPass.FindAllStringSubmatch(body, -1) {
			for _, t := range resolve(m[1]) {
				out[t] = append(out[t], path)
			}
		}
	}
	return out
}

// blockBody is the text up to the brace that closes the block just opened.
func blockBody(text string) string {
	depth := 1
	for i, r := range text {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return text[:i]
			}
		}
	}
	return text
}

func policyIn(text string) string {
	if m := policyLine.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// lbTargets adds the load balancer's targets and their routes: the
// services its config proxies to, or else everything it depends on.
func (c *converter) lbTargets(sv *service, targets map[string]*target) {
	if len(sv.proxies) == 0 {
		n := 0
		for _, t := range schema.SortedKeys(targets) {
			if dst, ok := c.services[t]; ok && isDatastore(dst.elem.Kind) {
				c.warn(sv.name, targets[t].keys[0], "not carried over: a load balancer does not proxy to %s (%s)", t, dst.elem.Kind)
				delete(targets, t)
			} else if ok && dst.elem.Port != 0 {
				n++
			}
		}
		if n > 1 {
			c.warn(sv.name, "depends_on", "its config names no route: every upstream serves /, and nginx splits traffic between them; set each connection's route.path")
		}
		return
	}
	for t := range targets {
		if _, proxied := sv.proxies[t]; !proxied {
			c.warn(sv.name, targets[t].keys[0], "not carried over: the nginx config does not proxy to %s", t)
			delete(targets, t)
		}
	}
	for _, t := range schema.SortedKeys(sv.proxies) {
		paths := sv.proxies[t]
		sort.Slice(paths, func(i, j int) bool {
			if len(paths[i]) != len(paths[j]) {
				return len(paths[i]) < len(paths[j])
			}
			return paths[i] < paths[j]
		})
		tg := targets[t]
		if tg == nil {
			tg = &target{keys: []string{"volumes"}}
			targets[t] = tg
		}
		var plain []string
		for _, p := range paths {
			if strings.HasPrefix(p, "/") && validRoute(p) && !contains(plain, p) {
				plain = append(plain, p)
			}
		}
		if len(plain) == 0 {
			c.warn(sv.name, "volumes", "the nginx config proxies to %s on %s, which is no prefix path: the route is /", t, strings.Join(paths, ", "))
			continue
		}
		tg.route = plain[0]
		if len(plain) > 1 {
			c.warn(sv.name, "volumes", "the nginx config proxies to %s on %s too; a connection has one route, %s", t, strings.Join(plain[1:], ", "), plain[0])
		}
	}
}

func validRoute(p string) bool { return !strings.ContainsAny(p, " \t\n;{}\"'") }
