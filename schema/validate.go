package schema

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
)

// Drivers an element may run under.
var Drivers = []string{"docker", "exec", "raw_exec"}

// Policies a load balancer's upstream may use.
var Policies = []string{"round_robin", "least_conn", "ip_hash"}

// MaxJobIDLength bounds `<project>-<element>`. The job ID is also the service
// name, and Consul and Nomad service names must be DNS labels of at most 63.
const MaxJobIDLength = 63

var (
	dnsLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	dcName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.*-]*$`)
	volName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// Validate checks everything that does not depend on element kinds: names,
// references, ranges and consistency. Kind-specific checks (required fields,
// which fields a kind accepts, which connections it takes) are the kind
// registry's. It returns every problem found, sorted by path.
func Validate(s *Schema) Errors {
	v := &validator{s: s}
	v.run()
	v.errs.Sort()
	return v.errs
}

type validator struct {
	s    *Schema
	errs Errors
}

func (v *validator) add(p Path, format string, args ...any) {
	v.errs = append(v.errs, Errorf(p, format, args...))
}

func (v *validator) run() {
	s := v.s
	root := Path("")
	if s.Version != Version {
		v.add(root.Field("version"), "must be %d, not %d", Version, s.Version)
	}
	switch {
	case s.Project == "":
		v.add(root.Field("project"), "is required")
	case !dnsLabel.MatchString(s.Project) || len(s.Project) > 63:
		v.add(root.Field("project"), "%q must be a lowercase DNS label (a-z, 0-9 and '-', starting with a letter, at most 63 characters)", s.Project)
	}
	if s.Namespace != "" && !dnsLabel.MatchString(s.Namespace) && s.Namespace != "default" {
		v.add(root.Field("namespace"), "%q must be a lowercase DNS label", s.Namespace)
	}
	for _, name := range sortedKeys(s.Regions) {
		p := root.Field("regions").MapKey(name)
		if !regionName.MatchString(name) {
			v.add(p, "region name %q must be letters, digits, '-' or '_'", name)
		}
		for i, dc := range s.Regions[name].Datacenters {
			if !dcName.MatchString(dc) {
				v.add(p.Field("datacenters").Index(i), "datacenter %q is not a valid name", dc)
			}
		}
	}
	if s.Defaults.Region != "" && !v.regionDeclared(s.Defaults.Region) {
		v.add(root.Field("defaults").Field("region"), "region %q is not declared in regions", s.Defaults.Region)
	}
	if s.Defaults.Region == "" && len(s.Regions) > 1 {
		v.add(root.Field("defaults").Field("region"), "is required when more than one region is declared")
	}
	v.driver(root.Field("defaults").Field("driver"), s.Defaults.Driver)
	v.receivers()

	ids := map[string]bool{}
	for i := range s.Elements {
		e := &s.Elements[i]
		p := elementPath(e, i)
		if e.ID != "" && ids[e.ID] {
			v.add(p.Field("id"), "duplicate element id %q", e.ID)
		}
		ids[e.ID] = true
		v.element(e, p)
	}
	v.connections(ids)
	for _, id := range sortedKeys(s.Layout) {
		if !ids[id] {
			v.add(root.Field("layout").MapKey(id), "no element has id %q", id)
		}
	}
}

var regionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// regionDeclared reports whether name is usable. With no regions declared
// the project runs in Nomad's default region, "global".
func (v *validator) regionDeclared(name string) bool {
	if len(v.s.Regions) == 0 {
		return name == DefaultRegion
	}
	_, ok := v.s.Regions[name]
	return ok
}

func (v *validator) driver(p Path, d string) {
	if d != "" && !contains(Drivers, d) {
		v.add(p, "driver %q must be one of %s", d, strings.Join(Drivers, ", "))
	}
}

func (v *validator) receivers() {
	for _, name := range sortedKeys(v.s.Receivers) {
		r := v.s.Receivers[name]
		p := Path("").Field("receivers").MapKey(name)
		if !dnsLabel.MatchString(name) {
			v.add(p, "receiver name %q must be a lowercase DNS label", name)
		}
		n := 0
		if r.Slack != nil {
			n++
			sp := p.Field("slack")
			if r.Slack.Channel == "" {
				v.add(sp.Field("channel"), "is required")
			}
			v.secretName(sp.Field("webhook_url_secret"), r.Slack.WebhookURLSecret, true)
		}
		if r.Email != nil {
			n++
			mp := p.Field("email")
			ep := mp.Field("to")
			if r.Email.To == "" {
				v.add(ep, "is required")
			} else if _, err := mail.ParseAddressList(r.Email.To); err != nil {
				v.add(ep, "%q is not a list of email addresses", r.Email.To)
			}
			if f := r.Email.From; f != "" {
				if _, err := mail.ParseAddress(f); err != nil {
					v.add(mp.Field("from"), "%q is not an email address", f)
				}
			}
			if h := r.Email.Smarthost; h != "" {
				if host, port, err := net.SplitHostPort(h); err != nil || host == "" || port == "" {
					v.add(mp.Field("smarthost"), "%q must be host:port", h)
				}
			}
			v.secretName(mp.Field("auth_password_secret"), r.Email.AuthPasswordSecret, false)
			if r.Email.AuthPasswordSecret != "" && r.Email.AuthUsername == "" {
				v.add(mp.Field("auth_username"), "is required with auth_password_secret")
			}
		}
		if r.Webhook != nil {
			n++
			wp := p.Field("webhook")
			switch {
			case r.Webhook.URL == "" && r.Webhook.URLSecret == "":
				v.add(wp, "needs url or url_secret")
			case r.Webhook.URL != "" && r.Webhook.URLSecret != "":
				v.add(wp, "set url or url_secret, not both")
			case r.Webhook.URL != "":
				if u, err := url.Parse(r.Webhook.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					v.add(wp.Field("url"), "must be an http or https URL")
				} else if u.User != nil {
					v.add(wp.Field("url"), "carries credentials; put the URL in a secret and use url_secret")
				}
			default:
				v.secretName(wp.Field("url_secret"), r.Webhook.URLSecret, true)
			}
		}
		if n != 1 {
			v.add(p, "needs exactly one of slack, email or webhook")
		}
	}
}

func (v *validator) secretName(p Path, name string, required bool) {
	switch {
	case name == "" && required:
		v.add(p, "is required")
	case name != "" && !envName.MatchString(name):
		v.add(p, "secret name %q must be a valid environment variable name (letters, digits and '_', not starting with a digit)", name)
	}
}

func elementPath(e *Element, i int) Path {
	if e.ID != "" && plainKey.MatchString(e.ID) {
		return ElementPath(e.ID)
	}
	return Path("").Field("elements").Index(i)
}

func (v *validator) element(e *Element, p Path) {
	switch {
	case e.ID == "":
		v.add(p.Field("id"), "is required")
	case !dnsLabel.MatchString(e.ID):
		v.add(p.Field("id"), "%q must be a lowercase DNS label (a-z, 0-9 and '-', starting with a letter)", e.ID)
	case len(v.s.Project)+1+len(e.ID) > MaxJobIDLength:
		v.add(p.Field("id"), "job ID %q is %d characters; %s-<element> must be at most %d", v.s.Project+"-"+e.ID, len(v.s.Project)+1+len(e.ID), v.s.Project, MaxJobIDLength)
	}
	if e.Kind == "" {
		v.add(p.Field("kind"), "is required")
	}
	v.driver(p.Field("driver"), e.Driver)
	if e.Port != 0 && (e.Port < 1 || e.Port > 65535) {
		v.add(p.Field("port"), "%d is out of range 1-65535", e.Port)
	}
	for _, k := range sortedKeys(e.Env) {
		if !envName.MatchString(k) {
			v.add(p.Field("env").MapKey(k), "%q is not a valid environment variable name", k)
		}
		if strings.ContainsRune(e.Env[k], 0) {
			v.add(p.Field("env").MapKey(k), "value contains a NUL byte")
		}
		v.envSize(p.Field("env").MapKey(k), k, e.Env[k])
	}
	seen := map[string]bool{}
	for i, name := range e.Secrets {
		sp := p.Field("secrets").Index(i)
		v.secretName(sp, name, true)
		if seen[name] {
			v.add(sp, "duplicate secret %q", name)
		}
		seen[name] = true
		if _, ok := e.Env[name]; ok {
			v.add(sp, "%q is also set in env; a name is either a secret or a plain value", name)
		}
	}
	if e.Source != nil {
		v.source(e.Source, p.Field("source"))
	}
	if r := e.Resources; r != nil {
		rp := p.Field("resources")
		if r.CPU < 0 || (r.CPU > 0 && r.CPU < 10) {
			v.add(rp.Field("cpu"), "%d MHz is below Nomad's minimum of 10", r.CPU)
		}
		if r.Memory < 0 || (r.Memory > 0 && r.Memory < 10) {
			v.add(rp.Field("memory"), "%d MB is below Nomad's minimum of 10", r.Memory)
		}
		if r.MemoryMax != 0 && r.MemoryMax < max(r.Memory, 10) {
			v.add(rp.Field("memory_max"), "must be >= memory (%d)", r.Memory)
		}
	}
	if sc := e.Scale; sc != nil {
		v.scale(sc, p.Field("scale"))
	}
	if h := e.Health; h != nil {
		hp := p.Field("health")
		if h.HTTP != "" && !strings.HasPrefix(h.HTTP, "/") {
			v.add(hp.Field("http"), "%q must be a path starting with '/'", h.HTTP)
		}
		if h.HTTP != "" && h.TCP {
			v.add(hp, "set http or tcp, not both")
		}
		v.duration(hp.Field("interval"), h.Interval, time.Second)
		v.duration(hp.Field("timeout"), h.Timeout, time.Second)
		v.duration(hp.Field("min_healthy_time"), h.MinHealthyTime, 0)
	}
	if pl := e.Placement; pl != nil {
		pp := p.Field("placement")
		rs := map[string]bool{}
		for i, r := range pl.Regions {
			if !v.regionDeclared(r) {
				v.add(pp.Field("regions").Index(i), "region %q is not declared in regions", r)
			}
			if rs[r] {
				v.add(pp.Field("regions").Index(i), "duplicate region %q", r)
			}
			rs[r] = true
		}
		for i, dc := range pl.Datacenters {
			if !dcName.MatchString(dc) {
				v.add(pp.Field("datacenters").Index(i), "datacenter %q is not a valid name", dc)
			}
		}
	}
	if a := e.Alerts; a != nil {
		ap := p.Field("alerts")
		for i, r := range a.Receivers {
			if _, ok := v.s.Receivers[r]; !ok {
				v.add(ap.Field("receivers").Index(i), "receiver %q is not declared in receivers", r)
			}
		}
		if a.Restarts < 0 || a.Restarts > 1000 {
			v.add(ap.Field("restarts"), "must be between 1 and 1000 (unset takes the default, 3)")
		}
		v.duration(ap.Field("restart_window"), a.RestartWindow, time.Minute)
		v.duration(ap.Field("down_after"), a.DownAfter, time.Second)
		v.duration(ap.Field("check_after"), a.CheckAfter, time.Second)
	}
	if vol := e.Volume; vol != nil {
		vp := p.Field("volume")
		if vol.Name == "" {
			v.add(vp.Field("name"), "is required")
		} else if !volName.MatchString(vol.Name) {
			v.add(vp.Field("name"), "%q is not a valid host volume name", vol.Name)
		}
		if vol.SizeMB < 0 {
			v.add(vp.Field("size_mb"), "must not be negative")
		}
	}
	if u := e.Upstream; u != nil && u.Policy != "" && !contains(Policies, u.Policy) {
		v.add(p.Field("upstream").Field("policy"), "%q must be one of %s", u.Policy, strings.Join(Policies, ", "))
	}
	if e.Schedule != "" {
		if err := CheckSchedule(e.Schedule); err != nil {
			v.add(p.Field("schedule"), "%v", err)
		}
	}
	for i, a := range e.Args {
		if strings.ContainsRune(a, 0) {
			v.add(p.Field("args").Index(i), "contains a NUL byte")
		}
	}
	if strings.ContainsRune(e.Command, 0) {
		v.add(p.Field("command"), "contains a NUL byte")
	}
	for _, k := range sortedKeys(e.Params) {
		if !envName.MatchString(k) {
			v.add(p.Field("params").MapKey(k), "%q is not a valid parameter name", k)
		}
		// A param reaches the task as an env line too, under the kind's
		// env name, which is not known here; its line is measured with the
		// param's name.
		v.envSize(p.Field("params").MapKey(k), k, e.Params[k])
	}
}

// Env size caps. An element's env and params reach its task as lines of an
// env file that Nomad reads with go-envparse, which reads a line of at most
// 64 KiB (bufio.Scanner's limit) and fails the task otherwise.
const (
	// MaxEnvValue caps one env value, as written in the schema.
	MaxEnvValue = 32 << 10
	// MaxEnvLine caps NAME="value" as the env file holds it, quoted and
	// escaped: a quote, a backslash or a newline takes 2 bytes there, and
	// other control characters 6. It leaves room under go-envparse's 64 KiB
	// for the newline.
	MaxEnvLine = 64<<10 - 1
)

// envSize refuses a value over MaxEnvValue, or whose env line would be over
// MaxEnvLine.
func (v *validator) envSize(p Path, name, value string) {
	if len(value) > MaxEnvValue {
		v.add(p, "value is %d bytes, over the limit of %d (32 KiB); put large data in a file or an artifact", len(value), MaxEnvValue)
		return
	}
	if n := EnvLineLength(name, value); n > MaxEnvLine {
		v.add(p, "name and value take %d bytes in the task's env file once quoted and escaped, over the limit of %d (64 KiB, what Nomad reads on one line)", n, MaxEnvLine)
	}
}

// EnvLineLength is the length of the env file line NAME="value" (without its
// newline) that the task's env template renders, with the value quoted and
// escaped the way templates.EnvQuote does it.
func EnvLineLength(name, value string) int {
	n := len(name) + len(`=""`)
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n += 2
		case c < 0x20:
			n += 6
		default:
			n++
		}
	}
	return n
}

// CheckSchedule reports whether Nomad takes spec as a periodic job's cron
// spec. It parses with github.com/hashicorp/cronexpr, as Nomad's own
// PeriodicConfig.Validate does, so the verdict is Nomad's: five fields
// (minute to day of week), six (a year after them) or seven (seconds
// first); L, W and # in the day fields; and the descriptors @yearly,
// @annually, @monthly, @weekly, @daily and @hourly. @every, @midnight and
// @reboot are refused, as Nomad refuses them.
func CheckSchedule(spec string) error {
	_, err := cronexpr.Parse(spec)
	if err == nil {
		return nil
	}
	// The verdict is cronexpr's; only the message is ours where cronexpr's
	// would not help.
	trimmed := strings.TrimSpace(spec)
	switch {
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		return fmt.Errorf("%q: a time zone prefix is not supported; the schedule runs in the cluster's time zone", spec)
	case strings.HasPrefix(trimmed, "@every"):
		return fmt.Errorf("%q is not a cron expression: Nomad does not take @every; write the interval as fields (*/5 * * * * runs every 5 minutes)", spec)
	case strings.HasPrefix(trimmed, "@"):
		return fmt.Errorf("%q is not a cron expression: the descriptors Nomad takes are @yearly, @annually, @monthly, @weekly, @daily and @hourly", spec)
	}
	return fmt.Errorf("%q is not a cron expression: %w", spec, err)
}

func (v *validator) source(src *Source, p Path) {
	switch {
	case src.Repo == "":
		v.add(p.Field("repo"), "is required")
	case !validRepo(src.Repo):
		v.add(p.Field("repo"), "%q is not a git URL (https://…, ssh://…, git@host:path)", src.Repo)
	}
	for _, f := range []struct{ name, val string }{{"branch", src.Branch}, {"ref", src.Ref}} {
		if f.val != "" && !gitRef.MatchString(f.val) {
			v.add(p.Field(f.name), "%q is not a valid git ref name", f.val)
		}
	}
	if src.Dir != "" && (strings.HasPrefix(src.Dir, "/") || strings.Contains(src.Dir, "..")) {
		v.add(p.Field("dir"), "%q must be a relative path inside the repository", src.Dir)
	}
	for i, path := range src.Paths {
		if path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "..") || strings.ContainsAny(path, "\n\r") {
			v.add(p.Field("paths").Index(i), "%q must be a relative folder inside the repository", path)
		}
	}
	if len(src.Paths) > 0 && !src.Autodeploy {
		v.add(p.Field("paths"), "only counts with autodeploy: true")
	}
	if a := src.Auth; a != nil {
		ap := p.Field("auth")
		v.secretName(ap.Field("token_secret"), a.TokenSecret, false)
		v.secretName(ap.Field("ssh_key_secret"), a.SSHKeySecret, false)
		v.secretName(ap.Field("known_hosts_secret"), a.KnownHostsSecret, false)
		ssh := strings.HasPrefix(src.Repo, "git@") || strings.HasPrefix(src.Repo, "ssh://")
		https := strings.HasPrefix(src.Repo, "https://") || strings.HasPrefix(src.Repo, "http://")
		switch {
		case a.TokenSecret == "" && a.SSHKeySecret == "":
			v.add(ap, "names no credentials: set token_secret (https) or ssh_key_secret (ssh)")
		case a.TokenSecret != "" && !https:
			v.add(ap.Field("token_secret"), "is for https:// repositories; %q is not one", src.Repo)
		case a.SSHKeySecret != "" && !ssh:
			v.add(ap.Field("ssh_key_secret"), "is for ssh:// and git@host:path repositories; %q is not one", src.Repo)
		}
		if a.KnownHostsSecret != "" && a.SSHKeySecret == "" {
			v.add(ap.Field("known_hosts_secret"), "only counts with ssh_key_secret")
		}
		if a.Username != "" && a.TokenSecret == "" {
			v.add(ap.Field("username"), "only counts with token_secret")
		}
	}
}

var gitRef = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

func validRepo(r string) bool {
	if strings.HasPrefix(r, "git@") {
		return strings.Contains(r, ":") && !strings.ContainsAny(r, " \n\t")
	}
	u, err := url.Parse(r)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "https", "http", "ssh", "git":
		return true
	}
	return false
}

func (v *validator) scale(sc *Scale, p Path) {
	if sc.Count < 0 {
		v.add(p.Field("count"), "must not be negative")
	}
	if sc.Min < 0 {
		v.add(p.Field("min"), "must not be negative")
	}
	if sc.Max != 0 && sc.Max < sc.Min {
		v.add(p.Field("max"), "must be >= min (%d)", sc.Min)
	}
	if sc.Max == 0 && sc.Min > 0 {
		v.add(p.Field("max"), "is required when min is set")
	}
	if sc.Max != 0 && sc.Count != 0 && (sc.Count < sc.Min || sc.Count > sc.Max) {
		v.add(p.Field("count"), "%d must be between min (%d) and max (%d)", sc.Count, sc.Min, sc.Max)
	}
	if sc.CPUTarget != 0 && (sc.CPUTarget < 1 || sc.CPUTarget > 100) {
		v.add(p.Field("cpu_target"), "%d must be a percentage between 1 and 100", sc.CPUTarget)
	}
	if sc.CPUTarget != 0 && sc.Max == 0 {
		v.add(p.Field("cpu_target"), "needs max to autoscale")
	}
}

func (v *validator) duration(p Path, s string, minimum time.Duration) {
	if s == "" {
		return
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		v.add(p, "%q is not a duration (for example 10s or 1m)", s)
	case d < minimum:
		v.add(p, "%s is below the minimum of %s", s, minimum)
	}
}

func (v *validator) connections(ids map[string]bool) {
	seen := map[[2]string]int{}
	envs := map[string]map[string]int{}
	for i, c := range v.s.Connections {
		p := Path("").Field("connections").Index(i)
		// A dangling end is named with the element at the other end.
		if c.From == "" {
			v.add(p.Field("from"), "is required")
		} else if !ids[c.From] {
			msg := fmt.Sprintf("no element has id %q%s", c.From, suggestID(c.From, ids))
			if c.To != "" {
				msg += "; it connects to " + elementName(c.To, ids)
			}
			v.add(p.Field("from"), "%s", msg)
		}
		if c.To == "" {
			v.add(p.Field("to"), "is required")
		} else if !ids[c.To] {
			msg := fmt.Sprintf("no element has id %q%s", c.To, suggestID(c.To, ids))
			if c.From != "" {
				msg += "; " + elementName(c.From, ids) + " connects to it"
			}
			v.add(p.Field("to"), "%s", msg)
		}
		if c.From != "" && c.From == c.To {
			v.add(p.Field("to"), "%s cannot connect to itself", elementName(c.From, ids))
		}
		key := [2]string{c.From, c.To}
		if j, dup := seen[key]; dup {
			v.add(p, "duplicate connection from %q to %q (also connections[%d])", c.From, c.To, j)
		}
		seen[key] = i
		if c.Env != "" {
			if !envName.MatchString(c.Env) {
				v.add(p.Field("env"), "%q is not a valid environment variable name", c.Env)
			}
			if envs[c.From] == nil {
				envs[c.From] = map[string]int{}
			}
			if j, dup := envs[c.From][c.Env]; dup {
				v.add(p.Field("env"), "%q is already injected into %q by connections[%d]", c.Env, c.From, j)
			}
			envs[c.From][c.Env] = i
		}
		if c.Weight < 0 || c.Weight > 100 {
			v.add(p.Field("weight"), "%d must be between 1 and 100", c.Weight)
		}
		if c.Route != nil && c.Route.Path != "" && !strings.HasPrefix(c.Route.Path, "/") {
			v.add(p.Field("route").Field("path"), "%q must start with '/'", c.Route.Path)
		}
		if c.Route != nil && strings.ContainsAny(c.Route.Path, " \t\n;{}\"'") {
			v.add(p.Field("route").Field("path"), "%q may not contain spaces, quotes, braces or ';'", c.Route.Path)
		}
	}
}

// elementName is an element's ID as a message shows it: bare when the
// element exists, quoted when it does not.
func elementName(id string, ids map[string]bool) string {
	if ids[id] && plainKey.MatchString(id) {
		return id
	}
	return strconv.Quote(id)
}

// suggestID offers the nearest element ID for a mistyped one: one edit
// away, or one per three characters for longer IDs.
func suggestID(id string, ids map[string]bool) string {
	best, bestD := "", max(1, len(id)/3)+1
	for _, cand := range sortedKeys(ids) {
		if cand == "" {
			continue
		}
		if d := distance(id, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SortedKeys returns a map's keys in order; the translator emits nothing from
// a map without sorting it first.
func SortedKeys[V any](m map[string]V) []string { return sortedKeys(m) }

// ValidEnvName reports whether s can name an environment variable.
func ValidEnvName(s string) bool { return envName.MatchString(s) }

// String gives a one-line summary of an element for messages.
func (e *Element) String() string { return fmt.Sprintf("%s (%s)", e.ID, e.Kind) }
